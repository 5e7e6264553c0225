/**
 * What a person noticed on the page and should no longer: the "New messages"
 * marker after loading older ones, a sliver of a spinner, focus left behind
 * the mobile drawer, a push error hiding the channel's name, drafts lost on a
 * reload. In headless Chromium against gitchat as a real process.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, BrowserContextOptions } from "playwright-core";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { standInSettings, startGitHub } from "../support/github.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };
const MOBILE = { viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true };

let browser: Browser;
let server: RunningServer;
const opened: Watched[] = [];
const servers: RunningServer[] = [];
const stopLater: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startServer({ dataDir: tempDir(), env: LOCAL_ONLY })]);
}, 40_000);

afterAll(async () => {
  await Promise.all(opened.map((w) => w.context.close().catch(() => {})));
  await browser?.close();
  await Promise.all([server, ...servers].map((s) => s?.stop()));
  await Promise.all(stopLater.map((stop) => stop()));
});

const open = async (path: string, options: BrowserContextOptions & { base?: string } = {}) => {
  const { base = server.url, ...contextOptions } = options;
  const watched = await openPage(browser, base, { viewport: { width: 1280, height: 800 }, ...contextOptions });
  opened.push(watched);
  const response = await watched.page.goto(base + path);
  expect(response?.status()).toBe(200);
  return watched;
};

const post = async (path: string, body: unknown, base = server.url) => {
  const response = await fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(response.status).toBe(201);
};

const clean = (w: Watched) => ({ console: w.problems.console, pageErrors: w.problems.pageErrors, dialogs: w.problems.dialogs });

test("loading older messages shows a whole spinner, and no 'New messages' marker when nothing new came", async () => {
  await post("/repositories", { owner: "look", name: "older" });
  for (let i = 1; i <= 120; i++) await post("/messages", { content: `older ${i}`, repository: "look/older" });
  const watched = await open("/c/look/older");
  const { page } = watched;
  const spinner = (await page.locator("#older .spinner").boundingBox())!;
  expect({ width: spinner.width >= 12, height: spinner.height >= 12 }).toEqual({ width: true, height: true });
  await page.evaluate(() => (document.getElementById("log")!.scrollTop = 0));
  await page.waitForFunction(() => document.querySelectorAll("#messages li.message").length > 50, undefined, { timeout: 5_000 });
  expect(await page.locator("#new-marker").isVisible()).toBe(false);
  expect(clean(watched)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 30_000);

test("at 375 px, focus moves into the opened drawer and back to the menu when it closes", async () => {
  const watched = await open("/c/local/general", MOBILE);
  const { page } = watched;
  await page.locator("#menu").tap();
  await page.waitForFunction(() => document.getElementById("sidebar")!.contains(document.activeElement));
  expect(await page.evaluate(() => document.activeElement?.getAttribute("href"))).toBe("/c/local/general");
  await page.touchscreen.tap(360, 400);
  await page.waitForFunction(() => document.activeElement?.id === "menu");
  expect(clean(watched)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 30_000);

test("a draft stays with its channel across a reload and a switch of channel, and goes once sent; the composer has focus on load", async () => {
  await post("/repositories", { owner: "look", name: "drafts" });
  const watched = await open("/c/local/general");
  const { page } = watched;
  const box = page.locator("#content");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("content");
  await box.pressSequentially("half a thought");
  await page.reload();
  expect(await box.inputValue()).toBe("half a thought");
  await page.goto(`${server.url}/c/look/drafts`);
  expect(await box.inputValue()).toBe("");
  await box.pressSequentially("another channel's draft");
  await page.goto(`${server.url}/c/local/general`);
  expect(await box.inputValue()).toBe("half a thought");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("content");
  await box.press("Enter");
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll("#messages li.message:not(.pending) .content")).some((el) => (el as HTMLElement).innerText === "half a thought"),
  );
  await page.reload();
  expect(await box.inputValue()).toBe("");
  await page.goto(`${server.url}/c/look/drafts`);
  expect(await box.inputValue()).toBe("another channel's draft");
  expect(clean(watched)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 30_000);

test("at 375 px a failed push's error stays on one line and the channel's name stays in sight", async () => {
  const token = "ghp_polishTestToken00000000000000000000000";
  const github = await startGitHub({ users: [{ login: "alice", token }] });
  // The server's token is not one GitHub knows: every push fails, with its reason.
  const synced = await startServer({ dataDir: tempDir(), env: { ...LOCAL_ONLY, ...standInSettings(github, { token: `${token.slice(0, -4)}nope` }) } });
  servers.push(synced);
  stopLater.push(() => github.stop());
  await post("/messages", { content: "waiting to be pushed" }, synced.url);
  const watched = await open("/c/alice/chat", { base: synced.url, ...MOBILE });
  const { page } = watched;
  await page.locator("button.push").tap();
  await page.waitForFunction(() => (document.getElementById("push-result")?.textContent ?? "").length > 40, undefined, { timeout: 30_000 });
  const layout = await page.evaluate(() => {
    const title = document.getElementById("channel-title")!.getBoundingClientRect();
    const result = document.getElementById("push-result")!.getBoundingClientRect();
    const bar = document.querySelector(".topbar")!.getBoundingClientRect();
    return { titleWidth: title.width, resultLines: Math.round(result.height / 16), barHeight: bar.height, pageWidth: document.documentElement.scrollWidth };
  });
  expect({
    titleShown: layout.titleWidth >= 100,
    oneLine: layout.resultLines <= 1,
    barLow: layout.barHeight <= 64,
    noSideScroll: layout.pageWidth <= 375,
  }).toEqual({ titleShown: true, oneLine: true, barLow: true, noSideScroll: true });
}, 60_000);

test("the page has an icon and a web manifest; /favicon.ico finds the icon", async () => {
  const icon = await fetch(`${server.url}/favicon.ico`);
  expect({ status: icon.status, type: icon.headers.get("content-type"), url: new URL(icon.url).pathname }).toEqual({
    status: 200,
    type: "image/svg+xml",
    url: "/assets/icon.svg",
  });
  const manifest = (await (await fetch(`${server.url}/assets/manifest.webmanifest`)).json()) as { name: string; start_url: string; icons: { src: string }[] };
  expect({ name: manifest.name, start: manifest.start_url, icon: manifest.icons[0]!.src }).toEqual({ name: "gitchat", start: "/", icon: "/assets/icon.svg" });
  const watched = await open("/c/local/general");
  const links = await watched.page.evaluate(() => ({
    icon: document.querySelector<HTMLLinkElement>("link[rel=icon]")?.href,
    manifest: document.querySelector<HTMLLinkElement>("link[rel=manifest]")?.href,
  }));
  expect(links).toEqual({ icon: `${server.url}/assets/icon.svg`, manifest: `${server.url}/assets/manifest.webmanifest` });
  expect(clean(watched)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 30_000);

test("Ctrl+K goes to the channel filter, which narrows the list as one types; Enter opens the first match", async () => {
  for (const name of ["alpha-team", "beta-team", "gamma"]) await post("/repositories", { owner: "find", name });
  const watched = await open("/c/local/general");
  const { page } = watched;
  await page.keyboard.press("Control+k");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("channel-filter");
  await page.keyboard.type("team");
  const visible = () => page.$$eval("#channel-list li:not([hidden]) .name", (names) => names.map((n) => n.textContent));
  expect(await visible()).toEqual(["find/alpha-team", "find/beta-team"]);
  await page.keyboard.type(" ");
  await page.keyboard.press("Backspace");
  await page.keyboard.press("Enter");
  await page.waitForURL(`${server.url}/c/find/alpha-team`);
  expect(clean(watched)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 30_000);

test("when the live connection drops the page says Reconnecting…, and says when it is back", async () => {
  const dataDir = tempDir();
  const first = await startServer({ dataDir, env: LOCAL_ONLY });
  const port = new URL(first.url).port;
  const watched = await open("/c/local/general", { base: first.url });
  const { page } = watched;
  await page.waitForFunction(() => document.getElementById("connection")!.hidden);
  first.proc.kill(9);
  await first.proc.exited;
  await page.waitForFunction(() => document.getElementById("connection")!.textContent === "Reconnecting…", undefined, { timeout: 15_000 });
  const again = await startServer({ dataDir, env: { ...LOCAL_ONLY, PORT: port } });
  servers.push(again);
  await page.waitForFunction(() => document.getElementById("connection")!.textContent === "Connected again.", undefined, { timeout: 20_000 });
  await page.waitForFunction(() => document.getElementById("connection")!.hidden, undefined, { timeout: 5_000 });
}, 60_000);

test("a message shows its clock time, and its full date and time on hover", async () => {
  await post("/repositories", { owner: "look", name: "times" });
  await post("/messages", { content: "what time is it", repository: "look/times" });
  const watched = await open("/c/look/times", { locale: "en-GB", timezoneId: "UTC" });
  const time = watched.page.locator("#messages li.message time").first();
  const datetime = new Date((await time.getAttribute("datetime"))!);
  const clock = `${String(datetime.getUTCHours()).padStart(2, "0")}:${String(datetime.getUTCMinutes()).padStart(2, "0")}`;
  expect(await time.textContent()).toBe(clock);
  const day = new Intl.DateTimeFormat("en-GB", { dateStyle: "full", timeZone: "UTC" }).format(datetime);
  expect((await time.getAttribute("title"))!.startsWith(day)).toBe(true);
}, 30_000);
