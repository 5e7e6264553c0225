/**
 * Unread in headless Chromium against gitchat as a real process, with two
 * signed-in people in two browsers: one posts, the other's sidebar counts it
 * (unread channels first, in bold) and their tab's title says how many; the
 * "New" divider on opening the channel; the title while the tab is hidden;
 * mention notifications, opt-in; a hundred channels of one owner whose names
 * stay readable. Axe finds nothing in these states.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";
import { axeViolations } from "../support/axe.ts";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "page-unread-access-token";
const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "" };
const PASSWORD = "a password long enough";
const operator = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

let browser: Browser;
let server: RunningServer;
const opened: Watched[] = [];

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startServer({ dataDir: tempDir(), env: { ...LOCAL_ONLY, ACCESS_TOKEN: TOKEN } })]);
  for (const name of ["plans", "lounge", "alerts"]) {
    expect((await fetch(`${server.url}/repositories`, { method: "POST", headers: operator, body: JSON.stringify({ owner: "team", name }) })).status).toBe(201);
  }
}, 40_000);
afterAll(async () => {
  await Promise.all(opened.map((w) => w.context.close().catch(() => {})));
  await browser?.close();
  await server?.stop();
});

/** An invited person signed in in a browser of their own, on `path`. */
const signIn = async (login: string, path: string, options: BrowserContextOptions & { init?: () => void } = {}) => {
  const { init, ...contextOptions } = options;
  const response = await fetch(`${server.url}/users`, { method: "POST", headers: operator, body: JSON.stringify({ login, name: login }) });
  expect(response.status).toBe(201);
  const link = `${server.url}${new URL(((await response.json()) as { invite_url: string }).invite_url).pathname}`;
  const watched = await openPage(browser, server.url, { viewport: { width: 1280, height: 800 }, ...contextOptions });
  opened.push(watched);
  if (init) await watched.context.addInitScript(init);
  const { page } = watched;
  await page.goto(link);
  await page.locator("#invite-password").fill(PASSWORD);
  await page.locator("form.login-form button[type=submit]").click();
  await page.waitForURL(`${server.url}/c/local/general`);
  await page.goto(server.url + path);
  return watched;
};

const send = async (page: Page, content: string) => {
  await page.locator("#content").fill(content);
  await page.locator("#content").press("Enter");
  await page.waitForFunction(
    (text) => Array.from(document.querySelectorAll("#messages li.message:not(.pending) .content")).some((el) => (el as HTMLElement).innerText === text),
    content,
    { timeout: 10_000 },
  );
};
const arrived = (page: Page, content: string) =>
  page.waitForFunction(
    (text) => Array.from(document.querySelectorAll("#messages li.message:not(.pending) .content")).some((el) => (el as HTMLElement).innerText === text),
    content,
    { timeout: 15_000 },
  );

/** The sidebar as the reader sees it: each channel's name, with its count when it has one, and "(bold)" for a bold name. */
const sidebar = (page: Page) =>
  page.$$eval("#channel-list a", (links) =>
    links.map((a) => {
      const count = a.querySelector(".count")?.firstChild?.textContent;
      const bold = Number(getComputedStyle(a.querySelector(".repo")!).fontWeight) >= 700;
      return `${a.querySelector(".name")!.textContent}${count ? ` ${count}` : ""}${bold ? " (bold)" : ""}`;
    }),
  );

/** Makes the tab hidden (or visible again) as far as the page can tell. */
const setHidden = (page: Page, hidden: boolean) =>
  page.evaluate((hidden) => {
    Object.defineProperty(document, "visibilityState", { value: hidden ? "hidden" : "visible", configurable: true });
    Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);

/** The signed-in page's unread count of `repository`, as the server keeps it (its own GET /unread). */
const unreadOf = (page: Page, repository: string) =>
  page.evaluate(
    async (name) => ((await (await fetch("/unread")).json()) as { channels: { repository: string; unread: number }[] }).channels.find((c) => c.repository === name)!.unread,
    repository,
  );

/** Waits until the server's count for `repository` is `count` (asked every 200 ms, for up to 15 s). */
const untilUnread = async (page: Page, repository: string, count: number) => {
  let last = -1;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await Bun.sleep(200)) {
    last = await unreadOf(page, repository);
    if (last === count) return;
  }
  throw new Error(`${repository}: ${last} unread, expected ${count}`);
};

const clean = (w: Watched) => ({ console: w.problems.console, pageErrors: w.problems.pageErrors, dialogs: w.problems.dialogs });

test("a message in another channel: the other person's sidebar counts it (first, in bold) and their title says (1); opening it shows New above it and clears both", async () => {
  const ann = await signIn("ann", "/c/team/plans");
  await send(ann.page, "the plan, as it was");
  const bob = await signIn("bob", "/c/team/plans");
  await arrived(bob.page, "the plan, as it was");
  await bob.page.goto(`${server.url}/c/team/lounge`);
  expect(await bob.page.title()).toBe("team/lounge · gitchat");

  await send(ann.page, "bob, the plan changed");
  await bob.page.waitForFunction(() => document.querySelector('#channel-list li[data-channel="team/plans"] .count') !== null, undefined, { timeout: 15_000 });
  expect((await sidebar(bob.page)).slice(0, 2)).toEqual(["team/plans 1 (bold)", "local/general"]);
  await bob.page.waitForFunction(() => document.title === "(1) team/lounge · gitchat", undefined, { timeout: 5_000 });
  expect(await axeViolations(bob.page)).toEqual([]);

  await bob.page.locator('#channel-list a[href="/c/team/plans"]').click();
  await bob.page.waitForURL(`${server.url}/c/team/plans`);
  const list = await bob.page.$$eval("#messages > li", (items) => items.map((li) => (li.classList.contains("divider") ? `-- ${li.textContent} --` : (li.querySelector(".content") as HTMLElement).innerText)));
  expect(list.slice(-3)).toEqual(["the plan, as it was", "-- New --", "bob, the plan changed"]);
  expect(await axeViolations(bob.page)).toEqual([]);
  // Seen: read on the server, so the count and the title clear, and the divider is gone on the next visit.
  await bob.page.waitForFunction(() => document.querySelector('#channel-list li[data-channel="team/plans"] .count') === null, undefined, { timeout: 15_000 });
  expect(await bob.page.title()).toBe("team/plans · gitchat");
  await bob.page.reload();
  expect(await bob.page.locator("#messages li.new-divider").count()).toBe(0);
  expect([clean(ann), clean(bob)]).toEqual([{ console: [], pageErrors: [], dialogs: [] }, { console: [], pageErrors: [], dialogs: [] }]);
}, 90_000);

test("arrivals while the tab is hidden count in its title and stay unread; back in view they are read", async () => {
  const cat = await signIn("cat", "/c/team/lounge");
  const dan = await signIn("dan", "/c/team/lounge");
  await setHidden(dan.page, true);
  await send(cat.page, "anyone here?");
  await arrived(dan.page, "anyone here?");
  await dan.page.waitForFunction(() => document.title === "(1) team/lounge · gitchat", undefined, { timeout: 5_000 });
  expect(await unreadOf(dan.page, "team/lounge")).toBe(1);
  await setHidden(dan.page, false);
  await dan.page.waitForFunction(() => document.title === "team/lounge · gitchat", undefined, { timeout: 5_000 });
  await untilUnread(dan.page, "team/lounge", 0);
}, 90_000);

/** Records every notification the page makes, and every request for the permission, then lets the real ones through. */
function spyOnNotifications() {
  const Real = window.Notification;
  const record = window as unknown as { notes: { title: string; body: string }[]; asked: number };
  record.notes = [];
  record.asked = 0;
  class Spy extends Real {
    constructor(title: string, options?: NotificationOptions) {
      super(title, options);
      record.notes.push({ title, body: options?.body ?? "" });
    }
    static override requestPermission(...args: Parameters<typeof Notification.requestPermission>) {
      record.asked++;
      return Real.requestPermission(...args);
    }
  }
  window.Notification = Spy;
}

test("mention notifications are opt-in by a button: never asked on load, none before opting in, then one for a mention while the tab is hidden, here or in another channel", async () => {
  const eve = await signIn("eve", "/c/team/alerts", { init: spyOnNotifications });
  const fay = await signIn("fay", "/c/team/alerts", { permissions: ["notifications"], init: spyOnNotifications });
  const button = fay.page.locator("#notify");
  expect([await button.isVisible(), await button.getAttribute("aria-pressed"), await fay.page.evaluate(() => (window as unknown as { asked: number }).asked)]).toEqual([true, "false", 0]);
  const notes = () => fay.page.evaluate(() => (window as unknown as { notes: { title: string; body: string }[] }).notes);

  await setHidden(fay.page, true);
  await send(eve.page, "@fay before you opted in");
  await arrived(fay.page, "@fay before you opted in");
  expect(await notes()).toEqual([]);

  await setHidden(fay.page, false);
  await button.click();
  expect(await button.getAttribute("aria-pressed")).toBe("true");
  expect(await axeViolations(fay.page)).toEqual([]);
  await setHidden(fay.page, true);
  await send(eve.page, "no mention here");
  await send(eve.page, "@fay the build is red");
  await arrived(fay.page, "@fay the build is red");
  expect(await notes()).toEqual([{ title: "eve mentioned you in team/alerts", body: "@fay the build is red" }]);
  // In another channel: the sidebar's count of mentions grows, and says where.
  expect(await eve.page.evaluate(async () => (await fetch("/messages", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ repository: "team/lounge", content: "@fay over here too" }) })).status)).toBe(201);
  await fay.page.waitForFunction(() => (window as unknown as { notes: unknown[] }).notes.length === 2, undefined, { timeout: 20_000 });
  expect((await notes())[1]).toEqual({ title: "You were mentioned in team/lounge", body: "Open gitchat to read it" });
  expect(await fay.page.locator('#channel-list li[data-channel="team/lounge"] .mention-count').isVisible()).toBe(true);
  expect(await axeViolations(fay.page)).toEqual([]);

  // Someone whose browser has not granted it: the button asks, and only then.
  await eve.page.locator("#notify").click();
  await eve.page.waitForFunction(() => (window as unknown as { asked: number }).asked === 1);
  expect([clean(eve).pageErrors, clean(fay)]).toEqual([[], { console: [], pageErrors: [], dialogs: [] }]);
}, 90_000);

test("a hundred channels of one long owner: unread first, each name itself readable, the owner cut instead; the filter still finds them", async () => {
  const owner = "acme-corporation-platform-engineering";
  for (let i = 0; i < 100; i++) {
    const response = await fetch(`${server.url}/repositories`, { method: "POST", headers: operator, body: JSON.stringify({ owner, name: `service-${String(i).padStart(3, "0")}` }) });
    expect(response.status).toBe(201);
  }
  const gus = await signIn("gus", "/c/local/general");
  const { page } = gus;
  await fetch(`${server.url}/messages`, { method: "POST", headers: operator, body: JSON.stringify({ repository: `${owner}/service-042`, content: "deploy done" }) });
  await page.waitForFunction((name) => document.querySelector(`#channel-list li[data-channel="${name}"] .count`) !== null, `${owner}/service-042`, { timeout: 15_000 });
  expect((await sidebar(page))[0]).toBe(`${owner}/service-042 1 (bold)`);
  // Every name in sight is whole, and where a row is too narrow it is the owner that is cut.
  const rows = await page.$$eval(`#channel-list li[data-channel^="${owner}/"]`, (items) =>
    items.slice(0, 20).map((li) => {
      const repo = li.querySelector(".repo")!.getBoundingClientRect();
      const owner = li.querySelector(".owner") as HTMLElement;
      const room = li.querySelector(".name")!.getBoundingClientRect();
      return { whole: repo.left >= room.left - 0.5 && repo.right <= room.right + 0.5, ownerCut: owner.scrollWidth > owner.clientWidth };
    }),
  );
  expect(rows.filter((r) => !r.whole || !r.ownerCut)).toEqual([]);
  await page.keyboard.press("Control+k");
  await page.keyboard.type("service-07");
  expect(await page.$$eval("#channel-list li:not([hidden]) .repo", (names) => names.map((n) => n.textContent))).toEqual(
    Array.from({ length: 10 }, (_, i) => `service-07${i}`),
  );
  expect(await axeViolations(page)).toEqual([]);
  expect(clean(gus)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 120_000);

test("opening a channel with more unread than fits: the New divider is in view, and the channel is read only once scrolled to the end", async () => {
  expect((await fetch(`${server.url}/repositories`, { method: "POST", headers: operator, body: JSON.stringify({ owner: "team", name: "busy" }) })).status).toBe(201);
  const hal = await signIn("hal", "/c/team/busy");
  const { page } = hal;
  const post = async (content: string) =>
    expect((await fetch(`${server.url}/messages`, { method: "POST", headers: operator, body: JSON.stringify({ repository: "team/busy", content }) })).status).toBe(201);
  await post("where hal left off");
  await arrived(page, "where hal left off");
  await untilUnread(page, "team/busy", 0);
  await page.goto(`${server.url}/c/local/general`);
  for (let i = 1; i <= 40; i++) await post(`busy ${i}`);

  await page.goto(`${server.url}/c/team/busy`);
  const view = await page.evaluate(() => {
    const log = document.getElementById("log")!.getBoundingClientRect();
    const divider = document.querySelector("#messages li.new-divider")!.getBoundingClientRect();
    const next = document.querySelector("#messages li.new-divider + li.message .content") as HTMLElement;
    return { dividerInView: divider.top >= log.top && divider.bottom <= log.bottom, after: next.innerText };
  });
  expect(view).toEqual({ dividerInView: true, after: "busy 1" });
  // The title counts what was not seen once the page has decided (marking read would have cleared it): not read, the reader has not seen the rest.
  await page.waitForFunction(() => document.title === "(40) team/busy · gitchat", undefined, { timeout: 5_000 });
  expect(await unreadOf(page, "team/busy")).toBe(40);
  await page.evaluate(() => {
    const log = document.getElementById("log")!;
    log.scrollTop = log.scrollHeight;
  });
  await untilUnread(page, "team/busy", 0);
  expect(clean(hal)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 90_000);
