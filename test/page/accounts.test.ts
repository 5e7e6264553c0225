/**
 * Accounts in a real browser: an admin invites two people, each accepts the
 * invite in Chromium and posts, and each message shows its real author; a
 * request naming the other person still gets the signed-in author.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { runGit } from "../support/git.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { invite } from "../support/invite.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "page-accounts-access-token";
const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "" };
const PASSWORD = "a password long enough";

let browser: Browser;
let server: RunningServer;
let dataDir: string;
const opened: Watched[] = [];

beforeAll(async () => {
  dataDir = tempDir();
  [browser, server] = await Promise.all([launchBrowser(), startServer({ dataDir, env: { ...LOCAL_ONLY, ACCESS_TOKEN: TOKEN } })]);
}, 40_000);
afterAll(async () => {
  await Promise.all(opened.map((w) => w.context.close().catch(() => {})));
  await browser?.close();
  await server?.stop();
});

/** A new browser (own cookies) that accepts `link` and lands in the chat. */
const accept = async (link: string) => {
  const watched = await openPage(browser, server.url, { viewport: { width: 1280, height: 800 } });
  opened.push(watched);
  const { page } = watched;
  await page.goto(link);
  await page.locator("#invite-password").fill(PASSWORD);
  await page.locator("form.login-form button[type=submit]").click();
  await page.waitForURL(`${server.url}/c/local/general`);
  return page;
};

const send = async (page: Page, content: string) => {
  await page.locator("form#composer textarea[name=content]").fill(content);
  await page.locator("form#composer textarea[name=content]").press("Enter");
};

/** The author shown beside the committed message with this text, once it is there. */
const authorShownFor = async (page: Page, content: string) => {
  const handle = await page.waitForFunction(
    (text) =>
      Array.from(document.querySelectorAll("#messages li.message:not(.pending)"))
        .find((li) => (li.querySelector(".content") as HTMLElement).innerText === text)
        ?.querySelector(".author")?.textContent,
    content,
    { timeout: 10_000 },
  );
  return (await handle.jsonValue()) as string;
};

test("two invited people each sign in, post, and see each message under its real author; neither can post as the other", async () => {
  const ada = await accept(await invite(server.url, TOKEN, "ada", "Ada Lovelace"));
  const bo = await accept(await invite(server.url, TOKEN, "bo", "Bo Diddley"));
  await expect(ada.locator(".viewer").innerText()).resolves.toContain("Ada Lovelace");
  await expect(bo.locator(".viewer").innerText()).resolves.toContain("Bo Diddley");

  await send(ada, "hello from Ada");
  await send(bo, "hello from Bo");
  for (const page of [ada, bo]) {
    expect(await authorShownFor(page, "hello from Ada")).toBe("Ada Lovelace");
    expect(await authorShownFor(page, "hello from Bo")).toBe("Bo Diddley");
  }

  // Bo's browser sends a message naming Ada: it is Bo's.
  const forged = await bo.evaluate(async () => {
    const response = await fetch("/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: "I am Ada, honestly", author: "Ada Lovelace", author_id: "local:ada" }),
    });
    return { status: response.status, body: await response.json() };
  });
  expect([forged.status, forged.body.author, forged.body.author_id]).toEqual([201, "Bo Diddley", "local:bo"]);
  expect(await authorShownFor(ada, "I am Ada, honestly")).toBe("Bo Diddley");

  // Git names each person as the author of their own message.
  const gitdir = join(dataDir, "repos", "local", "general.git");
  const log = await runGit(["--git-dir", gitdir, "log", "--format=%an <%ae>|%s", "main"]);
  expect(log.stdout.trim().split("\n")).toEqual([
    "Bo Diddley <bo@users.noreply.localhost>|Bo Diddley: I am Ada, honestly",
    "Bo Diddley <bo@users.noreply.localhost>|Bo Diddley: hello from Bo",
    "Ada Lovelace <ada@users.noreply.localhost>|Ada Lovelace: hello from Ada",
  ]);
}, 60_000);

test("signed out, a person signs in again with their login and password", async () => {
  const page = await accept(await invite(server.url, TOKEN, "cy", "Cy"));
  await page.locator(".viewer button[type=submit]").click();
  await page.waitForURL(/\/login$/);
  await page.locator("#login-login").fill("cy");
  await page.locator("#login-password").fill("not the password");
  await page.locator("form.login-form button[type=submit]").click();
  await page.waitForSelector("text=wrong login or password");
  await page.locator("#login-password").fill(PASSWORD);
  await page.locator("form.login-form button[type=submit]").click();
  await page.waitForURL(`${server.url}/`.replace(/\/$/, "") + "/c/local/general");
  await expect(page.locator(".viewer").innerText()).resolves.toContain("Cy");
}, 60_000);
