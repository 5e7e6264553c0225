/**
 * One's own account through the API: the display name (PATCH /me), the
 * password (PUT /me/password), the signed-in browsers (GET /me/sessions,
 * DELETE /me/sessions/{id}); every bad input a 4xx `{error: {code, message}}`
 * that changes nothing.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Gitchat } from "../../src/gitchat.ts";
import { call, openTestGitchat, type Answer } from "../support/app.ts";

const TOKEN = "me-access-token-for-tests";
const admin = { authorization: `Bearer ${TOKEN}` };
const PASSWORD = "a long enough password";

let gitchat: Gitchat;
beforeAll(async () => {
  gitchat = await openTestGitchat({ env: { ACCESS_TOKEN: TOKEN } });
});
afterAll(() => gitchat.close());

const cookieOf = (answer: Answer) => answer.headers.getSetCookie().find((c) => c.startsWith("gitchat_session="))?.split(";")[0];

/** Signs `login` in with JSON, as a browser with this user agent: the headers of that session. */
const signIn = async (login: string, password = PASSWORD, userAgent = "test-browser") => {
  const answer = await call(gitchat, "POST", "/login", { login, password }, { "user-agent": userAgent });
  expect(answer.status).toBe(200);
  return { cookie: cookieOf(answer)!, origin: "http://localhost" };
};

/** A person with a password, signed in (through their invite: password sign-ins are limited to 10 a minute from one address). */
const person = async (login: string, name: string) => {
  const added = await call(gitchat, "POST", "/users", { login, name }, admin);
  const secret = new URL(added.body.invite_url).pathname.replace("/invite/", "");
  const { session } = await gitchat.accounts.acceptInvite(secret, PASSWORD, { address: "127.0.0.1", userAgent: "test-browser" });
  return { cookie: `gitchat_session=${session}`, origin: "http://localhost" };
};

const expectRefused = (answer: Answer, status: number, code: string) => {
  expect([answer.status, answer.body?.error?.code]).toEqual([status, code]);
};

test("PATCH /me changes the caller's name, and their next message is written under it", async () => {
  const ada = await person("ada", "Ada");
  const changed = await call(gitchat, "PATCH", "/me", { name: "Ada Lovelace" }, ada);
  expect([changed.status, changed.body]).toEqual([200, { login: "ada", name: "Ada Lovelace", role: "member", id: "local:ada" }]);
  const sent = await call(gitchat, "POST", "/messages", { content: "renamed" }, ada);
  expect([sent.body.author, sent.body.author_id]).toEqual(["Ada Lovelace", "local:ada"]);
});

test("bad input to PATCH /me is a 4xx that leaves the name as it was", async () => {
  const bo = await person("bo", "Bo");
  expectRefused(await call(gitchat, "PATCH", "/me", {}, bo), 400, "invalid_input");
  expectRefused(await call(gitchat, "PATCH", "/me", { name: 42 }, bo), 400, "invalid_input");
  expectRefused(await call(gitchat, "PATCH", "/me", { name: "" }, bo), 400, "invalid_input");
  expectRefused(await call(gitchat, "PATCH", "/me", { name: "<b>Bo</b>" }, bo), 400, "invalid_input");
  expectRefused(await call(gitchat, "PATCH", "/me", { name: "x".repeat(500) }, bo), 400, "invalid_input");
  expectRefused(await call(gitchat, "PATCH", "/me", "{not json", { ...bo, "content-type": "application/json" }), 400, "invalid_json");
  // The operator has no account to rename.
  expectRefused(await call(gitchat, "PATCH", "/me", { name: "Root" }, admin), 403, "forbidden");
  expect((await call(gitchat, "GET", "/me", undefined, bo)).body.name).toBe("Bo");
});

test("GET /me/sessions lists the caller's browsers with the asking one marked; DELETE /me/sessions/{id} signs another out", async () => {
  const cy = await person("cy", "Cy");
  const phone = await signIn("cy", PASSWORD, "Phone/1.0");
  const listed = await call(gitchat, "GET", "/me/sessions", undefined, cy);
  expect(listed.status).toBe(200);
  expect(listed.body.map((s: { user_agent: string; current: boolean }) => [s.user_agent, s.current]).sort()).toEqual([
    ["Phone/1.0", false],
    ["test-browser", true],
  ]);
  const other = listed.body.find((s: { current: boolean }) => !s.current);
  expect(JSON.stringify(listed.body)).not.toContain(phone.cookie.split("=")[1]!);
  expect((await call(gitchat, "DELETE", `/me/sessions/${other.id}`, undefined, cy)).status).toBe(204);
  expectRefused(await call(gitchat, "GET", "/me", undefined, phone), 401, "unauthorized");
  expect((await call(gitchat, "GET", "/me", undefined, cy)).status).toBe(200);
});

test("DELETE /me/sessions/{id} of another person's session, or of none, is a 404 that ends nothing", async () => {
  const dee = await person("dee", "Dee");
  const eve = await person("eve", "Eve");
  const deeSession = (await call(gitchat, "GET", "/me/sessions", undefined, dee)).body[0].id;
  expectRefused(await call(gitchat, "DELETE", `/me/sessions/${deeSession}`, undefined, eve), 404, "not_found");
  expectRefused(await call(gitchat, "DELETE", "/me/sessions/0000000000000000", undefined, eve), 404, "not_found");
  expect((await call(gitchat, "GET", "/me", undefined, dee)).status).toBe(200);
});

test("PUT /me/password with the current password ends the other sessions, keeps the asking browser signed in, and the new password signs in", async () => {
  const fay = await person("fay", "Fay");
  const other = await signIn("fay");
  const changed = await call(gitchat, "PUT", "/me/password", { current: PASSWORD, password: "a brand new password" }, fay);
  expect(changed.status).toBe(204);
  const renewed = cookieOf(changed);
  expect(renewed).toMatch(/^gitchat_session=.+/);
  expect((await call(gitchat, "GET", "/me", undefined, { cookie: renewed!, origin: "http://localhost" })).status).toBe(200);
  expectRefused(await call(gitchat, "GET", "/me", undefined, other), 401, "unauthorized");
  expectRefused(await call(gitchat, "GET", "/me", undefined, fay), 401, "unauthorized");
  expectRefused(await call(gitchat, "POST", "/login", { login: "fay", password: PASSWORD }), 401, "unauthorized");
  expect((await call(gitchat, "POST", "/login", { login: "fay", password: "a brand new password" })).status).toBe(200);
});

test("bad input to PUT /me/password is a 4xx that keeps the password and the sessions", async () => {
  const gus = await person("gus", "Gus");
  expectRefused(await call(gitchat, "PUT", "/me/password", { current: "wrong password!", password: "another long password" }, gus), 401, "unauthorized");
  expectRefused(await call(gitchat, "PUT", "/me/password", { current: PASSWORD, password: "short" }, gus), 400, "invalid_input");
  expectRefused(await call(gitchat, "PUT", "/me/password", { current: PASSWORD, password: "gus" }, gus), 400, "invalid_input");
  expectRefused(await call(gitchat, "PUT", "/me/password", { password: "another long password" }, gus), 400, "invalid_input");
  expectRefused(await call(gitchat, "PUT", "/me/password", { current: PASSWORD }, gus), 400, "invalid_input");
  expectRefused(await call(gitchat, "PUT", "/me/password", { current: PASSWORD, password: "another long password" }, admin), 403, "forbidden");
  expect((await call(gitchat, "GET", "/me", undefined, gus)).status).toBe(200);
  expect((await call(gitchat, "POST", "/login", { login: "gus", password: PASSWORD })).status).toBe(200);
});
