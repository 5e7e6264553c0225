import { afterEach, expect, test } from "bun:test";
import type { Actor } from "../../src/accounts/service.ts";
import type { Gitchat } from "../../src/gitchat.ts";
import { openTestGitchat } from "../support/app.ts";
import { tempDir } from "../support/tmp.ts";

const operator: Actor = { operator: true };
const client = { address: "127.0.0.1", userAgent: "test" };
const DAY = 86_400_000;
const PASSWORD = "correct horse battery";

let open: Gitchat[] = [];
afterEach(async () => {
  for (const g of open) await g.close();
  open = [];
});

/** gitchat on `dataDir` whose clock reads `clock.now`. */
const start = async (dataDir: string, clock: { now: number }) => {
  const gitchat = await openTestGitchat({ dataDir, now: () => clock.now });
  open.push(gitchat);
  return gitchat;
};
const secretOf = (url: string) => url.split("/invite/")[1]!;

test("an invite link works once, within 24 hours, and signs the person in with the password they set", async () => {
  const clock = { now: Date.parse("2026-11-24T10:00:00Z") };
  const { accounts } = await start(tempDir(), clock);
  const { inviteUrl, account } = accounts.add(operator, { login: "Ada", name: "Ada Lovelace" });
  expect(account).toMatchObject({ login: "ada", name: "Ada Lovelace", role: "member", id: "local:ada" });
  expect(inviteUrl).toStartWith("http://localhost:8004/invite/");
  const { session } = await accounts.acceptInvite(secretOf(inviteUrl!), PASSWORD, client);
  expect(accounts.sessionAccount(session)?.login).toBe("ada");
  await expect(accounts.acceptInvite(secretOf(inviteUrl!), "another password", client)).rejects.toMatchObject({ code: "invite_unusable" });

  const late = accounts.add(operator, { login: "bo" }).inviteUrl!;
  clock.now += 24 * 3_600_000;
  await expect(accounts.acceptInvite(secretOf(late), PASSWORD, client)).rejects.toMatchObject({ code: "invite_unusable" });
  await expect(accounts.acceptInvite("not-a-secret-anyone-made", PASSWORD, client)).rejects.toMatchObject({ code: "not_found" });
});

test("logins follow GitHub's rule, are unique in any letter case, and a removed login is never given again", async () => {
  const { accounts } = await start(tempDir(), { now: Date.now() });
  for (const bad of ["", "-ada", "ada-", "a--b", "a_b", "a".repeat(40), "ada lovelace"]) {
    expect(() => accounts.add(operator, { login: bad })).toThrow("is not a valid login");
  }
  expect(accounts.add(operator, { login: "a-b-9" }).account.login).toBe("a-b-9");
  expect(() => accounts.add(operator, { login: "A-B-9" })).toThrow("there is already an account a-b-9");
  accounts.remove(operator, "a-b-9");
  expect(() => accounts.add(operator, { login: "a-b-9" })).toThrow("belonged to a removed account");
  expect(accounts.list()).toEqual([]);
});

test("sessions survive a restart, end after 30 idle days, when the password changes, and when the account is removed", async () => {
  const dataDir = tempDir();
  const clock = { now: Date.parse("2026-11-24T10:00:00Z") };
  let gitchat = await start(dataDir, clock);
  const url = gitchat.accounts.add(operator, { login: "ada" }).inviteUrl!;
  const { session, account } = await gitchat.accounts.acceptInvite(secretOf(url), PASSWORD, client);
  await gitchat.close();
  open = [];

  gitchat = await start(dataDir, clock);
  const { accounts } = gitchat;
  expect(accounts.sessionAccount(session)?.login).toBe("ada");
  // Used every 29 days it stays; 30 idle days end it.
  clock.now += 29 * DAY;
  expect(accounts.sessionAccount(session)?.login).toBe("ada");
  clock.now += 30 * DAY + 1;
  expect(accounts.sessionAccount(session)).toBeUndefined();

  const second = (await accounts.login("ada", PASSWORD, client)).session;
  const third = await accounts.setPassword({ account }, "ada", { current: PASSWORD, password: "a new password here" }, client);
  expect(accounts.sessionAccount(second)).toBeUndefined();
  expect(accounts.sessionAccount(third!)?.login).toBe("ada");
  await expect(accounts.login("ada", PASSWORD, client)).rejects.toMatchObject({ code: "unauthorized" });

  const token = accounts.createToken({ account }, "ada").token;
  accounts.remove(operator, "ada");
  expect(accounts.sessionAccount(third!)).toBeUndefined();
  expect(accounts.tokenAccount(token)).toBeUndefined();
  await expect(accounts.login("ada", "a new password here", client)).rejects.toMatchObject({ code: "unauthorized" });
});

test("password sign-in is limited per account (from any address) and per address (for any account)", async () => {
  const { accounts } = await start(tempDir(), { now: Date.now() });
  await accounts.acceptInvite(secretOf(accounts.add(operator, { login: "ada" }).inviteUrl!), PASSWORD, client);
  for (let i = 0; i < 10; i++) {
    await expect(accounts.login("ada", `guess ${i}`, { address: `10.0.0.${i}`, userAgent: "" })).rejects.toMatchObject({ code: "unauthorized" });
  }
  // The right password from a new address: the account's limit is spent.
  await expect(accounts.login("ada", PASSWORD, { address: "10.0.1.1", userAgent: "" })).rejects.toMatchObject({ code: "rate_limited" });
  for (let i = 0; i < 10; i++) {
    await expect(accounts.login(`user${i}`, "guess", { address: "10.9.9.9", userAgent: "" })).rejects.toMatchObject({ code: "unauthorized" });
  }
  await expect(accounts.login("someone", "guess", { address: "10.9.9.9", userAgent: "" })).rejects.toMatchObject({ code: "rate_limited" });
});

test("personal tokens: shown once, listed without their secret, revoked by their owner, not by another member", async () => {
  const { accounts, db } = await start(tempDir(), { now: Date.now() });
  const ada = { account: accounts.add(operator, { login: "ada" }).account };
  const bo = { account: accounts.add(operator, { login: "bo" }).account };
  const { id, token } = accounts.createToken(ada, "ada", "laptop");
  expect(accounts.tokenAccount(token)?.login).toBe("ada");
  expect(accounts.listTokens(ada)).toEqual([expect.objectContaining({ id, label: "laptop" })]);
  expect(JSON.stringify(accounts.listTokens(ada))).not.toContain(token);
  // Stored only as a hash: the secret is nowhere in the database.
  expect(JSON.stringify(db.sqlite.query("SELECT * FROM tokens").all())).not.toContain(token.split("_")[2]);
  expect(() => accounts.createToken(bo, "ada")).toThrow("only ada or an admin");
  expect(() => accounts.revokeToken(bo, id)).toThrow(`there is no token "${id}" of yours`);
  expect(accounts.tokenAccount(token)?.login).toBe("ada");
  accounts.revokeToken(ada, id);
  expect(accounts.tokenAccount(token)).toBeUndefined();
});

test("a bot gets no invite and cannot sign in with a password; roles and names change only by an admin or the person", async () => {
  const { accounts } = await start(tempDir(), { now: Date.now() });
  const added = accounts.add(operator, { login: "deploy-bot", role: "bot" });
  expect(added.inviteUrl).toBeUndefined();
  await expect(accounts.login("deploy-bot", "", client)).rejects.toMatchObject({ code: "unauthorized" });
  const ada = { account: accounts.add(operator, { login: "ada" }).account };
  expect(() => accounts.setRole(ada, "ada", "admin")).toThrow("only an admin may change roles");
  expect(accounts.setRole(operator, "ada", "admin").role).toBe("admin");
  expect(() => accounts.setRole(operator, "deploy-bot", "admin")).toThrow("a bot's role cannot change");
  expect(accounts.setName(ada, "ada", "  Ada L.  ").name).toBe("Ada L.");
  expect(() => accounts.setName(ada, "ada", "<b>")).toThrow("a name must be");
});

test("a person lists their sessions (never the cookie) and ends one; the others go on", async () => {
  const { accounts } = await start(tempDir(), { now: Date.now() });
  const first = await accounts.acceptInvite(secretOf(accounts.add(operator, { login: "ada" }).inviteUrl!), PASSWORD, client);
  const ada = { account: first.account };
  const second = await accounts.login("ada", PASSWORD, { address: "10.0.0.2", userAgent: "phone" });
  const sessions = accounts.listSessions(ada);
  expect(sessions.map((s) => s.userAgent).sort()).toEqual(["phone", "test"]);
  expect(JSON.stringify(sessions)).not.toContain(first.session);
  const phone = sessions.find((s) => s.userAgent === "phone")!;
  const bo = { account: accounts.add(operator, { login: "bo" }).account };
  expect(() => accounts.endSession(bo, phone.id)).toThrow("there is no session");
  accounts.endSession(ada, phone.id);
  expect(accounts.sessionAccount(second.session)).toBeUndefined();
  expect(accounts.sessionAccount(first.session)?.login).toBe("ada");
});

test("a GitHub user's account is found by GitHub's id (a rename on GitHub keeps it); a login taken here, or a removed account, is refused", async () => {
  const { accounts } = await start(tempDir(), { now: Date.parse("2026-11-24T10:00:00Z") });
  const first = accounts.signInWithGitHub({ id: 4242, login: "Octo-Cat", name: "<Octo>" }, client);
  // A GitHub name our rules refuse gives way to the login.
  expect(first.account).toMatchObject({ login: "octo-cat", name: "octo-cat", role: "member", id: "github:4242", commitEmail: "4242+octo-cat@users.noreply.github.com" });
  const renamed = accounts.signInWithGitHub({ id: 4242, login: "octo-renamed", name: null }, client);
  expect([renamed.account.login, renamed.account.id]).toEqual(["octo-cat", "github:4242"]);
  expect(accounts.sessionAccount(renamed.session)?.id).toBe("github:4242");

  accounts.add(operator, { login: "ada" });
  expect(() => accounts.signInWithGitHub({ id: 7, login: "ada", name: "Someone else" }, client)).toThrow("already has an account ada");
  accounts.remove(operator, "octo-cat");
  expect(() => accounts.signInWithGitHub({ id: 4242, login: "octo-cat", name: null }, client)).toThrow("was removed");
  expect(accounts.list().map((a) => a.login)).toEqual(["ada"]);
});
