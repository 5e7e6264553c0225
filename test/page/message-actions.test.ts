/**
 * What a person does to a message on the page, in headless Chromium against
 * gitchat as a real process with two accounts (Ann and Bob, each in their
 * own browser): the action menu by keyboard, mentions, and axe in each new
 * state.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { axeViolations } from "../support/axe.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { invite } from "../support/invite.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "page-actions-access-token";
const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "" };
const PASSWORD = "a password long enough";

let browser: Browser;
let server: RunningServer;
const opened: Watched[] = [];
const links: Record<string, string> = {};

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startServer({ dataDir: tempDir(), env: { ...LOCAL_ONLY, ACCESS_TOKEN: TOKEN } })]);
  links.ann = await invite(server.url, TOKEN, "ann", "Ann");
  links.bob = await invite(server.url, TOKEN, "bob", "Bob");
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

/** A new channel, open in Ann's browser and in Bob's. */
const bothAt = async (fullName: string) => {
  await channel(fullName);
  return { ann: await signedIn("ann", `/c/${fullName}`), bob: await signedIn("bob", `/c/${fullName}`) };
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

const menuItems = (page: Page) => page.locator("[role=menu] [role=menuitem]").allInnerTexts();
const focused = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute("data-action") ?? document.activeElement?.className ?? "");

test("each message has one 'More actions' button in the tab order; its menu opens with Enter, moves with the arrows, copies the link and the commit, and Escape closes it", async () => {
  const { ann, bob } = await bothAt("act/menu");
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
  const { ann, bob } = await bothAt("act/mentions");
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

/** Opens a message's menu with the mouse and picks `action`. */
const choose = async (page: Page, id: string, action: string, list = "#messages") => {
  await page.locator(`${list} li.message[data-id="${id}"] button.more`).click();
  await page.locator(`[role=menu] [role=menuitem][data-action="${action}"]`).click();
};

/** The ids of the channel's list, top to bottom, with each one's text. */
const shown = (page: Page) =>
  page.$$eval("#messages li.message:not(.pending)", (items) => items.map((li) => `${li.getAttribute("data-id")}: ${(li.querySelector(".content") as HTMLElement).innerText}`));

test("editing in place: the text becomes a box, Escape cancels, an empty text is refused inline, Enter saves; the other page shows the new text in place, marked (edited)", async () => {
  const { ann, bob } = await bothAt("act/edit");
  const first = await say(ann.page, "before the edit");
  const later = await say(ann.page, "a later message");
  await seen(bob.page, later);
  const { page } = ann;
  const box = item(page, first).locator("form.editor textarea");

  await choose(page, first, "edit");
  expect({ text: await box.inputValue(), focus: await page.evaluate(() => document.activeElement?.tagName) }).toEqual({ text: "before the edit", focus: "TEXTAREA" });
  await box.fill("not this after all");
  await box.press("Escape");
  expect({ editors: await page.locator("form.editor").count(), text: await item(page, first).locator(".content").innerText(), focus: await focused(page) }).toEqual({
    editors: 0,
    text: "before the edit",
    focus: "more",
  });

  await choose(page, first, "edit");
  expect(await axeViolations(page)).toEqual([]);
  await box.fill("   ");
  await box.press("Enter");
  await item(page, first).locator("form.editor .error:not(:empty)").waitFor();
  expect({
    said: await item(page, first).locator("form.editor .error").innerText(),
    kept: await box.inputValue(),
    elsewhere: await item(bob.page, first).locator(".content").innerText(),
  }).toEqual({ said: "content must not be empty", kept: "   ", elsewhere: "before the edit" });

  await box.fill("after the **edit**");
  await box.press("Enter");
  await item(page, first).locator("form.editor").waitFor({ state: "detached" });
  const edited = (p: Page) =>
    item(p, first).evaluate((li) => ({
      text: (li.querySelector(".content") as HTMLElement).innerText,
      mark: (li.querySelector(".edited") as HTMLElement | null)?.innerText ?? null,
      hover: (li.querySelector(".edited") as HTMLElement | null)?.title.startsWith("Edited ") ?? false,
    }));
  expect(await edited(page)).toEqual({ text: "after the edit", mark: "(edited)", hover: true });
  await bob.page.waitForFunction((id) => document.querySelector(`#messages li.message[data-id="${id}"] .edited`) !== null, first);
  expect(await edited(bob.page)).toEqual({ text: "after the edit", mark: "(edited)", hover: true });
  // In its place, once: not dropped as a repeat, not added again at the bottom.
  expect(await shown(bob.page)).toEqual([`${first}: after the edit`, `${later}: a later message`]);
  expect(clean(bob)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 60_000);

test("deleting asks first, then leaves 'message deleted' with its author and time, on the other page too", async () => {
  const { ann, bob } = await bothAt("act/delete");
  const id = await say(ann.page, "soon gone");
  const later = await say(ann.page, "stays");
  await seen(bob.page, later);
  const { page } = ann;

  await choose(page, id, "delete");
  const confirm = item(page, id).locator(".confirm");
  expect({ asked: await confirm.innerText(), focus: await focused(page) }).toEqual({
    asked: expect.stringContaining("Delete this message?") as unknown as string,
    focus: "cancel",
  });
  await page.keyboard.press("Escape");
  expect({ asked: await confirm.count(), text: await item(page, id).locator(".content").innerText() }).toEqual({ asked: 0, text: "soon gone" });

  await choose(page, id, "delete");
  await confirm.locator("button.confirm-delete").click();
  const state = (p: Page) =>
    item(p, id).evaluate((li) => ({
      text: (li.querySelector(".content") as HTMLElement).innerText,
      author: li.querySelector(".author")?.textContent,
      time: li.querySelector("time")?.getAttribute("datetime") !== null,
    }));
  await page.waitForFunction((m) => document.querySelector(`#messages li.message.deleted[data-id="${m}"]`) !== null, id);
  expect(await state(page)).toEqual({ text: "message deleted", author: "Ann", time: true });
  await bob.page.waitForFunction((m) => document.querySelector(`#messages li.message.deleted[data-id="${m}"]`) !== null, id);
  expect(await state(bob.page)).toEqual({ text: "message deleted", author: "Ann", time: true });
  expect(await shown(bob.page)).toEqual([`${id}: message deleted`, `${later}: stays`]);
  // What is left to do with it: copy its link or its commit.
  await item(page, id).locator("button.more").click();
  expect(await menuItems(page)).toEqual(["Copy link to message", expect.stringMatching(/^Copy commit [0-9a-f]{7}$/) as unknown as string]);
}, 60_000);

test("a reply opens the thread panel; the reply stays out of the channel, the parent shows 'N replies' on both pages, and an open panel takes new replies live", async () => {
  const { ann, bob } = await bothAt("act/thread");
  const parent = await say(ann.page, "what do we ship today?");
  await seen(bob.page, parent);

  await choose(bob.page, parent, "reply");
  const panel = bob.page.locator("#thread");
  await panel.waitFor();
  expect({
    parent: await panel.locator(".thread-parent .content").innerText(),
    focus: await bob.page.evaluate(() => document.activeElement?.id),
  }).toEqual({ parent: "what do we ship today?", focus: "thread-content" });
  expect(await axeViolations(bob.page)).toEqual([]);
  await bob.page.locator("#thread-content").fill("the menu and threads");
  await bob.page.locator("#thread-content").press("Enter");
  await panel.locator("#thread-replies li.message", { hasText: "the menu and threads" }).waitFor();

  const count = (p: Page) => item(p, parent).locator("button.replies");
  await count(ann.page).waitFor();
  expect({ ann: await count(ann.page).innerText(), bob: await count(bob.page).innerText() }).toEqual({ ann: "1 reply", bob: "1 reply" });
  expect(await shown(ann.page)).toEqual([`${parent}: what do we ship today?`]);

  await count(ann.page).click();
  const annPanel = ann.page.locator("#thread");
  await annPanel.locator("#thread-replies li.message", { hasText: "the menu and threads" }).waitFor();
  await bob.page.locator("#thread-content").fill("and reactions");
  await bob.page.locator("#thread-content").press("Enter");
  await annPanel.locator("#thread-replies li.message", { hasText: "and reactions" }).waitFor();
  expect(await annPanel.locator("#thread-replies li.message .content").allInnerTexts()).toEqual(["the menu and threads", "and reactions"]);
  await ann.page.waitForFunction((id) => document.querySelector(`#messages li.message[data-id="${id}"] button.replies`)?.textContent === "2 replies", parent);
  expect(await shown(ann.page)).toEqual([`${parent}: what do we ship today?`]);

  // Escape closes it, and focus goes back where it was.
  await ann.page.locator("#thread-close").focus();
  await ann.page.keyboard.press("Escape");
  expect({ open: await annPanel.isVisible(), focus: await focused(ann.page) }).toEqual({ open: false, focus: "replies" });
  expect(clean(ann)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 60_000);

test("reactions: a picked emoji shows as a chip, pressed for who gave it; a click on a chip adds or takes back one's own, live on the other page; a :shortcode: works, and text that is neither is refused inline", async () => {
  const { ann, bob } = await bothAt("act/react");
  const id = await say(ann.page, "react to me");
  await seen(bob.page, id);
  const chips = (p: Page) =>
    item(p, id).locator("button.reaction").evaluateAll((buttons) => buttons.map((b) => `${b.querySelector(".emoji")?.textContent} ${b.querySelector(".count")?.textContent} ${b.getAttribute("aria-pressed")}`));

  await choose(ann.page, id, "react");
  expect(await axeViolations(ann.page)).toEqual([]);
  await item(ann.page, id).locator('button.pick[data-pick="👍"]').click();
  await ann.page.waitForFunction((m) => document.querySelector(`#messages li.message[data-id="${m}"] button.reaction`) !== null, id);
  expect(await chips(ann.page)).toEqual(["👍 1 true"]);
  await bob.page.waitForFunction((m) => document.querySelector(`#messages li.message[data-id="${m}"] button.reaction`) !== null, id);
  expect(await chips(bob.page)).toEqual(["👍 1 false"]);

  await item(bob.page, id).locator("button.reaction").click();
  await bob.page.waitForFunction((m) => document.querySelector(`#messages li.message[data-id="${m}"] button.reaction .count`)?.textContent === "2", id);
  expect(await chips(bob.page)).toEqual(["👍 2 true"]);
  await ann.page.waitForFunction((m) => document.querySelector(`#messages li.message[data-id="${m}"] button.reaction .count`)?.textContent === "2", id);
  expect(await chips(ann.page)).toEqual(["👍 2 true"]);

  await item(ann.page, id).locator("button.reaction").click();
  await bob.page.waitForFunction((m) => document.querySelector(`#messages li.message[data-id="${m}"] button.reaction .count`)?.textContent === "1", id);
  expect({ ann: await chips(ann.page), bob: await chips(bob.page) }).toEqual({ ann: ["👍 1 false"], bob: ["👍 1 true"] });

  await choose(bob.page, id, "react");
  const field = item(bob.page, id).locator(".picker input");
  await field.fill("not an emoji");
  await field.press("Enter");
  await item(bob.page, id).locator(".picker .error:not(:empty)").waitFor();
  expect({ said: await item(bob.page, id).locator(".picker .error").innerText(), chips: await chips(bob.page) }).toEqual({
    said: expect.stringContaining('"not an emoji" is not a reaction') as unknown as string,
    chips: ["👍 1 true"],
  });
  await field.fill(":tada:");
  await field.press("Enter");
  await ann.page.waitForFunction((m) => document.querySelectorAll(`#messages li.message[data-id="${m}"] button.reaction`).length === 2, id);
  expect(await chips(ann.page)).toEqual(["👍 1 false", ":tada: 1 false"]);
  expect(clean(ann)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 60_000);

test("a code message is highlighted in the language it names, when highlight.js knows it", async () => {
  await channel("act/code");
  const send = async (content: string, language: string) => {
    const response = await fetch(`${server.url}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ content, type: "code", language, repository: "act/code" }),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: string }).id;
  };
  const python = await send("def ship(): return True", "python");
  const unknown = await send("def ship(): return True", "no-such-language");
  const { page } = await signedIn("ann", "/c/act/code");
  await seen(page, unknown);
  const look = (id: string) =>
    item(page, id).evaluate((li) => ({ language: li.querySelector("pre code")?.className, keywords: Array.from(li.querySelectorAll(".hljs-keyword")).map((k) => k.textContent) }));
  expect({ python: await look(python), unknown: await look(unknown) }).toEqual({
    python: { language: "hljs language-python", keywords: ["def", "return"] },
    unknown: { language: "hljs", keywords: [] },
  });
}, 60_000);

test("a reply whose answer was lost is stored once when sent again as it was", async () => {
  await channel("act/lost");
  const ann = await signedIn("ann", "/c/act/lost");
  const parent = await say(ann.page, "who takes the pager tonight?");
  await choose(ann.page, parent, "reply");
  await ann.page.locator("#thread:not([hidden]) #thread-content").waitFor();
  // The server stores the reply; its answer never reaches the page.
  let lose = true;
  await ann.page.route("**/c/act/lost/messages", async (route) => {
    if (route.request().method() !== "POST" || !lose) return route.fallback();
    lose = false;
    expect((await route.fetch()).status()).toBe(201);
    await route.abort("connectionreset");
  });
  await ann.page.locator("#thread-content").fill("I do");
  await ann.page.locator("#thread-content").press("Enter");
  await ann.page.waitForFunction(() => /reach the server/.test(document.getElementById("thread-error")!.textContent ?? ""));
  // Sent again, unchanged: the server gives back the reply it stored.
  await ann.page.locator("#thread-content").press("Enter");
  // Answered this time: the box is cleared (the stored reply itself may have come by the live stream before).
  await ann.page.waitForFunction(() => (document.getElementById("thread-content") as HTMLTextAreaElement).value === "");
  await ann.page.locator("#thread-replies li.message", { hasText: "I do" }).waitFor();
  const replies = await fetch(`${server.url}/messages?thread=${parent}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(((await replies.json()) as { content: string }[]).map((m) => m.content)).toEqual(["I do"]);
}, 60_000);
