/**
 * The page marks, in a real browser: a message pushed with plain git around
 * gitchat (pulled from the GitHub stand-in) carries an "unverified" mark whose
 * title, and text for screen readers, say what it means; a message sent
 * through gitchat carries none. A message posted through an incoming webhook
 * carries a "bot" badge; a person's carries none.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Browser } from "playwright-core";
import { launchBrowser, openPage } from "../support/browser.ts";
import { runGit } from "../support/git.ts";
import { standInSettings, startGitHub, type GitHubStandIn } from "../support/github.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { cloneOf } from "../support/signatures.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "ghp_pageProofTestToken00000000000000000000";
const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };
const MEANING = "not signed by a known gitchat server: pushed around gitchat";

let browser: Browser;
let github: GitHubStandIn;
let server: RunningServer;

beforeAll(async () => {
  github = await startGitHub({ users: [{ login: "alice", token: TOKEN }] });
  [browser, server] = await Promise.all([
    launchBrowser(),
    startServer({ dataDir: tempDir(), env: { ...LOCAL_ONLY, ...standInSettings(github, { token: TOKEN }) } }),
  ]);
}, 40_000);
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await github?.stop();
});

const api = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.text()) as string };
};

test("a message pushed around gitchat is marked unverified on the page, with a title that says so; a bot's message has a bot badge", async () => {
  const sent = JSON.parse((await api("POST", "/messages", { content: "sent through gitchat" })).body) as { id: string };
  expect(JSON.parse((await api("POST", "/push")).body).success).toBe(true);

  // Someone with push access writes a message file by hand and pushes it with plain git.
  const clone = await cloneOf(github.repoPath("alice", "chat"));
  const identity = { GIT_AUTHOR_NAME: "mallory", GIT_AUTHOR_EMAIL: "m@example.invalid", GIT_COMMITTER_NAME: "mallory", GIT_COMMITTER_EMAIL: "m@example.invalid" };
  const id = Bun.randomUUIDv7();
  const created = new Date().toISOString();
  const file = `messages/${created.slice(0, 4)}/${created.slice(5, 7)}/${created.slice(8, 10)}/000/${id}.json`;
  mkdirSync(dirname(join(clone, file)), { recursive: true });
  writeFileSync(join(clone, file), `${JSON.stringify({ id, author: "ann", content: "pushed around gitchat", type: "message", created_at: created }, null, 2)}\n`);
  for (const args of [["add", file], ["commit", "-q", "-m", "ann: pushed around gitchat"], ["push", "-q", "origin", "main"]]) {
    expect((await runGit(["-C", clone, ...args], { env: identity })).code).toBe(0);
  }
  expect(JSON.parse((await api("POST", "/pull")).body).success).toBe(true);

  const hook = JSON.parse((await api("POST", "/hooks", { repository: "alice/chat", name: "CI" })).body) as { url: string };
  const posted = await fetch(`${server.url}${new URL(hook.url).pathname}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "build passed" }),
  });
  expect(posted.status).toBe(200);
  const hookMessage = (JSON.parse((await api("GET", "/messages?repository=alice/chat")).body) as { id: string; content: string }[]).find(
    (m) => m.content === "build passed",
  )!;

  const { page, context, problems } = await openPage(browser, server.url);
  try {
    await page.goto(`${server.url}/c/alice/chat`);
    const mark = page.locator(`#m-${id} .badge.unverified`);
    await mark.waitFor({ state: "visible" });
    expect(await mark.getAttribute("title")).toContain(MEANING);
    // What a screen reader reads beside the author: the mark and what it means.
    expect(await page.locator(`#m-${id} .meta`).textContent()).toContain(`unverified: ${MEANING}`);
    expect(await page.locator(`#m-${sent.id} .badge.unverified`).count()).toBe(0);

    const badge = page.locator(`#m-${hookMessage.id} .badge.bot`);
    expect([await badge.textContent(), await badge.isVisible()]).toEqual(["bot", true]);
    expect(await page.locator(`#m-${sent.id} .badge.bot`).count()).toBe(0);
    expect([problems.console, problems.pageErrors]).toEqual([[], []]);
  } finally {
    await context.close();
  }
}, 60_000);
