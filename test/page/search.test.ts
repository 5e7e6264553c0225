/**
 * Search on the page and links to messages, in headless Chromium against
 * gitchat as a real process: the box (and "/"), results with channel, author,
 * time and the words marked (user text staying text), a result opening its
 * message in context, a cold-loaded link to a message far back, Escape, and
 * axe with the results open.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { Browser, BrowserContextOptions } from "playwright-core";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { ROOT, startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };
const HOSTILE = '<img src=x onerror="alert(1)"> needle <b>bold</b>';

let browser: Browser;
let server: RunningServer;
const opened: Watched[] = [];
/** The messages of look/search by content. */
const ids = new Map<string, string>();

const post = async (path: string, body: Record<string, unknown>) => {
  const response = await fetch(server.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; content: string };
};

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startServer({ dataDir: tempDir(), env: LOCAL_ONLY })]);
  await post("/repositories", { owner: "look", name: "search" });
  // The needle first, then enough after it that it is more than two pages (of 50) back.
  for (const content of ["the needle in the haystack", HOSTILE, ...Array.from({ length: 130 }, (_, i) => `filler ${i + 1}`)]) {
    const m = await post("/messages", { content, repository: "look/search" });
    ids.set(content, m.id);
  }
  await post("/messages", { content: "a needle in general too" });
}, 120_000);

afterAll(async () => {
  await Promise.all(opened.map((w) => w.context.close().catch(() => {})));
  await browser?.close();
  await server?.stop();
});

const open = async (path: string, options: BrowserContextOptions = {}) => {
  const watched = await openPage(browser, server.url, { viewport: { width: 1280, height: 800 }, ...options });
  opened.push(watched);
  const response = await watched.page.goto(server.url + path);
  expect(response?.status()).toBe(200);
  return watched;
};

const clean = (w: Watched) => ({ console: w.problems.console, pageErrors: w.problems.pageErrors, dialogs: w.problems.dialogs });

/** Searches from the box and waits for the answer to be shown (the previous one is cleared first). */
const search = async (w: Watched, q: string) => {
  await w.page.evaluate(() => {
    document.getElementById("search-summary")!.textContent = "";
    document.getElementById("search-results")!.textContent = "";
  });
  await w.page.locator("#search-box").fill(q);
  await w.page.locator("#search-box").press("Enter");
  await w.page.waitForFunction(
    () => !document.getElementById("search-panel")!.hidden && (document.getElementById("search-summary")!.textContent !== "" || document.getElementById("search-results")!.childElementCount > 0),
  );
};

/** Whether the message is in the list, marked, and inside the visible part of the scrolled log. */
const shownAndMarked = (w: Watched, id: string) =>
  w.page.evaluate((id) => {
    const li = document.getElementById(`m-${id}`);
    const log = document.getElementById("log")!.getBoundingClientRect();
    const box = li?.getBoundingClientRect();
    return { marked: li?.classList.contains("highlighted") ?? false, inView: !!box && box.top >= log.top && box.bottom <= log.bottom };
  }, id);

test("searching from the box lists results newest first with channel, author, time and the words marked, user text kept as text", async () => {
  const watched = await open("/c/local/general", { locale: "en-GB", timezoneId: "UTC" });
  const { page } = watched;
  await search(watched, "needle");
  // The reader's own date and clock (here en-GB, UTC).
  const local = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });
  await page.waitForFunction(() => !document.querySelector("#search-results time")!.textContent!.endsWith("UTC"));
  const results = await page.$$eval("#search-results li.result", (items) =>
    items.map((li) => ({
      channel: li.querySelector(".result-channel")?.textContent,
      author: li.querySelector(".author")?.textContent,
      time: [li.querySelector("time")!.getAttribute("datetime"), li.querySelector("time")!.textContent],
      text: li.querySelector(".snippet")?.textContent,
      marks: Array.from(li.querySelectorAll("mark")).map((m) => m.textContent),
    })),
  );
  const times = results.map((r) => r.time[1]);
  expect(times).toEqual(results.map((r) => local.format(new Date(r.time[0]!))));
  expect(results.map(({ time: _, ...rest }) => rest)).toEqual([
    { channel: "local/general", author: "local", text: "a needle in general too", marks: ["needle"] },
    { channel: "look/search", author: "local", text: HOSTILE, marks: ["needle"] },
    { channel: "look/search", author: "local", text: "the needle in the haystack", marks: ["needle"] },
  ]);
  expect(await page.locator("#search-panel img, #search-panel b").count()).toBe(0);
  expect(await page.locator("#search-summary").textContent()).toBe("3 messages match needle.");
  expect(clean(watched)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 30_000);

test("operators work in the box as in the API; a bad one shows its reason", async () => {
  const watched = await open("/c/local/general");
  const { page } = watched;
  await search(watched, "needle in:look/search has:link");
  expect(await page.locator("#search-summary").textContent()).toBe("No messages match needle in:look/search has:link.");
  await search(watched, "needle in:search");
  expect(await page.$$eval("#search-results .result-channel", (els) => els.map((e) => e.textContent))).toEqual(["look/search", "look/search"]);
  await search(watched, "before:notadate");
  expect(await page.locator("#search-results [role=alert]").textContent()).toBe('before: takes a date as YYYY-MM-DD (before:2026-01-31), not "notadate"');
  expect(clean(watched).pageErrors).toEqual([]);
}, 30_000);

test("results come 20 at a time, newest first; 'Older results' adds the next 20 below", async () => {
  const watched = await open("/c/local/general");
  const { page } = watched;
  await search(watched, "filler");
  expect(await page.locator("#search-summary").textContent()).toBe("The newest 20 messages matching filler.");
  await page.locator("#search-results li.more button").click();
  await page.waitForFunction(() => document.querySelectorAll("#search-results li.result").length === 40);
  const numbers = await page.$$eval("#search-results li.result .snippet", (els) => els.map((e) => Number(e.textContent!.slice(7))));
  expect(numbers).toEqual(Array.from({ length: 40 }, (_, i) => 130 - i));
  expect(await page.locator("#search-results li.more").count()).toBe(1);
}, 30_000);

test("a search of nothing says what the box takes", async () => {
  const watched = await open("/c/local/general");
  await search(watched, '""');
  expect(await watched.page.locator("#search-summary").textContent()).toStartWith("Type words to search for");
  expect(await watched.page.locator("#search-results li").count()).toBe(0);
}, 30_000);

test("'/' goes to the search box when not typing, and types a '/' in the composer; Escape closes the results", async () => {
  const watched = await open("/c/local/general");
  const { page } = watched;
  await page.keyboard.press("/");
  expect({ focus: await page.evaluate(() => document.activeElement?.id), composer: await page.locator("#content").inputValue() }).toEqual({ focus: "content", composer: "/" });
  await page.locator("#content").fill("");
  await page.locator("#channel-title").click();
  await page.keyboard.press("/");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("search-box");
  await page.keyboard.type("haystack");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelectorAll("#search-results li.result").length === 1);
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => document.activeElement?.closest("#search-panel") !== null)).toBe(true);
  await page.keyboard.press("Escape");
  expect({ hidden: await page.locator("#search-panel").isHidden(), focus: await page.evaluate(() => document.activeElement?.id) }).toEqual({ hidden: true, focus: "search-box" });
}, 30_000);

test("opening a result loads its message in context, far back in another channel, and marks it", async () => {
  const watched = await open("/c/local/general");
  const { page } = watched;
  await search(watched, "haystack");
  await page.locator("#search-results a.result-link").click();
  const id = ids.get("the needle in the haystack")!;
  await page.waitForURL(`${server.url}/c/look/search#m-${id}`);
  await page.waitForFunction((id) => document.getElementById(`m-${id}`)?.classList.contains("highlighted"), id);
  expect(await shownAndMarked(watched, id)).toEqual({ marked: true, inView: true });
  // In context: the message after it is there too.
  expect(await page.locator(`#m-${ids.get(HOSTILE)}`).count()).toBe(1);
  expect(clean(watched)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 30_000);

test("a result in the channel already open moves the list to its message without a new page, the second time too", async () => {
  const watched = await open("/c/look/search");
  const { page } = watched;
  await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));
  const id = ids.get("the needle in the haystack")!;
  for (const time of [1, 2]) {
    await page.evaluate(() => (document.getElementById("log")!.scrollTop = 1e9));
    await search(watched, "haystack");
    await page.locator("#search-results a.result-link").click();
    await page.waitForFunction((id) => document.getElementById(`m-${id}`)?.classList.contains("highlighted"), id);
    const focus = await page.evaluate(() => document.activeElement?.id);
    const panelClosed = await page.locator("#search-panel").isHidden();
    expect({ time, focus, panelClosed, ...(await shownAndMarked(watched, id)) }).toEqual({ time, focus: `m-${id}`, panelClosed: true, marked: true, inView: true });
  }
  expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
}, 30_000);

test("a link to a message two pages back opens from a cold load around it, marked; scrolling down brings the newer ones up to the newest", async () => {
  const id = ids.get("filler 20")!;
  const watched = await open(`/c/look/search#m-${id}`);
  const { page } = watched;
  await page.waitForFunction((id) => document.getElementById(`m-${id}`)?.classList.contains("highlighted"), id);
  expect(await shownAndMarked(watched, id)).toEqual({ marked: true, inView: true });
  expect(await page.evaluate(() => document.activeElement?.id)).toBe(`m-${id}`);
  // Scrolled to the end of the window, the next messages load below and the reader stays where they were.
  const last = await page.$$eval("#messages li.message", (els) => els[els.length - 1]!.id);
  const count = await page.locator("#messages li.message").count();
  await page.evaluate(() => (document.getElementById("log")!.scrollTop = 1e9));
  await page.waitForFunction((count) => document.querySelectorAll("#messages li.message").length > count, count);
  expect(
    await page.evaluate((last) => {
      const log = document.getElementById("log")!.getBoundingClientRect();
      const box = document.getElementById(last)!.getBoundingClientRect();
      return box.bottom > log.top && box.top < log.bottom;
    }, last),
  ).toBe(true);
  const newest = ids.get("filler 130")!;
  for (let i = 0; i < 10 && (await page.locator(`#m-${newest}`).count()) === 0; i++) {
    await page.evaluate(() => (document.getElementById("log")!.scrollTop = 1e9));
    await page.waitForTimeout(300);
  }
  const shown = await page.$$eval("#messages li.message .content", (els) => els.map((e) => e.textContent!.trim()));
  const fillers = shown.filter((c) => c.startsWith("filler ")).map((c) => Number(c.slice(7)));
  // Every message from the window on, once each, in order, to the newest; no "New messages" marker for them.
  expect(fillers.slice(fillers.indexOf(20))).toEqual(Array.from({ length: 111 }, (_, i) => i + 20));
  expect(await page.locator("#new-marker").isVisible()).toBe(false);
  expect(clean(watched)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 60_000);

test("a link to a message the channel does not hold says so", async () => {
  const watched = await open(`/c/local/general#m-${ids.get("filler 20")}`);
  await watched.page.waitForFunction(() => !document.getElementById("jump-status")!.hidden);
  expect(await watched.page.locator("#jump-status").textContent()).toBe("That message is not in this channel.");
}, 30_000);

test("axe finds no violations with search results open, in both themes", async () => {
  const watched = await open("/c/local/general");
  const { page } = watched;
  await search(watched, "needle");
  // Evaluated by the test's own channel to the browser, which the page's CSP (rightly) does not let a script tag do.
  await page.evaluate(await Bun.file(join(ROOT, "node_modules", "axe-core", "axe.min.js")).text());
  for (const theme of ["light", "dark"]) {
    await page.evaluate((theme) => document.documentElement.setAttribute("data-theme", theme), theme);
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: { run: (c: unknown) => Promise<{ violations: { id: string; nodes: unknown[] }[] }> } }).axe.run(document);
      return result.violations.map((v) => `${v.id} (${v.nodes.length})`);
    });
    expect({ theme, violations }).toEqual({ theme, violations: [] });
  }
}, 60_000);
