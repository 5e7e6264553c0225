/**
 * The settings and members pages in Chromium: a person renames themselves
 * and sees the new name on their next message; makes a personal API token,
 * sees it once, uses it, revokes it; signs another browser out; an admin
 * invites a person, makes them admin, removes them. Each page runs under the
 * CSP with no console error.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "page-settings-access-token";
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

const api = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
};

/** The operator adds a person; the invite link, on the address the browser uses. */
const invite = async (login: string, name: string, role: "member" | "admin" = "member") => {
  const added = await api("POST", "/users", { authorization: `Bearer ${TOKEN}` }, { login, name, role });
  expect(added.status).toBe(201);
  return `${server.url}${new URL(added.body.invite_url).pathname}`;
};

const browserWindow = async () => {
  const watched = await openPage(browser, server.url, { viewport: { width: 1280, height: 800 } });
  opened.push(watched);
  return watched;
};

/** What went wrong in a page, but the browser's own line for each refused request (the page shows those errors itself). */
const unexpected = (problems: Watched["problems"]) => ({
  ...problems,
  console: problems.console.filter((line) => !/^Failed to load resource: the server responded with a status of 4\d\d/.test(line)),
});

/** A new browser that accepts `link` and lands in the chat. */
const accept = async (link: string) => {
  const watched = await browserWindow();
  await watched.page.goto(link);
  await watched.page.locator("#invite-password").fill(PASSWORD);
  await watched.page.locator("form.login-form button[type=submit]").click();
  await watched.page.waitForURL(`${server.url}/c/local/general`);
  return watched;
};

const signIn = async (login: string) => {
  const watched = await browserWindow();
  await watched.page.goto(`${server.url}/login`);
  await watched.page.locator("#login-login").fill(login);
  await watched.page.locator("#login-password").fill(PASSWORD);
  await watched.page.locator("form.login-form button[type=submit]").click();
  await watched.page.waitForURL(`${server.url}/c/local/general`);
  return watched;
};

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

test("a person renames themselves on the settings page, and their next message carries the new name", async () => {
  const { page, problems } = await accept(await invite("ada", "Ada"));
  await page.locator(".account-links a", { hasText: "Settings" }).click();
  await page.waitForURL(`${server.url}/settings`);
  await page.locator("#settings-name").fill("Ada Lovelace");
  await page.locator("button", { hasText: "Save name" }).click();
  await page.waitForFunction(() => (document.getElementById("settings-name") as HTMLInputElement | null)?.defaultValue === "Ada Lovelace");

  // A name the rules refuse: the error beside the form, the name unchanged.
  await page.locator("#settings-name").fill("<b>bold</b>");
  await page.locator("button", { hasText: "Save name" }).click();
  await page.waitForSelector("#name-error:not(:empty)");
  await expect(page.locator("#name-error").innerText()).resolves.toBe("a name must be 1 to 64 characters, without control characters or < >");
  await expect(page.locator("#settings-name").inputValue()).resolves.toBe("Ada Lovelace");

  await page.goto(`${server.url}/c/local/general`);
  await page.locator("#content").fill("after the rename");
  await page.locator("#content").press("Enter");
  expect(await authorShownFor(page, "after the rename")).toBe("Ada Lovelace");
  expect(unexpected(problems)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 60_000);

test("a personal token is shown once, works as a bearer token, and stops working when revoked", async () => {
  const { page, problems } = await accept(await invite("bo", "Bo"));
  await page.goto(`${server.url}/settings`);
  await page.locator("#token-label").fill("deploy script");
  await page.locator("button", { hasText: "Create token" }).click();
  const token = await page.locator("#new-token").inputValue();
  expect(token).toMatch(/^gitchat_[0-9a-f]{12}_[\w-]{43}$/);

  const sent = await api("POST", "/messages", { authorization: `Bearer ${token}` }, { content: "from the script" });
  expect([sent.status, sent.body.author_id]).toEqual([201, "local:bo"]);

  // Shown once: the page opened again lists the token by its label, never its secret.
  await page.goto(`${server.url}/settings`);
  const row = page.locator("#tokens tr", { hasText: "deploy script" });
  await expect(row.locator("td").nth(2).innerText()).resolves.not.toBe("never");
  expect(await page.content()).not.toContain(token);

  await row.locator("button", { hasText: "Revoke" }).click();
  await page.waitForSelector("#tokens tr:has-text('No tokens yet.')");
  expect((await api("GET", "/me", { authorization: `Bearer ${token}` })).status).toBe(401);
  expect(unexpected(problems)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 60_000);

test("a person signs out another of their browsers from the settings page; the wrong current password is refused beside the form", async () => {
  const here = await accept(await invite("cy", "Cy"));
  const there = await signIn("cy");
  const { page } = here;
  await page.goto(`${server.url}/settings`);
  await expect(page.locator("#sessions tbody tr").count()).resolves.toBe(2);
  await expect(page.locator("#sessions tr", { hasText: "This browser" }).count()).resolves.toBe(1);
  await page.locator("#sessions button", { hasText: "Sign out" }).click();
  await page.waitForFunction(() => document.querySelectorAll("#sessions tbody tr").length === 1);

  await there.page.reload();
  await there.page.waitForURL(/\/login\?next=/);
  await page.reload();
  await expect(page.locator("#sessions tbody tr").count()).resolves.toBe(1);

  await page.locator("#settings-current").fill("not my password");
  await page.locator("#settings-password").fill("a brand new password");
  await page.locator("button", { hasText: "Change password" }).click();
  await page.waitForSelector("#password-error:not(:empty)");
  await expect(page.locator("#password-error").innerText()).resolves.toBe("the current password is wrong");
  expect(unexpected(here.problems)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 60_000);

test("an admin invites a person from the members page, makes them admin, and removes them", async () => {
  const admin = await accept(await invite("dee", "Dee", "admin"));
  const { page } = admin;
  await page.locator(".account-links a", { hasText: "Members" }).click();
  await page.waitForURL(`${server.url}/members`);
  await page.locator("#invite-login").fill("eve");
  await page.locator("#invite-name").fill("Eve Example");
  await page.getByRole("button", { name: "Invite", exact: true }).click();
  const link = await page.locator("#invite-link").inputValue();
  expect(link).toMatch(/\/invite\/[\w-]{43}$/);

  // The invited person opens the link in their own browser and is in.
  const eve = await accept(`${server.url}${new URL(link).pathname}`);
  await expect(eve.page.locator(".viewer").innerText()).resolves.toContain("Eve Example");
  await expect(eve.page.locator(".account-links a", { hasText: "Members" }).count()).resolves.toBe(0);

  await page.reload();
  const row = page.locator("#members tr[data-login=eve]");
  await expect(row.locator(".role").innerText()).resolves.toBe("member");
  await row.locator("button", { hasText: "Make admin" }).click();
  await page.waitForSelector("#members tr[data-login=eve] button:has-text('Make member')");
  await expect(page.locator("#members tr[data-login=eve] .role").innerText()).resolves.toBe("admin");
  await eve.page.goto(`${server.url}/members`);
  await eve.page.waitForSelector("#members");

  await page.locator("#members tr[data-login=eve] summary").click();
  await page.locator("#members tr[data-login=eve] button", { hasText: "Remove eve" }).click();
  await page.waitForSelector("#members tr[data-login=eve]", { state: "detached" });
  await eve.page.reload();
  await eve.page.waitForURL(/\/login\?next=/);
  expect(unexpected(admin.problems)).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 60_000);

test("a member is not let into the members page", async () => {
  const { page } = await accept(await invite("fin", "Fin"));
  const response = await page.goto(`${server.url}/members`);
  expect(response?.status()).toBe(403);
}, 60_000);
