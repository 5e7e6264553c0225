/**
 * What a person does to a message on the page, in headless Chromium against
 * gitchat as a real process with two accounts (Ann and Bob, each in their
 * own browser): the action menu by keyboard, mentions, and axe in each new
 * state.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { ROOT, startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "page-actions-access-token";
const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "" };
const PASSWORD = "a password long enough";
const AXE = readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");

let browser: Browser;
let server: RunningServer;
const opened: Watched[] = [];
const links: Record<string, string> = {};

/** The admin (the ACCESS_TOKEN bearer) adds a person; the invite link, on the address the browser uses. */
const invite = async (login: string, name: string) => {
  const response = await fetch(`${server.url}/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ login, name }),
  });
  expect(response.status).toBe(201);
  const { invite_url } = (await response.json()) as { invite_url: string };
  return `${server.url}${new URL(invite_url).pathname}`;
};

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startServer({ dataDir: tempDir(), env: { ...LOCAL_ONLY, ACCESS_TOKEN: TOKEN } })]);
  links.ann = await invite("ann", "Ann");
  links.bob = await invite("bob", "Bob");
}, 40_000);

afterAll(async () => {
  await Promise.all(opened.map((w) => w.context.close().catch(() => {})));
  await browser?.close();
  await server?.stop();
});

/** The person's own browser, signed in (the first time through their invite), at `path`. */
const signedIn = async (login: "ann" | "bob", path: string) => {
  const watched = await openPage(browser, server.url, { viewport: { width: 1280, height: 800 }, permissions: ["clipboard-read", "clipboard-write"] });
  opened.push(watched);
  const { page } = watched;
  if (links[login]!.includes("/invite/")) {
    await page.goto(links[login]!);
    await page.locator("#invite-password").fill(PASSWORD);
    await page.locator("form.login-form button[type=submit]").click();
    await page.waitForURL(`${server.url}/c/local/general`);
    links[login] = "signed up";
  } else {
    await page.goto(`${server.url}/login`);
    await page.locator("#login-login").fill(login);
    await page.locator("#login-password").fill(PASSWORD);
    await page.locator("form.login-form button[type=submit]").click();
    await page.waitForURL(`${server.url}/c/local/general`);
  }
  if (path !== "/c/local/general") await page.goto(server.url + path);
  return watched;
};

const channel = async (fullName: string) => {
  const [owner, name] = fullName.split("/");
  const response = await fetch(`${server.url}/repositories`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ owner, name }),
  });
  expect(response.status).toBe(201);
};

/** Sends from the page's composer; the id of the committed message once the page shows it (as `shown`, when Markdown changes it). */
const say = async (page: Page, content: string, shown = content) => {
  await page.locator("form#composer textarea[name=content]").fill(content);
  await page.locator("form#composer textarea[name=content]").press("Enter");
  const handle = await page.waitForFunction(
    (text) =>
      Array.from(document.querySelectorAll("#messages li.message:not(.pending)"))
        .find((li) => (li.querySelector(".content") as HTMLElement).innerText === text)
        ?.getAttribute("data-id"),
    shown,
  );
  return (await handle.jsonValue()) as string;
};

const item = (page: Page, id: string) => page.locator(`#messages li.message[data-id="${id}"]`);

/** Waits until the other page shows the message with this id. */
const seen = (page: Page, id: string) => item(page, id).waitFor();

const clean = (w: Watched) => ({ console: w.problems.console, pageErrors: w.problems.pageErrors, dialogs: w.problems.dialogs });

/** axe-core's violations on the page as it is now (rule ids with the first offending element). */
const axeViolations = async (page: Page) => {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) does not apply.
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: () => Promise<{ violations: { id: string; nodes: { html: string }[] }[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => `${v.id}: ${v.nodes[0]?.html}`);
  });
};

const menuItems = (page: Page) => page.locator("[role=menu] [role=menuitem]").allInnerTexts();
const focused = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute("data-action") ?? document.activeElement?.className ?? "");

test("each message has one 'More actions' button in the tab order; its menu opens with Enter, moves with the arrows, copies the link and the commit, and Escape closes it", async () => {
  await channel("act/menu");
  const ann = await signedIn("ann", "/c/act/menu");
  const bob = await signedIn("bob", "/c/act/menu");
  const mine = await say(ann.page, "Ann's own message");
  const theirs = await say(bob.page, "Bob's message");
  const { page } = ann;
  await seen(page, theirs);

  // Only the one button of each message takes focus with Tab; the menu's items are not there until it opens.
  const tabbable = await item(page, mine).evaluate((li) =>
    Array.from(li.querySelectorAll<HTMLElement>("a, button, input, textarea, [tabindex]")).filter((el) => el.tabIndex >= 0).map((el) => el.className),
  );
  expect({ tabbable, menus: await page.locator("[role=menu]").count() }).toEqual({ tabbable: ["more"], menus: 0 });

  const more = item(page, mine).locator("button.more");
  await more.focus();
  await page.keyboard.press("Enter");
  const hash = (await item(page, mine).getAttribute("data-hash"))!;
  expect(await menuItems(page)).toEqual(["Copy link to message", `Copy commit ${hash.slice(0, 7)}`, "Reply in thread", "Add a reaction", "Edit", "Delete"]);
  expect({ first: await focused(page), expanded: await more.getAttribute("aria-expanded") }).toEqual({ first: "link", expanded: "true" });
  await page.keyboard.press("ArrowDown");
  expect(await focused(page)).toBe("commit");
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("ArrowUp");
  expect(await focused(page)).toBe("delete");
  await page.keyboard.press("Escape");
  expect({ menus: await page.locator("[role=menu]").count(), focus: await focused(page), expanded: await more.getAttribute("aria-expanded") }).toEqual({
    menus: 0,
    focus: "more",
    expanded: "false",
  });

  // Copy link: the message's permalink; copy commit: the full hash.
  await page.keyboard.press("Enter");
  await page.keyboard.press("Enter");
  await page.waitForFunction((id) => navigator.clipboard.readText().then((text) => text.endsWith(id)), mine);
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${server.url}/c/act/menu#m-${mine}`);
  expect(await focused(page)).toBe("more");
  await page.keyboard.press("Enter");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  await page.waitForFunction((full) => navigator.clipboard.readText().then((text) => text === full), hash);

  // Someone else's message: no edit, no delete.
  await item(page, theirs).locator("button.more").click();
  expect(await menuItems(page)).toEqual(["Copy link to message", `Copy commit ${(await item(page, theirs).getAttribute("data-hash"))!.slice(0, 7)}`, "Reply in thread", "Add a reaction"]);
  expect(await axeViolations(page)).toEqual([]);
  await page.keyboard.press("Escape");
  expect(clean(ann)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 60_000);

test("a message that mentions you is marked for you, with words a screen reader reads; not for others, and never from inside code", async () => {
  await channel("act/mentions");
  const ann = await signedIn("ann", "/c/act/mentions");
  const bob = await signedIn("bob", "/c/act/mentions");
  const id = await say(bob.page, "@ann can you look? (`@bob` is only code)", "@ann can you look? (@bob is only code)");
  await seen(ann.page, id);
  const state = (page: Page) =>
    item(page, id).evaluate((li) => ({
      marked: li.classList.contains("mentioned"),
      badge: (li.querySelector(".mention-mark") as HTMLElement | null)?.innerText ?? null,
      mentions: Array.from(li.querySelectorAll(".content .mention")).map((el) => el.textContent),
      tinted: getComputedStyle(li).backgroundColor !== "rgba(0, 0, 0, 0)",
    }));
  expect(await state(ann.page)).toEqual({ marked: true, badge: "mentions you", mentions: ["@ann"], tinted: true });
  expect(await state(bob.page)).toEqual({ marked: false, badge: null, mentions: ["@ann"], tinted: false });
  expect(await axeViolations(ann.page)).toEqual([]);
}, 60_000);
