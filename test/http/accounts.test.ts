/**
 * The accounts API: adding people and bots, invites, password sign-in,
 * personal tokens, removing people; every bad input a 4xx
 * `{error: {code, message}}` that changes nothing; and a message's author is
 * the signed-in account, whatever the request says.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Gitchat } from "../../src/gitchat.ts";
import { call, openTestGitchat, type Answer } from "../support/app.ts";
import { runGit } from "../support/git.ts";

const TOKEN = "accounts-access-token-for-tests";
const admin = { authorization: `Bearer ${TOKEN}` };
const PASSWORD = "a long enough password";
const clock = { now: Date.parse("2026-11-24T10:00:00Z") };

let gitchat: Gitchat;
beforeAll(async () => {
  gitchat = await openTestGitchat({ env: { ACCESS_TOKEN: TOKEN, PUBLIC_URL: "https://chat.example.com" }, now: () => clock.now });
});
afterAll(() => gitchat.close());

/** A request from the page: a form post from this origin. */
const form = (path: string, fields: Record<string, string>, cookie?: string) =>
  gitchat.app.handle(
    new Request(`http://localhost${path}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost", ...(cookie ? { cookie } : {}) },
      body: new URLSearchParams(fields),
    }),
  );
const sessionCookie = (response: Response) => response.headers.getSetCookie().find((c) => c.startsWith("gitchat_session="))?.split(";")[0];
const secretOf = (url: string) => new URL(url).pathname.replace("/invite/", "");

/** Adds a person through the API, accepts the invite in the page, and gives the session cookie. */
const invited = async (login: string, name: string) => {
  const added = await call(gitchat, "POST", "/users", { login, name }, admin);
  expect(added.status).toBe(201);
  const accepted = await form(`/invite/${secretOf(added.body.invite_url)}`, { password: PASSWORD });
  expect(accepted.status).toBe(303);
  return { cookie: sessionCookie(accepted)!, origin: "http://localhost" };
};

const expectRefused = (answer: Answer, status: number, code: string) => {
  expect([answer.status, answer.body?.error?.code]).toEqual([status, code]);
  expect(typeof answer.body.error.message).toBe("string");
};

const users = async () => (await call(gitchat, "GET", "/users", undefined, admin)).body.map((u: { login: string }) => u.login);

describe("accounts", () => {
  let ada: Record<string, string>;
  let bo: Record<string, string>;
  beforeAll(async () => {
    ada = await invited("ada", "Ada Lovelace");
    bo = await invited("bo", "Bo");
  });

  test("POST /users adds a person with an invite link on PUBLIC_URL, or a bot with none", async () => {
    const person = await call(gitchat, "POST", "/users", { login: "Cy", name: "Cy Young" }, admin);
    expect(person.status).toBe(201);
    expect(person.body).toEqual({ login: "cy", name: "Cy Young", role: "member", invite_url: expect.stringMatching(/^https:\/\/chat\.example\.com\/invite\/[\w-]{43}$/) });
    const bot = await call(gitchat, "POST", "/users", { login: "deploy-bot", role: "bot" }, admin);
    expect(bot.body).toEqual({ login: "deploy-bot", name: "deploy-bot", role: "bot", invite_url: null });
    expect(await users()).toEqual(["ada", "bo", "cy", "deploy-bot"]);
  });

  test("bad input to POST /users is a 4xx that adds no one", async () => {
    const before = await users();
    expectRefused(await call(gitchat, "POST", "/users", { login: "ada" }, admin), 409, "login_taken");
    expectRefused(await call(gitchat, "POST", "/users", { login: "ADA" }, admin), 409, "login_taken");
    expectRefused(await call(gitchat, "POST", "/users", { login: "not a login" }, admin), 400, "invalid_input");
    expectRefused(await call(gitchat, "POST", "/users", { login: "x", role: "owner" }, admin), 400, "invalid_input");
    expectRefused(await call(gitchat, "POST", "/users", { login: "x", name: "<script>" }, admin), 400, "invalid_input");
    expectRefused(await call(gitchat, "POST", "/users", {}, admin), 400, "invalid_input");
    // A member calling an admin's route.
    expectRefused(await call(gitchat, "POST", "/users", { login: "mallory" }, ada), 403, "forbidden");
    expectRefused(await call(gitchat, "DELETE", "/users/bo", undefined, ada), 403, "forbidden");
    expect(await users()).toEqual(before);
  });

  test("an invite link: a weak or empty password is refused and the link still works; once used, or after 24 hours, it is gone", async () => {
    const url = (await call(gitchat, "POST", "/users", { login: "dee" }, admin)).body.invite_url;
    const page = await gitchat.app.handle(new Request(url.replace("https://chat.example.com", "http://localhost")));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Choose a password to sign in as <strong>dee</strong>");
    for (const weak of ["", "short", "dee"]) {
      const refused = await form(`/invite/${secretOf(url)}`, { password: weak });
      expect([weak, refused.status, sessionCookie(refused)]).toEqual([weak, 400, undefined]);
    }
    expect((await form(`/invite/${secretOf(url)}`, { password: PASSWORD })).status).toBe(303);
    const again = await form(`/invite/${secretOf(url)}`, { password: PASSWORD });
    expect(again.status).toBe(410);
    expect(await again.text()).toContain("was used already");

    const late = (await call(gitchat, "POST", "/users", { login: "eve" }, admin)).body.invite_url;
    clock.now += 24 * 3_600_000 + 1;
    const expired = await form(`/invite/${secretOf(late)}`, { password: PASSWORD });
    expect([expired.status, sessionCookie(expired)]).toEqual([410, undefined]);
    expect((await form("/invite/never-made", { password: PASSWORD })).status).toBe(404);
  });

  test("POST /users/{login}/invite gives a person a new link (the old one stops working); not a bot, not by a member", async () => {
    const first = (await call(gitchat, "POST", "/users", { login: "gus" }, admin)).body.invite_url;
    const again = await call(gitchat, "POST", "/users/gus/invite", undefined, admin);
    expect([again.status, again.body.login]).toEqual([201, "gus"]);
    expect((await form(`/invite/${secretOf(first)}`, { password: PASSWORD })).status).toBe(404);
    expect((await form(`/invite/${secretOf(again.body.invite_url)}`, { password: PASSWORD })).status).toBe(303);
    expectRefused(await call(gitchat, "POST", "/users/deploy-bot/invite", undefined, admin), 400, "invalid_input");
    expectRefused(await call(gitchat, "POST", "/users/gus/invite", undefined, ada), 403, "forbidden");
    expectRefused(await call(gitchat, "POST", "/users/nobody/invite", undefined, admin), 404, "unknown_user");
  });

  test("POST /login takes a login and password (JSON or the page's form); the shared-name login is refused once accounts exist", async () => {
    const json = await gitchat.app.handle(
      new Request("http://localhost/login", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ login: "Ada", password: PASSWORD }) }),
    );
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({ login: "ada", name: "Ada Lovelace", role: "member", id: "local:ada" });
    const me = await call(gitchat, "GET", "/me", undefined, { cookie: sessionCookie(json)! });
    expect(me.body.login).toBe("ada");

    expectRefused(await call(gitchat, "POST", "/login", { login: "ada", password: "wrong password!" }), 401, "unauthorized");
    expectRefused(await call(gitchat, "POST", "/login", { login: "nobody", password: PASSWORD }), 401, "unauthorized");

    const page = await form("/login", { login: "bo", password: PASSWORD, next: "/c/local/general" });
    expect([page.status, page.headers.get("location")]).toEqual([303, "/c/local/general"]);
    const shared = await form("/login", { name: "Mallory", token: TOKEN });
    expect([shared.status, sessionCookie(shared)]).toEqual([401, undefined]);
    expect(await shared.text()).toContain("this gitchat has accounts now");
    const loginPage = await gitchat.app.handle(new Request("http://localhost/login"));
    expect(await loginPage.text()).toContain('name="password"');
  });

  test("personal tokens: made for oneself (admins for anyone), listed without the secret, revoked by their owner only", async () => {
    const made = await call(gitchat, "POST", "/users/ada/tokens", { label: "laptop" }, ada);
    expect(made.status).toBe(201);
    const bearer = { authorization: `Bearer ${made.body.token}` };
    expect((await call(gitchat, "GET", "/me", undefined, bearer)).body).toEqual({ login: "ada", name: "Ada Lovelace", role: "member", id: "local:ada" });
    const listed = await call(gitchat, "GET", "/tokens", undefined, ada);
    expect(listed.body).toEqual([{ id: made.body.id, label: "laptop", created_at: expect.any(String), last_used_at: expect.any(String) }]);
    expect(JSON.stringify(listed.body)).not.toContain(made.body.token);

    expectRefused(await call(gitchat, "POST", "/users/ada/tokens", {}, bo), 403, "forbidden");
    expectRefused(await call(gitchat, "POST", "/users/nobody/tokens", {}, admin), 404, "unknown_user");
    expect((await call(gitchat, "POST", "/users/bo/tokens", {}, admin)).status).toBe(201);
    // Another person's token: not found, and it keeps working.
    expectRefused(await call(gitchat, "DELETE", `/tokens/${made.body.id}`, undefined, bo), 404, "not_found");
    expect((await call(gitchat, "GET", "/me", undefined, bearer)).status).toBe(200);
    expect((await call(gitchat, "DELETE", `/tokens/${made.body.id}`, undefined, ada)).status).toBe(204);
    expectRefused(await call(gitchat, "GET", "/me", undefined, bearer), 401, "unauthorized");
  });

  test("a message's author is the signed-in account, whatever name the request carries; git names the person", async () => {
    const sent = await call(gitchat, "POST", "/messages", { content: "hello from Ada", author: "Bo", author_id: "local:bo" }, ada);
    expect(sent.status).toBe(201);
    expect([sent.body.author, sent.body.author_id]).toEqual(["Ada Lovelace", "local:ada"]);
    const listed = (await call(gitchat, "GET", "/messages", undefined, bo)).body.find((m: { id: string }) => m.id === sent.body.id);
    expect([listed.author, listed.author_id]).toEqual(["Ada Lovelace", "local:ada"]);
    const gitdir = gitchat.repositories.resolve("local/general").store.gitdir;
    const log = await runGit(["--git-dir", gitdir, "log", "-1", "--format=%an <%ae>", sent.body.git_hash]);
    expect(log.stdout.trim()).toBe("Ada Lovelace <ada@users.noreply.chat.example.com>");
    // The channel's first commit also adds this server's signer file: the message is the file under messages/.
    const path = (await runGit(["--git-dir", gitdir, "show", "--name-only", "--format=", sent.body.git_hash])).stdout
      .split("\n")
      .find((name) => name.startsWith("messages/"))!;
    const file = JSON.parse((await runGit(["--git-dir", gitdir, "show", `${sent.body.git_hash}:${path}`])).stdout);
    expect(file).toEqual({ id: sent.body.id, author: "Ada Lovelace", author_id: "local:ada", content: "hello from Ada", type: "message", created_at: sent.body.timestamp });
  });

  test("removing a person ends their sessions and tokens at once; the login is not given again", async () => {
    const fay = await invited("fay", "Fay");
    const token = (await call(gitchat, "POST", "/users/fay/tokens", {}, fay)).body.token;
    expect((await call(gitchat, "DELETE", "/users/fay", undefined, admin)).status).toBe(204);
    expectRefused(await call(gitchat, "GET", "/me", undefined, fay), 401, "unauthorized");
    expectRefused(await call(gitchat, "GET", "/me", undefined, { authorization: `Bearer ${token}` }), 401, "unauthorized");
    expectRefused(await call(gitchat, "DELETE", "/users/fay", undefined, admin), 404, "unknown_user");
    expectRefused(await call(gitchat, "POST", "/users", { login: "fay" }, admin), 409, "login_taken");
  });
});
