/**
 * scripts/screenshots.ts: the page's screenshots in docs/, made from a real
 * conversation on a real server process, in Chromium: each state of the page
 * at 1280 px and at 375 px, in the light and the dark theme.
 *
 *   bun scripts/screenshots.ts            (writes docs/screenshots/*.png and docs/screenshot.png)
 *
 * Three people (Ada, an admin; Bo; Cy) talk in a few channels: a deploy, a
 * code snippet, a thread, reactions, an edit and a deleted message.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openPage } from "../test/support/browser.ts";
import { ROOT, startServer, type RunningServer } from "../test/support/server.ts";
import { png } from "../test/support/png.ts";

const TOKEN = "screenshots-access-token";
const PASSWORD = "a password long enough";
const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "" };
const OUT = join(ROOT, "docs", "screenshots");

type Sent = { id: string };

const api = async (server: RunningServer, token: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? undefined : response.json();
};

/** The people, each with an invite (to sign in in a browser) and a token (to talk through the API). */
const people = async (server: RunningServer) => {
  const made: Record<string, { token: string; invite: string }> = {};
  for (const [login, name, role] of [["ada", "Ada Lovelace", "admin"], ["bo", "Bo Chen", "member"], ["cy", "Cy Okafor", "member"]] as const) {
    const user = (await api(server, TOKEN, "POST", "/users", { login, name, role })) as { invite_url: string };
    const { token } = (await api(server, TOKEN, "POST", `/users/${login}/tokens`, { label: "screenshots" })) as { token: string };
    made[login] = { token, invite: user.invite_url };
  }
  return made;
};

/** A morning's conversation: what a team moving from Slack would write. */
const converse = async (server: RunningServer, as: Record<string, { token: string }>) => {
  const say = (who: string, content: string, extra: Record<string, unknown> = {}) =>
    api(server, as[who]!.token, "POST", "/messages", { content, ...extra }) as Promise<Sent>;
  for (const name of ["ops", "design", "releases", "random"]) await api(server, as.ada!.token, "POST", "/repositories", { owner: "acme", name });
  await say("ada", "Morning! The **2.4 release** goes out at 11:00 UTC. Checklist is in https://example.com/wiki/release");
  const question = await say("bo", "Do we still need the manual cache flush after the deploy?");
  await say("cy", "Only for the edge nodes, I think. @ada knows for sure.", { reply_to: question.id });
  await say("ada", "Yes for edge. The script does the rest now.", { reply_to: question.id });
  const snippet = await say("cy", "Here is the flush, for whoever runs it:\n```sh\nfor node in $(cat edge-nodes.txt); do\n  curl -X POST \"https://$node/cache/flush\" -H \"Authorization: Bearer $TOKEN\"\ndone\n```");
  await api(server, as.bo!.token, "PUT", `/messages/${snippet.id}/reactions/${encodeURIComponent("🙏")}`);
  await api(server, as.ada!.token, "PUT", `/messages/${snippet.id}/reactions/${encodeURIComponent("👍")}`);
  const typo = await say("bo", "I'll run it at 11:15, after the smoke tests pas");
  await api(server, as.bo!.token, "PATCH", `/messages/${typo.id}`, { content: "I'll run it at 11:15, after the smoke tests pass." });
  const oops = await say("cy", "wrong channel, sorry");
  await api(server, as.cy!.token, "DELETE", `/messages/${oops.id}`);
  const done = await say("ada", "Deploy went out fine ✅ Thanks all!");
  for (const who of ["bo", "cy"]) await api(server, as[who]!.token, "PUT", `/messages/${done.id}/reactions/${encodeURIComponent("🎉")}`);
  await say("bo", "Design review moved to Thursday.", { repository: "acme/design" });
  // Files: an image shown in the page, a file to download.
  const form = new FormData();
  form.append("content", "Latency after the deploy, and the raw numbers:");
  form.append("file", new File([chart(960, 540)], "latency-p99.png", { type: "image/png" }));
  form.append("file", new File(["run,p50,p99\n1,2.1,9.8\n2,2.0,7.4\n"], "load-test-results.csv", { type: "text/csv" }));
  const sent = await fetch(`${server.url}/messages`, { method: "POST", headers: { authorization: `Bearer ${as.bo!.token}` }, body: form });
  if (sent.status !== 201) throw new Error(`a message with files: ${sent.status} ${await sent.text()}`);
  return { question, snippet };
};

/** A PNG of a few coloured bars, as a chart might look. */
const chart = (width: number, height: number) => {
  const bars = [0.35, 0.6, 0.45, 0.8, 0.7, 0.95];
  return png(width, height, (x, y) => {
    const bar = Math.floor((x / width) * bars.length);
    return x % Math.floor(width / bars.length) > 8 && y > height * (1 - bars[bar]!) ? [9, 105, 218] : [246, 248, 250];
  });
};

/** Opens the action menu of the last message by `author` (its "More actions" button). */
const menuOf = async (page: Page, author: string) => {
  const message = page.locator("#messages li.message", { has: page.locator(".author", { hasText: author }) }).last();
  await message.scrollIntoViewIfNeeded();
  await message.hover();
  await message.locator("button.more").click();
  await page.waitForSelector("[role=menu]:not([hidden]) [role=menuitem]");
  return message;
};

/**
 * Unread (issue 12): Ada has read acme/releases up to its third message, and
 * more came after than a screen holds (so the page shows the New divider and
 * leaves it unread: every browser below sees the same); Bo mentions her in
 * acme/ops.
 */
const unreadConversation = async (server: RunningServer, as: Record<string, { token: string }>) => {
  const say = (who: string, content: string) => api(server, as[who]!.token, "POST", "/messages", { content, repository: "acme/releases" }) as Promise<Sent>;
  await say("cy", "Release notes for 2.4 are drafted: https://example.com/notes/2.4");
  await say("bo", "Reading them now");
  const place = await say("bo", "Two typos, and the migration step is missing. Otherwise good");
  await api(server, as.ada!.token, "PUT", "/repositories/acme/releases/read", { message_id: place.id });
  const lines: [string, string][] = [
    ["cy", "Fixed both typos, added the migration step"],
    ["cy", "Also moved the breaking changes to the top"],
    ["bo", "Looks right now 👍"],
    ["cy", "Tagging `v2.4.0`"],
    ["cy", "CI is building the binaries"],
    ["bo", "Linux and macOS builds are green"],
    ["bo", "Windows still running"],
    ["bo", "Windows green too"],
    ["cy", "Uploading to the release page"],
    ["cy", "Checksums are in `SHA256SUMS`"],
    ["bo", "Docs site rebuilt with the 2.4 pages"],
    ["cy", "Announcement draft is in the doc, @ada can you look before we post?"],
    ["bo", "Homebrew formula PR opened"],
    ["bo", "Debian package next"],
    ["cy", "Posting the announcement at 15:00 unless someone objects"],
  ];
  for (const [who, content] of lines) await say(who, content);
  await api(server, as.bo!.token, "POST", "/messages", { content: "@ada the disk alert on edge-3 is back, can you look?", repository: "acme/ops" });
};

const signIn = async (browser: Browser, server: RunningServer, invite: string, width: number, dark: boolean) => {
  const watched = await openPage(browser, server.url, { viewport: { width, height: width < 600 ? 740 : 800 }, colorScheme: dark ? "dark" : "light" });
  const { page } = watched;
  await page.goto(`${server.url}${new URL(invite).pathname}`);
  await page.locator("#invite-password").fill(PASSWORD);
  await page.locator("form.login-form button[type=submit]").click();
  await page.waitForURL(`${server.url}/c/local/general`);
  return watched;
};

/** Each state: how to bring the page to it from a fresh load of the default channel. */
export const STATES: { name: string; show: (page: Page) => Promise<void> }[] = [
  {
    name: "channel",
    // Read once in view (the page marks it read within a second, once scrolled to the end): the sidebar no longer counts it.
    show: async (page) => {
      await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>("#messages img")).every((img) => img.complete));
      await page.locator("#log").evaluate((log) => log.scrollTo(0, log.scrollHeight));
      await page.waitForFunction(() => document.querySelector("#channel-list a[aria-current=page] .count") === null, undefined, { timeout: 15_000 });
    },
  },
  {
    // Search results over the messages, the searched word marked.
    name: "search",
    show: async (page) => {
      await page.locator("#search-box").fill("deploy");
      await page.locator("#search-box").press("Enter");
      await page.waitForSelector("#search-results li.result");
    },
  },
  {
    // A link to a message (#m-<id>), as a search result or a copied link opens it: scrolled to and marked.
    name: "message-link",
    show: async (page) => {
      const id = await page.locator("#messages li.message").first().getAttribute("data-id");
      await page.goto(`${page.url().split("#")[0]}#m-${id}`);
      await page.waitForSelector(`#m-${id}.highlighted`);
    },
  },
  {
    // The action menu of one's own message: copy link, copy commit, reply, react, edit, delete.
    name: "actions-menu",
    show: async (page) => {
      await menuOf(page, "Ada Lovelace");
    },
  },
  {
    // Editing one's own message in place.
    name: "editing",
    show: async (page) => {
      await menuOf(page, "Ada Lovelace");
      await page.locator("[role=menuitem]", { hasText: "Edit" }).click();
      await page.waitForSelector("#messages form.editor textarea");
    },
  },
  {
    // The thread panel: a message, its replies, and a box to reply.
    name: "thread",
    show: async (page) => {
      await page.locator("#messages button.replies").first().click();
      await page.waitForSelector("#thread:not([hidden]) #thread-body li.message");
    },
  },
  {
    // The reaction picker open on a message, its reactions below it.
    name: "reactions",
    show: async (page) => {
      await menuOf(page, "Bo Chen");
      await page.locator("[role=menuitem]", { hasText: "Add a reaction" }).click();
      await page.waitForSelector(".picker");
    },
  },
  {
    // A message with files (an image shown, a file to download), and files waiting in the composer.
    name: "attachments",
    show: async (page) => {
      await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>("#messages img")).every((img) => img.complete && img.naturalWidth > 0));
      const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.locator("#attach").click()]);
      await chooser.setFiles([
        { name: "screenshot-2026-11-25.png", mimeType: "image/png", buffer: chart(640, 360) },
        { name: "notes.md", mimeType: "text/markdown", buffer: Buffer.from("# Notes\n") },
      ]);
      await page.locator("#content").fill("And the dashboard after the deploy");
    },
  },
  {
    // Unread: a channel read up to a point (the New divider), later messages grouped by author; the sidebar's counts and a mention.
    name: "unread",
    show: async (page) => {
      await page.goto(`${page.url().split("/c/")[0]}/c/acme/releases`);
      await page.waitForSelector("#messages li.new-divider");
    },
  },
  {
    // The sidebar with its counts, unread channels first (at 375 px, the drawer opened).
    name: "unread-sidebar",
    show: async (page) => {
      await page.goto(`${page.url().split("/c/")[0]}/c/acme/releases`);
      await page.waitForSelector("#messages li.new-divider");
      if (await page.locator("#menu").isVisible()) {
        await page.locator("#menu").click();
        await page.waitForFunction(() => document.getElementById("sidebar")!.contains(document.activeElement));
        await page.waitForTimeout(300);
      }
    },
  },
];

const main = async () => {
  mkdirSync(OUT, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "gitchat-screenshots-"));
  const [browser, server] = await Promise.all([launchBrowser(), startServer({ dataDir, env: { ...LOCAL_ONLY, ACCESS_TOKEN: TOKEN } })]);
  try {
    const as = await people(server);
    await converse(server, as);
    await unreadConversation(server, as);
    // A browser signs in once per invite: one fresh invite for each browser below.
    for (const width of [1280, 375]) {
      for (const dark of [false, true]) {
        const { invite_url } = (await api(server, TOKEN, "POST", "/users/ada/invite")) as { invite_url: string };
        const { context, page } = await signIn(browser, server, invite_url, width, dark);
        for (const state of STATES) {
          await page.goto(`${server.url}/c/local/general`);
          await page.waitForSelector("#messages li.message");
          await state.show(page);
          const file = join(OUT, `${state.name}-${width}-${dark ? "dark" : "light"}.png`);
          await page.screenshot({ path: file });
          if (state.name === "channel" && width === 1280 && !dark) await page.screenshot({ path: join(ROOT, "docs", "screenshot.png") });
          console.log(file);
        }
        await context.close();
      }
    }
  } finally {
    await browser.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
};

if (import.meta.main) await main();
