/**
 * Every route × every kind of caller, built from the app's own route list:
 * each cell's expected answer follows from the rule the route declares
 * (`auth: "public" | "member" | "admin"`). A refusal by that rule, and only
 * such a refusal, carries WWW-Authenticate (401 without valid credentials,
 * 403 `insufficient_scope` for a member on an admin's route).
 *
 * Then the same for a private channel: a route naming it in its path gives
 * those who do not see it (a member outside it, a bot) the 404 of an unknown
 * channel, and those who do (a member inside it, admins) anything but that;
 * no route shows someone outside its name or its messages.
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

/** `sees`: whether the caller sees the private channel HIDDEN. */
type Caller = { name: string; headers: Record<string, string>; level: "anonymous" | "member" | "admin"; sees: boolean };

const HIDDEN = { owner: "hidden", name: "room", marker: "hidden-marker-7f3a" };

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
  const outsider = await person("otto", "member");
  const admin = await person("ada", "admin");
  // Mia's private channel, with a message.
  const mia = { account: gitchat.accounts.get("mia") };
  await gitchat.channelAccess.create(mia, HIDDEN.owner, HIDDEN.name, true);
  await gitchat.messages.send({ viewer: mia, repository: `${HIDDEN.owner}/${HIDDEN.name}`, content: HIDDEN.marker, author: { name: "mia", id: "local:mia" } });
  gitchat.accounts.add(operator, { login: "deploy-bot", role: "bot" });
  const botToken = gitchat.accounts.createToken(operator, "deploy-bot").token;
  const revoked = gitchat.accounts.createToken(operator, "mia");
  gitchat.accounts.revokeToken(operator, revoked.id);
  callers.push(
    { name: "anonymous", headers: {}, level: "anonymous", sees: false },
    { name: "member inside a private channel", headers: cookie(member), level: "member", sees: true },
    { name: "member outside a private channel", headers: cookie(outsider), level: "member", sees: false },
    { name: "admin", headers: cookie(admin), level: "admin", sees: true },
    { name: "bot token", headers: bearer(botToken), level: "member", sees: false },
    { name: "revoked token", headers: bearer(revoked.token), level: "anonymous", sees: false },
    { name: "expired session", headers: cookie(stale), level: "anonymous", sees: false },
    { name: "ACCESS_TOKEN", headers: bearer(TOKEN), level: "admin", sees: true },
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
const concrete = (path: string, channel = { owner: "local", name: "general" }) =>
  path
    .replace(":owner", channel.owner)
    .replace(":name", channel.name)
    .replace(":login", "nobody")
    .replace(":id", "nothing")
    .replace(":index", "0")
    .replace(":secret", "not-an-invite")
    .replace(":file", "app.css");

/** The answer every route of the app gives `caller`, for `channel` in its path. */
const ask = (route: { method: string; path: string }, caller: Caller, channel?: { owner: string; name: string }, isPrivate = false) => {
  const headers: Record<string, string> = { ...caller.headers };
  const init: RequestInit = { method: route.method, headers };
  if (route.method !== "GET" && route.method !== "HEAD") {
    headers["content-type"] = "application/json";
    // Valid for every route's schema (which Elysia checks before the rule): `current` is not anyone's password;
    // `private` as the channel is, so that an admin's PATCH changes nothing.
    init.body = JSON.stringify({
      content: "from the matrix",
      owner: "matrix",
      name: "room",
      login: "matrix-made",
      repository: "x",
      private: isPrivate,
      current: "not the password",
      password: "a new matrix password",
      message_id: "01900000-0000-7000-8000-000000000000",
      // The page's reaction form.
      emoji: "👍",
      on: "true",
    });
  }
  return gitchat.app.handle(new Request(`http://localhost${concrete(route.path, channel)}`, init));
};

/** Logging out ends the caller's session: last. */
const appRoutes = () => [...gitchat.app.routes].sort((a, b) => Number(a.path === "/logout") - Number(b.path === "/logout"));

/** What a caller gets for a private channel on a route its rule lets them call: the channel, or the answer of one that does not exist. */
const expectedForPrivate = (rule: Rule, caller: Caller) => {
  const byRule = expected(rule, caller);
  if (byRule !== "let through") return byRule;
  return caller.sees ? "the channel" : "unknown channel";
};

test("a private channel in a route's path: unknown to whoever does not see it, there for whoever does", async () => {
  const routes = appRoutes().filter((route) => route.path.includes(":owner") && route.path.includes(":name"));
  expect(routes.length).toBeGreaterThan(6);
  const wrong: string[] = [];
  for (const route of routes) {
    for (const caller of callers) {
      const response = await ask(route, caller, HIDDEN, true);
      const isStream = response.headers.get("content-type")?.startsWith("text/event-stream");
      const text = isStream ? "" : await response.text();
      if (isStream) await response.body?.cancel();
      const unknown = response.status === 404 && (text.includes('"unknown_repository"') || text.includes("There is no channel hidden/room"));
      const got = response.headers.has("www-authenticate") ? response.status : unknown ? "unknown channel" : "the channel";
      const want = expectedForPrivate(ruleOf(route)!, caller);
      if (got !== want) wrong.push(`${route.method} ${route.path} × ${caller.name}: ${got}, expected ${want}`);
    }
  }
  expect(wrong).toEqual([]);
});

test("no route shows someone outside a private channel its name or its messages", async () => {
  const leaks: string[] = [];
  for (const route of appRoutes().filter((r) => !r.path.includes("/events") && r.path !== "/logout")) {
    for (const caller of callers.filter((c) => !c.sees)) {
      const text = await (await ask(route, caller)).text();
      if (text.includes(`${HIDDEN.owner}/${HIDDEN.name}`) || text.includes(HIDDEN.marker)) leaks.push(`${route.method} ${route.path} × ${caller.name}`);
    }
  }
  expect(leaks).toEqual([]);
}, 60_000);

// Last of the matrices: its /logout cells end the callers' sessions.
test("every route declares who may call it, and every kind of caller gets what that rule says", async () => {
  const routes = appRoutes();
  expect(routes.length).toBeGreaterThan(20);
  const cells: string[] = [];
  const wrong: string[] = [];
  for (const route of routes) {
    const rule = ruleOf(route);
    expect([`${route.method} ${route.path}`, RULES.includes(rule!)]).toEqual([`${route.method} ${route.path}`, true]);
    for (const caller of callers) {
      const response = await ask(route, caller);
      await response.body?.cancel();
      const refused = response.headers.has("www-authenticate") ? response.status : "let through";
      const want = expected(rule!, caller);
      cells.push(`${route.method} ${route.path} × ${caller.name}`);
      if (refused !== want) wrong.push(`${route.method} ${route.path} (${rule}) × ${caller.name}: ${refused}, expected ${want}`);
    }
  }
  expect(wrong).toEqual([]);
  expect(cells.length).toBe(routes.length * callers.length);
}, 60_000); // every route × every caller, a request each: seconds on a loaded machine

test("a route added without a declared rule is found (and the app refuses to start with one)", () => {
  const declared = { [RULE_KEY]: "member" } as { description?: string };
  const app = new Elysia().get("/declared", () => "", { detail: declared }).get("/forgotten", () => "");
  expect(undeclaredRoutes(app)).toEqual(["GET /forgotten"]);
});

test("an incoming webhook's post is public (the secret in its URL is its credential); making, listing and removing hooks is for admins", () => {
  const rules = Object.fromEntries(
    gitchat.app.routes.filter((route) => route.path.startsWith("/hooks")).map((route) => [`${route.method} ${route.path}`, ruleOf(route)]),
  );
  expect(rules).toEqual({ "POST /hooks": "admin", "GET /hooks": "admin", "DELETE /hooks/:id": "admin", "POST /hooks/:secret": "public" });
});
