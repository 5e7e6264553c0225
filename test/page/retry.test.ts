/**
 * Sending again from the page never stores a message twice: each message
 * carries an Idempotency-Key made when it is queued, and a message put back in
 * the box after a failure keeps it. In headless Chromium against gitchat as a
 * real process.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { mountTmpfs, type Tmpfs } from "../support/tmpfs.ts";
import { tempDir } from "../support/tmp.ts";

const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };
// Chromium logs failed requests and 5xx answers as console errors; htmx logs its error events. Expected here.
const FAILED_REQUEST = /^Failed to load resource|^Response Status Error Code \d+ from |^htmx:(sendError|afterRequest|responseError), |^\[object Event\]$/;

const mounted = mountTmpfs("768k");
const tmpfs: Tmpfs | undefined = "skip" in mounted ? undefined : mounted;
if ("skip" in mounted) console.warn(`the full-disk test of test/page/retry.test.ts is skipped: ${mounted.skip}`);

let browser: Browser;
const servers: RunningServer[] = [];
const opened: Watched[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
}, 40_000);

afterEach(async () => {
  await Promise.all(opened.splice(0).map((w) => w.context.close().catch(() => {})));
  for (const server of servers.splice(0)) if (server.proc.exitCode === null) await server.kill9();
});

afterAll(async () => {
  await browser?.close();
  tmpfs?.unmount();
});

const start = async (dataDir: string, port = 0) => {
  const server = await startServer({ dataDir, env: { ...LOCAL_ONLY, PORT: String(port) } });
  servers.push(server);
  return server;
};

const open = async (base: string) => {
  const watched = await openPage(browser, base, { viewport: { width: 1280, height: 800 } });
  opened.push(watched);
  expect((await watched.page.goto(`${base}/c/local/general`))?.status()).toBe(200);
  return watched;
};

const composer = (page: Page) => page.locator("form#composer textarea[name=content]");

const storedContents = async (base: string) =>
  ((await (await fetch(`${base}/messages`)).json()) as { content: string }[]).map((m) => m.content);

const shownContents = (page: Page) =>
  page.$$eval("#messages li.message:not(.pending) .content", (items) => items.map((el) => (el as HTMLElement).innerText));

test("a message whose answer was lost when the server died is stored once when the person sends it again", async () => {
  const dataDir = tempDir();
  const first = await start(dataDir);
  const port = new URL(first.url).port;
  const { page, problems } = await open(first.url);

  // The server takes the message and commits it; then it dies before the answer reaches the page.
  let posts = 0;
  await page.route("**/c/local/general/messages", async (route) => {
    if (route.request().method() !== "POST" || ++posts > 1) return route.fallback();
    const answered = await route.fetch();
    expect(answered.status()).toBe(201);
    await first.kill9();
    await route.abort("connectionreset");
  });
  await composer(page).fill("said once");
  await composer(page).press("Enter");
  await page.waitForFunction(() => /reach the server/.test(document.getElementById("composer-error")?.textContent ?? ""));
  expect(await composer(page).inputValue()).toBe("said once");

  // Back on the same address; the person sends what the box still holds.
  const second = await start(dataDir, Number(port));
  await composer(page).press("Enter");
  await page.waitForFunction(() => document.getElementById("composer-error")?.hidden === true && !document.querySelector("li.pending"));
  await page.waitForFunction(() => document.querySelectorAll("#messages li.message:not(.pending)").length > 0);
  expect({ stored: await storedContents(second.url), shown: await shownContents(page), posts }).toEqual({
    stored: ["said once"],
    shown: ["said once"],
    posts: 2,
  });
  expect(problems.pageErrors).toEqual([]);
  expect(problems.console.filter((line) => !FAILED_REQUEST.test(line))).toEqual([]);
}, 40_000);

/** Writes zeros to `path` until the disk is full. */
const fillDisk = (path: string) => {
  const fd = openSync(path, "w");
  try {
    for (const size of [64 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          if ((error as { code?: string }).code === "ENOSPC") break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
};

test.skipIf(!tmpfs)("on a full disk the page says so inline and keeps the text; sent again once there is space, it is stored once", async () => {
  const server = await start(join(tmpfs!.dir, "page"));
  const { page, problems } = await open(server.url);
  const filler = join(tmpfs!.dir, "filler");
  fillDisk(filler);

  await composer(page).fill("while the disk is full");
  await composer(page).press("Enter");
  const error = page.locator("#composer-error");
  await error.waitFor({ state: "visible" });
  expect({ error: await error.innerText(), box: await composer(page).inputValue() }).toEqual({
    error: expect.stringContaining("the disk holding gitchat's data directory is full"),
    box: "while the disk is full",
  });

  rmSync(filler);
  await composer(page).press("Enter");
  await error.waitFor({ state: "hidden" });
  await page.waitForFunction(() => document.querySelectorAll("#messages li.message:not(.pending)").length > 0);
  expect({ stored: await storedContents(server.url), shown: await shownContents(page) }).toEqual({
    stored: ["while the disk is full"],
    shown: ["while the disk is full"],
  });
  expect(problems.pageErrors).toEqual([]);
  expect(problems.console.filter((line) => !FAILED_REQUEST.test(line))).toEqual([]);
}, 40_000);
