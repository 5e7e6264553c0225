/**
 * Every route × every kind of caller, built from the app's own route list:
 * each cell's expected answer follows from the rule the route declares
 * (`auth: "public" | "member" | "admin"`). A refusal by that rule, and only
 * such a refusal, carries WWW-Authenticate (401 without valid credentials,
 * 403 `insufficient_scope` for a member on an admin's route).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { RULE_KEY, RULES, undeclaredRoutes, type Rule } from "../../src/http/auth.ts";
import type { Gitchat } from "../../src/gitchat.ts";
import { openTestGitchat } from "../support/app.ts";

const TOKEN = "matrix-access-token-for-tests";
const DAY = 86_400_000;
const client = { address: "127.0.0.1", userAgent: "matrix" };
const operator = { operator: true } as const;

type Caller = { name: string; headers: Record<string, string>; level: "anonymous" | "member" | "admin" };

let gitchat: Gitchat;
const callers: Caller[] = [];
const clock = { now: Date.parse("2026-11-24T10:00:00Z") };

const person = async (login: string, role: "member" | "admin") => {
  const url = gitchat.accounts.add(operator, { login, role }).inviteUrl!;
  return (await gitchat.accounts.acceptInvite(url.split("/invite/")[1]!, "a long password", client)).session;
};
const cookie = (session: string) => ({ cookie: `gitchat_session=${session}`, origin: "http://localhost" });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  gitchat = await openTestGitchat({ env: { ACCESS_TOKEN: TOKEN }, now: () => clock.now });
  const stale = await person("stale", "member");
  clock.now += 31 * DAY;
  const member = await person("mia", "member");
  const admin = await person("ada", "admin");
  gitchat.accounts.add(operator, { login: "deploy-bot", role: "bot" });
  const botToken = gitchat.accounts.createToken(operator, "deploy-bot").token;
  const revoked = gitchat.accounts.createToken(operator, "mia");
  gitchat.accounts.revokeToken(operator, revoked.id);
  callers.push(
    { name: "anonymous", headers: {}, level: "anonymous" },
    { name: "member", headers: cookie(member), level: "member" },
    { name: "admin", headers: cookie(admin), level: "admin" },
    { name: "bot token", headers: bearer(botToken), level: "member" },
    { name: "revoked token", headers: bearer(revoked.token), level: "anonymous" },
    { name: "expired session", headers: cookie(stale), level: "anonymous" },
    { name: "ACCESS_TOKEN", headers: bearer(TOKEN), level: "admin" },
  );
});
afterAll(() => gitchat.close());

const ruleOf = (route: { hooks: { detail?: unknown } }) => (route.hooks.detail as Record<string, unknown> | undefined)?.[RULE_KEY] as Rule | undefined;

const expected = (rule: Rule, caller: Caller) => {
  if (rule === "public") return "let through";
  if (caller.level === "anonymous") return 401;
  if (rule === "admin" && caller.level !== "admin") return 403;
  return "let through";
};

/** A concrete path for a route's pattern; ids and logins that name nothing, so no cell changes another's caller. */
const concrete = (path: string) =>
  path
    .replace(":owner", "local")
    .replace(":name", "general")
    .replace(":login", "nobody")
    .replace(":id", "nothing")
    .replace(":secret", "not-an-invite")
    .replace(":file", "app.css");

test("every route declares who may call it, and every kind of caller gets what that rule says", async () => {
  // Logging out ends the caller's session: last.
  const routes = [...gitchat.app.routes].sort((a, b) => Number(a.path === "/logout") - Number(b.path === "/logout"));
  expect(routes.length).toBeGreaterThan(20);
  const cells: string[] = [];
  const wrong: string[] = [];
  for (const route of routes) {
    const rule = ruleOf(route);
    expect([`${route.method} ${route.path}`, RULES.includes(rule!)]).toEqual([`${route.method} ${route.path}`, true]);
    for (const caller of callers) {
      const headers: Record<string, string> = { ...caller.headers };
      const init: RequestInit = { method: route.method, headers };
      if (route.method !== "GET" && route.method !== "HEAD") {
        headers["content-type"] = "application/json";
        // Valid for every route's schema (which Elysia checks before the rule): `current` is not anyone's password.
        init.body = JSON.stringify({
          content: "from the matrix",
          owner: "matrix",
          name: "room",
          login: "matrix-made",
          repository: "x",
          current: "not the password",
          password: "a new matrix password",
        });
      }
      const response = await gitchat.app.handle(new Request(`http://localhost${concrete(route.path)}`, init));
      await response.body?.cancel();
      const refused = response.headers.has("www-authenticate") ? response.status : "let through";
      const want = expected(rule!, caller);
      cells.push(`${route.method} ${route.path} × ${caller.name}`);
      if (refused !== want) wrong.push(`${route.method} ${route.path} (${rule}) × ${caller.name}: ${refused}, expected ${want}`);
    }
  }
  expect(wrong).toEqual([]);
  expect(cells.length).toBe(routes.length * callers.length);
});

test("a route added without a declared rule is found (and the app refuses to start with one)", () => {
  const declared = { [RULE_KEY]: "member" } as { description?: string };
  const app = new Elysia().get("/declared", () => "", { detail: declared }).get("/forgotten", () => "");
  expect(undeclaredRoutes(app)).toEqual(["GET /forgotten"]);
});
