/**
 * A private channel in a real browser: Ada makes one from the sidebar; Bo,
 * signed in beside her, sees neither it in his sidebar nor its messages by
 * URL, search, poll or live stream; Ada adds him on its members page, and
 * then he sees it and what is said in it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "page-private-access-token";
const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "" };
const PASSWORD = "a password long enough";

let browser: Browser;
let server: RunningServer;
const opened: Watched[] = [];

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startServer({ dataDir: tempDir(), env: { ...LOCAL_ONLY, ACCESS_TOKEN: TOKEN } })]);
}, 40_000);
afterAll(async () => {
  await Promise.all(opened.map((w) => w.context.close().catch(() => {})));
  await browser?.close();
  await server?.stop();
});

/** A person invited by the operator, signed in in their own browser, on the default channel. */
const signedIn = async (login: string) => {
  const response = await fetch(`${server.url}/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ login }),
  });
  const { invite_url } = (await response.json()) as { invite_url: string };
  const watched = await openPage(browser, server.url, { viewport: { width: 1280, height: 800 } });
  opened.push(watched);
  const { page } = watched;
  await page.goto(`${server.url}${new URL(invite_url).pathname}`);
  await page.locator("#invite-password").fill(PASSWORD);
  await page.locator("form.login-form button[type=submit]").click();
  await page.waitForURL(`${server.url}/c/local/general`);
  return page;
};

const sidebarNames = (page: Page) => page.locator("#channel-list .name").allInnerTexts();

/** What the browser gets for `path` with its own cookie: status, and the messages' contents when it is a JSON list. */
const fetchIn = (page: Page, path: string) =>
  page.evaluate(async (url) => {
    const response = await fetch(url);
    const text = await response.text();
    let contents: string[] | undefined;
    try {
      const body = JSON.parse(text);
      if (Array.isArray(body)) contents = body.map((m: { content: string }) => m.content);
    } catch {}
    return { status: response.status, contents, mentions: text.includes("alpha") };
  }, path);

/** Whether the browser's EventSource for `path` delivers anything before failing (a 404 fails it at once). */
const streamOpens = (page: Page, path: string) =>
  page.evaluate(
    (url) =>
      new Promise<boolean>((resolve) => {
        const source = new EventSource(url);
        source.onopen = () => (source.close(), resolve(true));
        source.onerror = () => (source.close(), resolve(false));
      }),
    path,
  );

const waitForMessage = (page: Page, content: string) =>
  page.waitForFunction(
    (text) => Array.from(document.querySelectorAll("#messages li.message:not(.pending) .content")).some((el) => (el as HTMLElement).innerText === text),
    content,
    { timeout: 15_000 },
  );

test("a private channel is invisible to someone outside it, by sidebar, URL, search, poll and stream, until its creator adds them", async () => {
  const ada = await signedIn("ada");
  const bo = await signedIn("bo");

  // Ada makes a private channel from the sidebar: it is marked with a lock that says so.
  await ada.locator("#new-repository").fill("ada/plans");
  await ada.locator("#new-private").check();
  await ada.locator("#add-repository button[type=submit]").click();
  const entry = ada.locator("#channel-list a", { hasText: "ada/plans" });
  await entry.waitFor();
  expect(await entry.getByRole("img", { name: "Private channel" }).count()).toBe(1);
  await entry.click();
  await ada.waitForURL(`${server.url}/c/ada/plans`);
  await ada.locator("form#composer textarea[name=content]").fill("plan alpha");
  await ada.locator("form#composer textarea[name=content]").press("Enter");
  await waitForMessage(ada, "plan alpha");

  // Bo sees none of it.
  await bo.reload();
  expect(await sidebarNames(bo)).toEqual(["local/general"]);
  const page = await bo.goto(`${server.url}/c/ada/plans`);
  expect(page!.status()).toBe(404);
  expect(await bo.locator("main").innerText()).toContain("There is no channel ada/plans");
  expect(await fetchIn(bo, "/messages?q=alpha")).toEqual({ status: 200, contents: [], mentions: false });
  expect(await fetchIn(bo, "/messages?after=0")).toEqual({ status: 200, contents: [], mentions: false });
  expect((await fetchIn(bo, "/messages?repository=ada/plans")).status).toBe(404);
  expect((await fetchIn(bo, "/c/ada/plans/messages?after=0")).status).toBe(404);
  expect(await streamOpens(bo, "/c/ada/plans/events")).toBe(false);
  const members = await bo.goto(`${server.url}/c/ada/plans/members`);
  expect(members!.status()).toBe(404);

  // Ada opens the members page; an unknown login is refused inline; then she adds Bo.
  await ada.locator("a.members-link").click();
  await ada.waitForURL(`${server.url}/c/ada/plans/members`);
  await ada.locator("#member-login").fill("nobody");
  await ada.locator("#members-panel form.add button[type=submit]").click();
  await ada.locator("#member-error", { hasText: 'there is no account "nobody"' }).waitFor();
  await ada.locator("#member-login").fill("bo");
  await ada.locator("#members-panel form.add button[type=submit]").click();
  await ada.locator(".member-list .member-login", { hasText: "bo" }).waitFor();
  expect(await ada.locator(".member-list .member-login").allInnerTexts()).toEqual(["ada", "bo"]);

  // Now Bo has it: in his sidebar (first: "plan alpha" is unread to him), by URL and by search, and what Ada says next reaches him live.
  await bo.goto(`${server.url}/c/local/general`);
  expect(await sidebarNames(bo)).toEqual(["ada/plans", "local/general"]);
  expect(await fetchIn(bo, "/messages?q=alpha")).toEqual({ status: 200, contents: ["plan alpha"], mentions: true });
  await bo.goto(`${server.url}/c/ada/plans`);
  await waitForMessage(bo, "plan alpha");
  await ada.goto(`${server.url}/c/ada/plans`);
  await ada.locator("form#composer textarea[name=content]").fill("welcome, Bo");
  await ada.locator("form#composer textarea[name=content]").press("Enter");
  await waitForMessage(bo, "welcome, Bo");
}, 90_000);
