/**
 * The message list's structure in headless Chromium against gitchat as a
 * real process: one author's run of messages under one header, day dividers
 * in the reader's locale and time zone, live arrivals grouped too, and the
 * message in view staying where it is while older messages load above it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";
import { axeViolations } from "../support/axe.ts";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { runCli, startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = Date.now();

/**
 * A time zone where it is around noon now, so that "an hour ago" is today
 * and "24 hours ago" yesterday whenever the test runs (Etc/GMT-N is UTC+N).
 */
const noonOffset = ((12 - new Date(NOW).getUTCHours() + 36) % 24) - 12;
const ZONE = noonOffset === 0 ? "UTC" : `Etc/GMT${noonOffset > 0 ? "-" : "+"}${Math.abs(noonOffset)}`;

let browser: Browser;
let server: RunningServer;
const opened: Watched[] = [];

/** A Slack export of one channel whose messages were sent `ago` milliseconds before now. */
const slackExport = (messages: { user: string; text: string; ago: number }[]) => {
  const path = join(tempDir("gitchat-slack-"), "export.zip");
  const users = [
    { id: "U01ANN", name: "ann", real_name: "Ann", profile: { display_name: "ann" } },
    { id: "U02BO", name: "bo", real_name: "Bo", profile: { display_name: "bo" } },
  ];
  const entries = messages.map((m, i) => ({ type: "message", user: m.user, text: m.text, ts: `${Math.floor((NOW - m.ago) / 1000)}.${String(i).padStart(6, "0")}` }));
  writeFileSync(
    path,
    zipSync({
      "users.json": strToU8(JSON.stringify(users)),
      "channels.json": strToU8(JSON.stringify([{ id: "C01", name: "days", created: 1704186000, creator: "U01ANN", members: ["U01ANN", "U02BO"] }])),
      "days/2026-01-01.json": strToU8(JSON.stringify(entries)),
    }),
  );
  return path;
};

beforeAll(async () => {
  const dataDir = tempDir();
  const zip = slackExport([
    { user: "U01ANN", text: "three days back", ago: 72 * HOUR },
    { user: "U02BO", text: "a day back", ago: 24 * HOUR },
    { user: "U01ANN", text: "first", ago: 50 * MINUTE },
    { user: "U01ANN", text: "second, two minutes on", ago: 48 * MINUTE },
    { user: "U01ANN", text: "third, eight minutes on", ago: 40 * MINUTE },
    { user: "U02BO", text: "bo answers at once", ago: 39 * MINUTE },
  ]);
  const imported = await runCli(["import", "slack", zip, "--channel", "days=look/days"], { dataDir, env: LOCAL_ONLY });
  expect([imported.code, imported.stdout]).toEqual([0, "#days -> look/days: 6 message(s) imported\n"]);
  [browser, server] = await Promise.all([launchBrowser(), startServer({ dataDir, env: LOCAL_ONLY })]);
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((w) => w.context.close().catch(() => {})));
  await browser?.close();
  await server?.stop();
});

const open = async (path: string, options: BrowserContextOptions = {}) => {
  const watched = await openPage(browser, server.url, { viewport: { width: 1280, height: 800 }, locale: "en-GB", timezoneId: ZONE, ...options });
  opened.push(watched);
  expect((await watched.page.goto(server.url + path))?.status()).toBe(200);
  return watched;
};

const post = async (content: string, repository: string) => {
  const response = await fetch(`${server.url}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content, repository }) });
  expect(response.status).toBe(201);
};

/** The list as a reader sees it: each divider's label, and each message's text with "(grouped)" when it shows no header. */
const structure = (page: Page) =>
  page.$$eval("#messages > li", (items) =>
    items.map((li) =>
      li.classList.contains("divider")
        ? `-- ${li.textContent} --`
        : `${(li.querySelector(".content") as HTMLElement).innerText}${li.classList.contains("grouped") ? " (grouped)" : ""}`,
    ),
  );

const clean = (w: Watched) => ({ console: w.problems.console, pageErrors: w.problems.pageErrors, dialogs: w.problems.dialogs });

test("one author's messages within five minutes share a header; each day opens with a divider in the reader's locale and zone; live arrivals group too", async () => {
  const watched = await open("/c/look/days");
  const { page } = watched;
  const back = new Date(NOW - 72 * HOUR);
  const sameYear = back.getFullYear() === new Date(NOW).getFullYear();
  const longAgo = new Intl.DateTimeFormat("en-GB", { weekday: "long", day: "numeric", month: "long", ...(sameYear ? {} : { year: "numeric" }), timeZone: ZONE }).format(back);
  expect(await structure(page)).toEqual([
    `-- ${longAgo} --`,
    "three days back",
    "-- Yesterday --",
    "a day back",
    "-- Today --",
    "first",
    "second, two minutes on (grouped)",
    "third, eight minutes on",
    "bo answers at once",
  ]);
  // A grouped message hides its header from the eye only: its time shows on hover.
  const second = page.locator("#messages li.message.grouped").first();
  expect(await second.locator(".meta").evaluate((el) => getComputedStyle(el).opacity)).toBe("0");
  await second.hover();
  await page.waitForFunction(() => getComputedStyle(document.querySelector("#messages li.message.grouped .meta")!).opacity === "1");
  expect(await second.locator("time").isVisible()).toBe(true);

  await post("live one", "look/days");
  await post("live two", "look/days");
  await page.waitForFunction(() => document.querySelectorAll("#messages li.message:not(.pending)").length === 8, undefined, { timeout: 15_000 });
  expect((await structure(page)).slice(-3)).toEqual(["bo answers at once", "live one", "live two (grouped)"]);
  expect(await axeViolations(page)).toEqual([]);
  expect(clean(watched)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 60_000);

test("loading older messages above keeps the message in view where it was", async () => {
  await fetch(`${server.url}/repositories`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ owner: "look", name: "long" }) });
  for (let i = 1; i <= 160; i++) await post(`line ${i}`, "look/long");
  const watched = await open("/c/look/long");
  const { page } = watched;
  expect(await page.locator("#messages li.message").count()).toBe(50);
  // Scrolled to the top, the loader comes into view: the first message in view is measured in the same turn.
  const before = await page.evaluate(() => {
    const log = document.getElementById("log")!;
    log.scrollTop = 0;
    const top = log.getBoundingClientRect().top;
    const first = Array.from(document.querySelectorAll<HTMLElement>("#messages li.message")).find((li) => li.getBoundingClientRect().bottom > top)!;
    return { id: first.dataset.id!, offset: first.getBoundingClientRect().top - top };
  });
  await page.waitForFunction(() => document.querySelectorAll("#messages li.message").length === 100, undefined, { timeout: 15_000 });
  // Two frames: whatever the page does after the swap has been laid out and painted.
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const after = await page.evaluate((id) => {
    const log = document.getElementById("log")!;
    return document.querySelector(`#messages li[data-id="${id}"]`)!.getBoundingClientRect().top - log.getBoundingClientRect().top;
  }, before.id);
  expect(Math.abs(after - before.offset)).toBeLessThanOrEqual(3);
  // The message that headed the first batch now follows its author's run.
  expect(await page.locator(`#messages li[data-id="${before.id}"]`).evaluate((li) => li.classList.contains("grouped"))).toBe(true);
  expect(clean(watched)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 90_000);
