/**
 * The chat page in a real browser (Debian's headless Chromium through
 * playwright-core), against gitchat running as a real process on 127.0.0.1.
 * Each test asserts what a person at the page would notice.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";
import { launchBrowser, openPage, type PageProblems, type Watched } from "../support/browser.ts";
import { ROOT, startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const SCREENSHOTS = join(ROOT, "test-output", "screenshots");
const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 375, height: 740 };
const HASH7 = /^[0-9a-f]{7}$/;

// Chromium logs every 4xx/5xx answer and every failed request as a console
// error, and htmx logs its own error events: expected where a test provokes them.
// htmx logs a 4xx as "Response Status Error Code 400 from ...", a request that never reached the
// server as "htmx:sendError" (and "htmx:afterRequest"), and an SSE failure as the bare event.
const FAILED_REQUEST = /^Failed to load resource|^Response Status Error Code \d+ from |^htmx:(sendError|afterRequest), |^\[object Event\]$/;

let browser: Browser;
let server: RunningServer;
let opened: Watched[] = [];
const ownServers: RunningServer[] = [];

/** No server env leaks in: these tests run gitchat local-only, whatever the shell holds. */
const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };

const start = async () => {
  const started = await startServer({ dataDir: tempDir(), env: LOCAL_ONLY });
  ownServers.push(started);
  return started;
};

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startServer({ dataDir: tempDir(), env: LOCAL_ONLY })]);
}, 40_000);

afterEach(async () => {
  if (server.proc.exitCode !== null) console.error(`gitchat exited (${server.proc.exitCode}):\n${server.output()}`);
  await Promise.all(opened.map((w) => w.context.close().catch(() => {})));
  opened = [];
  await Promise.all(ownServers.splice(0).map((s) => (s.proc.exitCode === null && !s.proc.killed ? s.stop() : s.proc.exited)));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

// ---------------------------------------------------------------------------
// Helpers

/** A fresh browser context (own cookies and storage) with one page, optionally at `path`. */
const open = async (path: string | null, options: BrowserContextOptions & { base?: string } = {}) => {
  const { base = server.url, ...contextOptions } = options;
  const watched = await openPage(browser, base, { viewport: DESKTOP, ...contextOptions });
  opened.push(watched);
  if (path !== null) {
    const response = await watched.page.goto(base + path);
    expect(response?.status()).toBe(200);
  }
  return watched;
};

const expectClean = (problems: PageProblems, allowConsole?: RegExp) => {
  expect({
    console: allowConsole ? problems.console.filter((line) => !allowConsole.test(line)) : problems.console,
    pageErrors: problems.pageErrors,
    dialogs: problems.dialogs,
  }).toEqual({ console: [], pageErrors: [], dialogs: [] });
};

const api = async (base: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
};

const createChannel = async (fullName: string, base = server.url) => {
  const [owner, name] = fullName.split("/");
  const answer = await api(base, "POST", "/repositories", { owner, name });
  expect(answer.status).toBe(201);
};

const sendByApi = async (content: string, repository: string, base = server.url) => {
  const answer = await api(base, "POST", "/messages", { content, repository });
  expect(answer.status).toBe(201);
  return answer.body as { id: string; git_hash: string; content: string };
};

const composer = (page: Page) => page.locator("form#composer textarea[name=content]");

/** Committed messages (not pending ones) as the reader sees them, top to bottom. */
const shownMessages = (page: Page) =>
  page.$$eval("#messages li.message:not(.pending)", (items) =>
    items.map((li) => ({
      id: li.getAttribute("data-id") ?? "",
      content: (li.querySelector(".content") as HTMLElement).innerText,
      hash: li.getAttribute("data-hash")?.slice(0, 7) ?? "",
    })),
  );

const copiesOf = (page: Page, id: string) => page.locator(`#messages li.message[data-id="${id}"]`).count();

/** Waits until a committed message with exactly this text is in the list; returns its id. */
const waitForMessage = async (page: Page, content: string, timeout = 5_000) => {
  const handle = await page.waitForFunction(
    (text) =>
      Array.from(document.querySelectorAll("#messages li.message:not(.pending)")).find(
        (li) => (li.querySelector(".content") as HTMLElement).innerText === text,
      )?.getAttribute("data-id"),
    content,
    { timeout },
  );
  return (await handle.jsonValue()) as string;
};

/** Resolves when the page's 2 s poller has asked the server once more (so anything it would add has been added). */
const nextPoll = (page: Page) =>
  page.waitForResponse((r) => r.url().includes("/messages?after="), { timeout: 5_000 }).then(() => page.evaluate(() => 0));

const sendFromPage = async (page: Page, content: string) => {
  await composer(page).fill(content);
  await composer(page).press("Enter");
  return waitForMessage(page, content);
};

const backgroundOf = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);

/** Relative luminance of an `rgb(r, g, b)` colour, 0 (black) to 1 (white). */
const luminance = (rgb: string) => {
  const [r = 0, g = 0, b = 0] = (rgb.match(/\d+(\.\d+)?/g) ?? []).map(Number).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};

// ---------------------------------------------------------------------------
// Tests

test("opening / lands on the default channel, listed in the sidebar, which says it is empty", async () => {
  const { page, problems } = await open(null);
  const response = await page.goto(`${server.url}/`);
  expect(response?.status()).toBe(200);
  expect(page.url()).toBe(`${server.url}/c/local/general`);
  expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
  expect(await page.title()).toContain("local/general");
  expect(await page.locator("h1#channel-title").innerText()).toBe("local/general");

  const link = page.locator('#channel-list a[href="/c/local/general"]');
  expect(await link.isVisible()).toBe(true);
  expect(await link.innerText()).toContain("local/general");
  expect(await link.getAttribute("aria-current")).toBe("page");

  const empty = page.locator("#empty");
  expect(await empty.isVisible()).toBe(true);
  expect(await empty.innerText()).toContain("No messages in local/general yet");
  expect(await page.locator("#messages li.message").count()).toBe(0);
  expectClean(problems);
}, 20_000);

test("Enter sends: pending at once, then committed with its short hash; the box clears and keeps focus; Shift+Enter adds a line", async () => {
  const { page, problems } = await open("/c/local/general");
  const box = composer(page);
  await box.click();

  // Hold the request so the pending state can be seen as a person on a slow link would.
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/c/local/general/messages", async (route) => {
    if (route.request().method() === "POST") await held;
    await route.fallback();
  });

  await box.pressSequentially("hello from the browser");
  await box.press("Enter");
  const pending = page.locator("#messages li.message.pending");
  await pending.waitFor({ state: "visible" });
  expect(await pending.locator(".content").innerText()).toBe("hello from the browser");
  expect(await box.inputValue()).toBe("");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("content");
  expect(await page.locator("#empty").isVisible()).toBe(false);

  release();
  const id = await waitForMessage(page, "hello from the browser");
  await pending.waitFor({ state: "detached" });
  const item = page.locator(`#messages li.message[data-id="${id}"]`);
  // The commit is offered in the message's action menu (see events.test.ts).
  const hash = (await item.getAttribute("data-hash"))!.slice(0, 7);
  expect(hash).toMatch(HASH7);
  const stored = (await api(server.url, "GET", "/messages?repository=local/general")).body as { id: string; git_hash: string }[];
  expect(stored.find((m) => m.id === id)?.git_hash.slice(0, 7)).toBe(hash);
  expect(await box.inputValue()).toBe("");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("content");
  await page.unroute("**/c/local/general/messages");

  // Shift+Enter: a new line in the box, nothing sent.
  await box.pressSequentially("line one");
  await box.press("Shift+Enter");
  await box.pressSequentially("line two");
  expect(await box.inputValue()).toBe("line one\nline two");
  expect(await page.locator("#messages li.message").count()).toBe(1);
  await box.press("Enter");
  const multi = await waitForMessage(page, "line one\nline two");
  expect(await page.locator(`#messages li.message[data-id="${multi}"] .content`).innerText()).toBe("line one\nline two");
  expect(await box.inputValue()).toBe("");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("content");
  expect((await shownMessages(page)).map((m) => m.content)).toEqual(["hello from the browser", "line one\nline two"]);
  expectClean(problems);
}, 20_000);

test("on a slow link, messages sent while another is on its way stay separate and in order", async () => {
  await createChannel("slow/link");
  const { page, problems } = await open("/c/slow/link");
  let held = 0;
  await page.route("**/c/slow/link/messages", async (route) => {
    if (route.request().method() === "POST") {
      held += 1;
      await Bun.sleep(300);
    }
    await route.fallback();
  });
  const box = composer(page);
  for (const text of ["one", "two", "three"]) {
    await box.pressSequentially(text);
    await box.press("Enter");
    // Taken at once, whatever is still on its way.
    expect(await box.inputValue()).toBe("");
  }
  expect(await page.locator("#messages li.pending").count()).toBeGreaterThan(0);
  await waitForMessage(page, "three");
  await page.locator("#messages li.pending").waitFor({ state: "detached" });
  expect((await shownMessages(page)).map((m) => m.content)).toEqual(["one", "two", "three"]);
  expect(held).toBe(3);
  const stored = (await api(server.url, "GET", "/messages?repository=slow/link")).body as { content: string }[];
  expect(stored.map((m) => m.content)).toEqual(["one", "two", "three"]);
  expectClean(problems);
}, 20_000);

test("two pages on a channel: a message reaches the other by SSE within 1 s, by polling within 3 s without SSE, never twice", async () => {
  await createChannel("team/live");
  const a = await open("/c/team/live");

  const b = await open(null);
  const streaming = b.page.waitForResponse((r) => r.url().includes("/c/team/live/events"));
  await b.page.goto(`${server.url}/c/team/live`);
  await streaming;
  // While its stream is live, a page does not poll: polling is the fallback.
  let bPolls = 0;
  b.page.on("request", (r) => {
    if (r.url().includes("/messages?after=")) bPolls += 1;
  });

  // By SSE: well inside the 2 s polling period, twice in a row.
  const streamed: string[] = [];
  for (const text of ["first, over SSE", "second, over SSE"]) {
    await composer(a.page).fill(text);
    const sentAt = Date.now();
    await composer(a.page).press("Enter");
    streamed.push(await waitForMessage(b.page, text, 1_000));
    expect(Date.now() - sentAt).toBeLessThan(1_000);
  }

  // Without SSE: a third page whose event stream is refused gets it from the poller.
  const c = await open(null);
  let refused = 0;
  await c.page.route("**/events**", (route) => {
    refused += 1;
    return route.abort();
  });
  await c.page.goto(`${server.url}/c/team/live`);
  expect((await shownMessages(c.page)).map((m) => m.content)).toEqual(["first, over SSE", "second, over SSE"]);
  await composer(a.page).fill("third, while SSE is down");
  const sentAt = Date.now();
  await composer(a.page).press("Enter");
  const polled = await waitForMessage(c.page, "third, while SSE is down", 3_000);
  expect(Date.now() - sentAt).toBeLessThan(3_000);
  expect(refused).toBeGreaterThan(0);
  await waitForMessage(b.page, "third, while SSE is down", 1_000);

  // One more message reaches every page (and the page without a stream polls once more), then
  // count: one copy of each message everywhere.
  await composer(a.page).fill("fourth, to settle");
  await composer(a.page).press("Enter");
  const settled = await Promise.all([a, b, c].map(({ page }) => waitForMessage(page, "fourth, to settle", 3_000)));
  await nextPoll(c.page);
  for (const { page } of [a, b, c]) {
    for (const id of [...streamed, polled, settled[0]!]) expect(await copiesOf(page, id)).toBe(1);
    expect((await shownMessages(page)).map((m) => m.content)).toEqual(["first, over SSE", "second, over SSE", "third, while SSE is down", "fourth, to settle"]);
    expect(await page.locator("#messages li.pending").count()).toBe(0);
  }
  expect(bPolls).toBe(0);
  expectClean(a.problems);
  expectClean(b.problems);
  // The refused stream is logged as a failed request; nothing else may be.
  expectClean(c.problems, /^Failed to load resource: net::ERR_FAILED$|^\[object Event\]$/);
}, 30_000);

test("a message the server refuses, or cannot receive, stays in the box with an inline error", async () => {
  const own = await start();
  const { page, problems } = await open("/c/local/general", { base: own.url });
  expectClean(problems);
  const box = composer(page);
  const error = page.locator("#composer-error");
  expect(await error.isVisible()).toBe(false);

  const long = "x".repeat(10_001);
  await box.fill(long);
  await box.press("Enter");
  await error.waitFor({ state: "visible" });
  expect(await error.innerText()).toContain("10,001 characters");
  expect(await box.inputValue()).toBe(long);
  expect(await page.locator("#messages li.message").count()).toBe(0);
  expect(await page.locator("#empty").isVisible()).toBe(true);
  expect((await api(own.url, "GET", "/messages")).body).toEqual([]);
  expectClean(problems, FAILED_REQUEST);

  // Fixed by the person: it goes through and the error goes away.
  await box.fill("short enough");
  await box.press("Enter");
  await waitForMessage(page, "short enough");
  expect(await error.isVisible()).toBe(false);

  await own.kill9();
  await box.fill("sent while the server is down");
  await box.press("Enter");
  await page.waitForFunction(() => /reach the server/.test(document.getElementById("composer-error")?.textContent ?? ""));
  expect(await error.isVisible()).toBe(true);
  expect(await box.inputValue()).toBe("sent while the server is down");
  expect(await page.locator("#messages li.pending").count()).toBe(0);
  expect((await shownMessages(page)).map((m) => m.content)).toEqual(["short enough"]);
  expectClean(problems, FAILED_REQUEST);
}, 20_000);

test("markup and script in messages show as text and never run", async () => {
  await createChannel("sec/xss");
  const payloads = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "javascript:alert(1)", '"><svg onload=alert(1)>'];
  const { page, problems } = await open("/c/sec/xss");
  for (const payload of payloads) await sendFromPage(page, payload);

  const check = async () => {
    expect((await shownMessages(page)).map((m) => m.content)).toEqual(payloads);
    expect(await page.locator("#messages img, #messages svg, #messages script, #messages a").count()).toBe(0);
  };
  await check();
  // As rendered by the server too, and as another page receives them live.
  await page.reload();
  await check();
  const other = await open("/c/sec/xss");
  await sendByApi(payloads[0]!, "sec/xss");
  await other.page.waitForFunction(() => document.querySelectorAll("#messages li.message").length === 5);
  expect(await other.page.locator("#messages img, #messages svg, #messages script, #messages a").count()).toBe(0);
  expect(problems.dialogs).toEqual([]);
  expectClean(problems);
  expectClean(other.problems);
}, 20_000);

test("channels: add one from the sidebar, follow it, deep-link and reload it; messages stay in their channel; unknown is 404", async () => {
  const { page, problems } = await open("/c/local/general");
  // The browser itself refuses a name without an owner.
  await page.locator("#new-repository").fill("room");
  expect(await page.locator("#new-repository").evaluate((input: HTMLInputElement) => input.validity.patternMismatch)).toBe(true);
  await page.locator("#new-repository").fill("acme/room");
  expect(await page.locator("#new-repository").evaluate((input: HTMLInputElement) => input.validity.valid)).toBe(true);
  await page.locator("#add-repository button[type=submit]").click();
  const link = page.locator('#channel-list a[href="/c/acme/room"]');
  await link.waitFor({ state: "visible" });
  expect(await page.locator("#new-repository").inputValue()).toBe("");
  expect(await page.locator('#channel-list a[aria-current="page"]').innerText()).toContain("local/general");

  await link.click();
  await page.waitForURL(`${server.url}/c/acme/room`);
  expect(await page.locator("h1#channel-title").innerText()).toBe("acme/room");
  expect(await page.title()).toContain("acme/room");
  expect(await page.locator('#channel-list a[aria-current="page"]').getAttribute("href")).toBe("/c/acme/room");
  await sendFromPage(page, "only in acme/room");

  await page.reload();
  expect(page.url()).toBe(`${server.url}/c/acme/room`);
  expect(await page.locator("h1#channel-title").innerText()).toBe("acme/room");
  expect((await shownMessages(page)).map((m) => m.content)).toEqual(["only in acme/room"]);

  // A deep link in a fresh context; general never shows acme's messages, even live.
  const general = await open("/c/local/general");
  const deep = await open("/c/acme/room");
  expect(await deep.page.locator("h1#channel-title").innerText()).toBe("acme/room");
  await sendByApi("also only in acme/room", "acme/room");
  await waitForMessage(deep.page, "also only in acme/room");
  // A later message of general reaches its page: one of acme's would have come before it.
  await sendByApi("later, in general", "local/general");
  await waitForMessage(general.page, "later, in general");
  expect((await shownMessages(general.page)).map((m) => m.content)).not.toContain("only in acme/room");
  expect((await shownMessages(general.page)).map((m) => m.content)).not.toContain("also only in acme/room");

  expectClean(problems);
  const missing = await page.goto(`${server.url}/c/nobody/nothing`);
  expect(missing?.status()).toBe(404);
  expect(await page.locator("h1").innerText()).toBe("Not found");
  expect(await page.locator("main").innerText()).toContain("nobody/nothing");
  // Chromium logs the 404 of the document itself; nothing else may appear.
  expect(problems.console).toEqual(["Failed to load resource: the server responded with a status of 404 (Not Found)"]);
  expectClean({ ...problems, console: [] });
  expectClean(general.problems);
  expectClean(deep.problems);
}, 20_000);

test("a long channel shows the newest 50 and loads older ones on scrolling up, in order, without repeats", async () => {
  await createChannel("load/older");
  const label = (i: number) => `older ${String(i).padStart(3, "0")}`;
  for (let i = 1; i <= 120; i++) await sendByApi(label(i), "load/older");

  const { page, problems } = await open("/c/load/older");
  let shown = await shownMessages(page);
  expect(shown.map((m) => m.content)).toEqual(Array.from({ length: 50 }, (_, i) => label(71 + i)));
  expect(await page.evaluate(() => {
    const log = document.getElementById("log")!;
    return log.scrollHeight - log.scrollTop - log.clientHeight;
  })).toBeLessThan(2);

  for (let round = 0; round < 5 && shown.length < 120; round++) {
    const before = shown.length;
    const topId = shown[0]!.id;
    // Measured in the same turn as the scroll, before the loader can fire.
    const offsetBefore = await page.evaluate((id) => {
      const log = document.getElementById("log")!;
      log.scrollTop = 0;
      return document.querySelector(`li.message[data-id="${id}"]`)!.getBoundingClientRect().top - log.getBoundingClientRect().top;
    }, topId);
    await page.waitForFunction((n) => document.querySelectorAll("#messages li.message").length > n, before, { timeout: 5_000 });
    // What the reader was looking at stays in place while older ones load above it.
    const offset = await page.evaluate((id) => {
      const log = document.getElementById("log")!;
      return document.querySelector(`li.message[data-id="${id}"]`)!.getBoundingClientRect().top - log.getBoundingClientRect().top;
    }, topId);
    expect(Math.abs(offset - offsetBefore)).toBeLessThan(60);
    shown = await shownMessages(page);
  }
  expect(shown.map((m) => m.content)).toEqual(Array.from({ length: 120 }, (_, i) => label(i + 1)));
  expect(new Set(shown.map((m) => m.id)).size).toBe(120);
  expect(shown.map((m) => m.id)).toEqual(shown.map((m) => m.id).toSorted());
  expect(await page.locator("#older").count()).toBe(0);
  expectClean(problems);
}, 30_000);

test("at 375 px the sidebar is folded away and the menu opens it; at 1920 px it is always there", async () => {
  const mobile = await open("/c/local/general", { viewport: MOBILE, isMobile: true, hasTouch: true });
  const { page } = mobile;
  const sidebarRight = () => page.evaluate(() => document.getElementById("sidebar")!.getBoundingClientRect().right);
  const sidebarLeft = () => page.evaluate(() => document.getElementById("sidebar")!.getBoundingClientRect().left);
  expect(await sidebarRight()).toBeLessThanOrEqual(0);
  expect(await page.locator("#sidebar").isVisible()).toBe(false);
  expect(await page.locator('#channel-list a[href="/c/local/general"]').isVisible()).toBe(false);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(MOBILE.width);
  const menu = page.locator("#menu");
  expect(await menu.isVisible()).toBe(true);
  expect(await menu.getAttribute("aria-expanded")).toBe("false");
  // The composer is usable at this width.
  const composerBox = (await page.locator("form#composer").boundingBox())!;
  expect(composerBox.x + composerBox.width).toBeLessThanOrEqual(MOBILE.width);
  expect(composerBox.y + composerBox.height).toBeLessThanOrEqual(MOBILE.height);

  await menu.tap();
  await page.waitForFunction(() => document.getElementById("sidebar")!.getBoundingClientRect().left >= 0);
  expect(await sidebarLeft()).toBe(0);
  expect(await page.locator("#sidebar").isVisible()).toBe(true);
  expect(await menu.getAttribute("aria-expanded")).toBe("true");
  const link = page.locator('#channel-list a[href="/c/local/general"]');
  const linkBox = (await link.boundingBox())!;
  expect(linkBox.x).toBeGreaterThanOrEqual(0);
  expect(linkBox.x + linkBox.width).toBeLessThanOrEqual(MOBILE.width);
  // Escape (or a tap beside it) folds it away again.
  await page.keyboard.press("Escape");
  await page.waitForFunction(() => document.getElementById("sidebar")!.getBoundingClientRect().right <= 0);
  await page.locator("#sidebar").waitFor({ state: "hidden" });
  expect(await menu.getAttribute("aria-expanded")).toBe("false");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("menu");
  await menu.tap();
  await page.waitForFunction(() => document.getElementById("sidebar")!.getBoundingClientRect().left >= 0);
  await page.touchscreen.tap(MOBILE.width - 10, MOBILE.height / 2);
  await page.waitForFunction(() => document.getElementById("sidebar")!.getBoundingClientRect().right <= 0);
  expectClean(mobile.problems);

  const desktop = await open("/c/local/general", { viewport: { width: 1920, height: 1080 } });
  const sidebar = (await desktop.page.locator("#sidebar").boundingBox())!;
  expect(sidebar.x).toBe(0);
  expect(sidebar.width).toBeGreaterThan(200);
  expect(await desktop.page.locator("#menu").isVisible()).toBe(false);
  const log = (await desktop.page.locator("#log").boundingBox())!;
  expect(log.x).toBeGreaterThanOrEqual(sidebar.x + sidebar.width);
  expect(log.x + log.width).toBeLessThanOrEqual(1920);
  expect(await desktop.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1920);
  await sendFromPage(desktop.page, "wide screen");
  expectClean(desktop.problems);
}, 20_000);

test("the dark theme follows the system, and the toggle's choice survives a reload", async () => {
  const { page, problems } = await open("/c/local/general", { colorScheme: "dark" });
  expect(luminance(await backgroundOf(page))).toBeLessThan(0.05);
  const text = await page.evaluate(() => getComputedStyle(document.body).color);
  expect(luminance(text)).toBeGreaterThan(0.6);

  await page.locator("#theme-toggle").click();
  expect(luminance(await backgroundOf(page))).toBeGreaterThan(0.9);
  expect(await page.evaluate(() => localStorage.getItem("gitchat-theme"))).toBe("light");
  await page.reload();
  expect(luminance(await backgroundOf(page))).toBeGreaterThan(0.9);

  await page.locator("#theme-toggle").click();
  expect(luminance(await backgroundOf(page))).toBeLessThan(0.05);
  await page.reload();
  expect(luminance(await backgroundOf(page))).toBeLessThan(0.05);
  expectClean(problems);

  // A light system, switched to dark, stays dark.
  const light = await open("/c/local/general", { colorScheme: "light" });
  expect(luminance(await backgroundOf(light.page))).toBeGreaterThan(0.9);
  await light.page.locator("#theme-toggle").click();
  await light.page.reload();
  expect(luminance(await backgroundOf(light.page))).toBeLessThan(0.05);
  expectClean(light.problems);
}, 20_000);

test("screenshots of a channel with a few messages: desktop light and dark, mobile", async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const own = await start();
  await createChannel("acme/design", own.url);
  await createChannel("octo/release-notes", own.url);
  const lines = [
    "Morning! The new build is up on staging.",
    "Checked it: search is much faster now.\nOne thing: the sidebar badge still says 'waiting' after a push.",
    "Good catch, I'll look at the sync badge after lunch.",
    "Long line test: " + "gitchat keeps every message as a file in git, one commit per batch, ".repeat(3),
    "<b>this is not bold</b> and `this is not code`",
  ];
  for (const line of lines) await sendByApi(line, "local/general", own.url);

  for (const [file, options] of [
    ["desktop-light.png", { viewport: DESKTOP, colorScheme: "light" }],
    ["desktop-dark.png", { viewport: DESKTOP, colorScheme: "dark" }],
    ["mobile.png", { viewport: MOBILE, isMobile: true, hasTouch: true, colorScheme: "light", deviceScaleFactor: 2 }],
  ] as const) {
    const { page, problems } = await open("/c/local/general", { ...options, base: own.url });
    await composer(page).fill("Typing a reply…");
    await page.screenshot({ path: join(SCREENSHOTS, file) });
    if (file === "mobile.png") {
      await page.locator("#menu").tap();
      await page.waitForFunction(() => document.getElementById("sidebar")!.getBoundingClientRect().left >= 0);
      await page.waitForFunction(() => getComputedStyle(document.getElementById("sidebar")!).transform === "none");
      await page.screenshot({ path: join(SCREENSHOTS, "mobile-menu.png") });
    }
    expectClean(problems);
  }
}, 30_000);

test("only a window of the conversation stays in the page: at the bottom the oldest are dropped, and scrolling up brings them back", async () => {
  await createChannel("load/window");
  const { page, problems } = await open("/c/load/window");
  const label = (i: number) => `window ${String(i).padStart(3, "0")}`;
  for (let i = 1; i <= 380; i++) await sendByApi(label(i), "load/window");
  await waitForMessage(page, label(380), 10_000);
  const count = () => page.locator("#messages li.message:not(.pending)").count();
  expect(await count()).toBeLessThanOrEqual(350);
  expect(await page.locator("#older").count()).toBe(1);
  // The newest are all there, in order.
  const shown = await shownMessages(page);
  expect(shown.at(-1)!.content).toBe(label(380));
  const before = shown.length;
  await page.evaluate(() => (document.getElementById("log")!.scrollTop = 0));
  await page.waitForFunction((n) => document.querySelectorAll("#messages li.message").length > n, before, { timeout: 5_000 });
  const again = await shownMessages(page);
  expect(again.map((m) => m.id)).toEqual(again.map((m) => m.id).toSorted());
  expect(new Set(again.map((m) => m.id)).size).toBe(again.length);
  expectClean(problems);
}, 60_000);

test("a reader who scrolled up is not pulled down by new messages but shown a marker that takes them there", async () => {
  await createChannel("load/marker");
  for (let i = 1; i <= 80; i++) await sendByApi(`marker ${i}`, "load/marker");
  const { page, problems } = await open("/c/load/marker");
  await page.evaluate(() => (document.getElementById("log")!.scrollTop = 200));
  await page.waitForTimeout(100); // the scroll event settles
  await sendByApi("arrived while reading", "load/marker");
  await waitForMessage(page, "arrived while reading");
  await expect(page.locator("#new-marker").isVisible()).resolves.toBe(true);
  expect(await page.evaluate(() => document.getElementById("log")!.scrollTop)).toBeLessThan(400);
  await page.locator("#new-marker").click();
  expect(
    await page.evaluate(() => {
      const log = document.getElementById("log")!;
      return log.scrollHeight - log.scrollTop - log.clientHeight;
    }),
  ).toBeLessThan(2);
  await expect(page.locator("#new-marker").isVisible()).resolves.toBe(false);
  expectClean(problems);
}, 30_000);

/** WCAG contrast of two `rgb(...)` colours. */
const contrast = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
};

test("text passes WCAG AA contrast (4.5:1) in both themes", async () => {
  await createChannel("look/contrast");
  await sendByApi("contrast check", "look/contrast");
  // Markdown and highlighted code: a link, a quote, inline code, and each kind of token.
  await sendByApi(
    "a [link](https://example.com), `inline code`\n> a quote\n```js\n// a comment\nfunction greet(name) { return console.log(\"hi\", name, 42, true); }\nclass A extends B {}\n```",
    "look/contrast",
  );
  for (const colorScheme of ["light", "dark"] as const) {
    const { page, problems } = await open("/c/look/contrast", { colorScheme });
    await waitForMessage(page, "contrast check");
    const pairs = await page.evaluate(() => {
      const background = (el: Element | null): string => {
        for (let e = el; e; e = e.parentElement) {
          const bg = getComputedStyle(e).backgroundColor;
          if (bg && bg !== "transparent" && !/rgba\(.*,\s*0\)$/.test(bg)) return bg;
        }
        return "rgb(255, 255, 255)";
      };
      const selectors = [
        "body", ".message .author", ".message time", ".message .content", "button.more", ".channels a",
        ".channels .badge", ".section", ".add label", "button.send", ".add button", "#channel-title", "textarea",
        ".content a", ".content blockquote", ".content :not(pre) > code", "pre code", "pre code [class*='hljs-']",
      ];
      return selectors.flatMap((selector) =>
        Array.from(document.querySelectorAll(selector)).map((el) => ({
          selector,
          color: getComputedStyle(el).color,
          background: background(el),
        })),
      );
    });
    expect(pairs.length).toBeGreaterThan(10);
    for (const pair of pairs) {
      const ratio = contrast(pair.color, pair.background);
      if (ratio < 4.5) throw new Error(`${colorScheme}: ${pair.selector} is ${pair.color} on ${pair.background}, ${ratio.toFixed(2)}:1`);
    }
    expectClean(problems);
    await page.context().close();
  }
}, 30_000);

test("with GitHub sync on, the sidebar shows each channel's state and Push now shows a spinner, then the result", async () => {
  const { standInSettings, startGitHub } = await import("../support/github.ts");
  const token = "ghp_pageTestToken000000000000000000000000";
  const github = await startGitHub({ users: [{ login: "alice", token }] });
  try {
    const synced = await startServer({
      dataDir: tempDir(),
      env: {
        ...LOCAL_ONLY,
        ...standInSettings(github, { token }),
      },
    });
    ownServers.push(synced);
    const { page, problems } = await open("/c/alice/chat", { base: synced.url });
    await sendFromPage(page, "to be pushed");
    // Hold the request a moment, so that the spinner can be seen.
    await page.route("**/ui/push", async (route) => {
      await Bun.sleep(600);
      await route.continue();
    });
    await page.locator("button.push").click();
    await page.waitForSelector("#push-spinner", { state: "visible", timeout: 2_000 });
    await page.waitForSelector("#push-result:has-text('in sync')", { timeout: 15_000 });
    await expect(page.locator("#push-result").innerText()).resolves.toContain("Pushed: all 1 channel(s) in sync.");
    await page.waitForSelector("#push-spinner", { state: "hidden", timeout: 5_000 });
    await page.waitForSelector(".channels a[aria-current=page] .badge.ok", { timeout: 10_000 });
    expect(await page.content()).not.toContain(token);
    expectClean(problems);
  } finally {
    await github.stop();
  }
}, 60_000);

test("with ACCESS_TOKEN the page asks to log in, then writes under the name given; logging out ends it", async () => {
  const token = "page-test-access-token-123";
  const locked = await startServer({ dataDir: tempDir(), env: { ...LOCAL_ONLY, ACCESS_TOKEN: token } });
  ownServers.push(locked);
  const { page, problems } = await open(null, { base: locked.url });
  await page.goto(`${locked.url}/c/local/general`);
  expect(new URL(page.url()).pathname).toBe("/login");
  await page.locator("#login-name").fill("Grace Hopper");
  await page.locator("#login-token").fill("wrong-token-wrong-token");
  await page.locator("form.login-form button[type=submit]").click();
  await page.waitForSelector("text=not this gitchat's access token");
  expect(await page.locator("#login-name").inputValue()).toBe("Grace Hopper");
  await page.locator("#login-token").fill(token);
  await page.locator("form.login-form button[type=submit]").click();
  await page.waitForURL(`${locked.url}/c/local/general`);
  await expect(page.locator(".viewer").innerText()).resolves.toContain("Grace Hopper");
  await sendFromPage(page, "signed message");
  await expect(page.locator("#messages li.message .author").last().innerText()).resolves.toBe("Grace Hopper");
  await page.locator(".viewer button[type=submit]").click();
  await page.waitForURL(/\/login$/);
  // The name is remembered for next time.
  expect(await page.locator("#login-name").inputValue()).toBe("Grace Hopper");
  expectClean(problems, /status of 401|Response Status Error Code 401|^Failed to load resource/);
}, 30_000);

test("over the rate limit, sending shows the limit inline with when to try again, and keeps the text", async () => {
  const limited = await startServer({ dataDir: tempDir(), env: { ...LOCAL_ONLY, RATE_LIMIT: "2" } });
  ownServers.push(limited);
  const { page, problems } = await open("/c/local/general", { base: limited.url });
  await sendFromPage(page, "first");
  await sendFromPage(page, "second");
  await composer(page).fill("third, too fast");
  await composer(page).press("Enter");
  await page.waitForSelector("#composer-error:has-text('too many messages')");
  await expect(page.locator("#composer-error").innerText()).resolves.toMatch(/try again in \d+ s/);
  expect(await composer(page).inputValue()).toBe("third, too fast");
  expectClean(problems, FAILED_REQUEST);
}, 30_000);
