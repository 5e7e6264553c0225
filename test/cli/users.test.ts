/**
 * `gitchat users` as a child process: on a data directory no server owns,
 * and handed to the server that owns it (a real `gitchat serve`).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { runCli, startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "cli-users-access-token";

test("with no server running, users add/list/token/remove work on the data directory itself", async () => {
  const dataDir = tempDir();
  const env = { PUBLIC_URL: "https://chat.example.com" };
  const added = await runCli(["users", "add", "Ada", "--name", "Ada Lovelace", "--admin"], { dataDir, env });
  expect(added.code).toBe(0);
  expect(added.stdout).toContain("added ada (admin)");
  expect(added.stdout).toMatch(/^https:\/\/chat\.example\.com\/invite\/[\w-]{43}$/m);
  expect((await runCli(["users", "add", "deploy-bot", "--bot"], { dataDir })).stdout).toContain("added deploy-bot (bot)");
  const again = await runCli(["users", "invite", "ada"], { dataDir, env });
  expect(again.stdout).toMatch(/^https:\/\/chat\.example\.com\/invite\/[\w-]{43}$/m);
  expect(again.stdout).not.toContain(added.stdout.trim().split("\n").at(-1)!);

  const list = await runCli(["users", "list"], { dataDir });
  expect(list.stdout.trim().split("\n")).toEqual(["ada         admin   Ada Lovelace", "deploy-bot  bot     deploy-bot"]);
  const token = await runCli(["users", "token", "deploy-bot"], { dataDir });
  expect([token.code, token.stdout]).toEqual([0, expect.stringMatching(/^gitchat_[0-9a-f]{12}_[\w-]{43}\n$/)]);

  // Bad input: one line that says what was wrong, exit 1, nothing changed.
  const bad = await runCli(["users", "add", "not a login"], { dataDir });
  // A bad login on the command line: exit 2, one line.
  expect([bad.code, bad.stderr.trim().split("\n").length]).toEqual([2, 1]);
  expect(bad.stderr).toContain("is not a valid login");
  const twice = await runCli(["users", "add", "ADA"], { dataDir });
  expect([twice.code, twice.stderr.trim()]).toEqual([1, "gitchat: there is already an account ada"]);
  expect((await runCli(["users", "remove", "nobody"], { dataDir })).code).toBe(1);
  expect((await runCli(["users", "frobnicate"], { dataDir })).code).toBe(2);

  expect((await runCli(["users", "remove", "deploy-bot"], { dataDir })).code).toBe(0);
  expect((await runCli(["users", "list"], { dataDir })).stdout.trim()).toBe("ada    admin   Ada Lovelace");
});

test("gitchat rebuild keeps the accounts and their tokens (git holds neither)", async () => {
  const dataDir = tempDir();
  await runCli(["users", "add", "ada", "--name", "Ada"], { dataDir });
  const token = (await runCli(["users", "token", "ada"], { dataDir })).stdout.trim();
  const rebuilt = await runCli(["rebuild"], { dataDir });
  expect(rebuilt.code).toBe(0);
  expect((await runCli(["users", "list"], { dataDir })).stdout.trim()).toBe("ada    member  Ada");
  const server = await startServer({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  try {
    const me = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
  } finally {
    await server.stop();
  }
});

describe("with a server owning the data directory (ACCESS_TOKEN set)", () => {
  let server: RunningServer;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = tempDir();
    server = await startServer({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  });
  afterAll(() => server.stop());

  test("the server's control file is readable by its user only", () => {
    expect(statSync(join(dataDir, "control.json")).mode & 0o777).toBe(0o600);
  });

  test("users add/token/list/remove are handed to the server, and what they make works there at once", async () => {
    const added = await runCli(["users", "add", "bo", "--name", "Bo"], { dataDir });
    expect(added.code).toBe(0);
    const port = new URL(server.url).port;
    const link = added.stdout.trim().split("\n").at(-1)!;
    expect(link).toMatch(new RegExp(`^http://localhost:${port}/invite/[\\w-]{43}$`));
    // The link is the server's: it opens the invite page there.
    const page = await fetch(link.replace("localhost", "127.0.0.1"));
    expect(await page.text()).toContain("sign in as <strong>bo</strong>");

    const token = (await runCli(["users", "token", "bo"], { dataDir })).stdout.trim();
    const me = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toEqual({ login: "bo", name: "Bo", role: "member", id: "local:bo" });
    expect((await runCli(["users", "list"], { dataDir })).stdout.trim()).toBe("bo     member  Bo");

    const twice = await runCli(["users", "add", "bo"], { dataDir });
    expect([twice.code, twice.stderr.trim()]).toEqual([1, "gitchat: there is already an account bo"]);
    expect((await runCli(["users", "remove", "bo"], { dataDir })).code).toBe(0);
    expect((await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    // Neither the token nor the control secret ever reaches the server's log.
    const { secret } = JSON.parse(readFileSync(join(dataDir, "control.json"), "utf8")) as { secret: string };
    for (const hidden of [token, secret, link.split("/invite/")[1]!]) expect(server.output()).not.toContain(hidden);
  });

  test("gitchat push is handed to a server that has ACCESS_TOKEN (it was refused with 401 before the control secret)", async () => {
    const push = await runCli(["push"], { dataDir });
    // The server answered: sync is off on it (no GITHUB_TOKEN), which is a setting to change: exit 2.
    expect([push.code, push.stderr.trim()]).toEqual([2, "gitchat: GitHub sync is off: set GITHUB_TOKEN and GITHUB_USERNAME to back channels up to GitHub"]);
  });
});
