/**
 * Screenshots of the message list's structure and unread (issue 12), desktop
 * and 375 px, light and dark, into docs/screenshots/: a conversation imported
 * from a Slack-shaped export over three days, a channel read up to a point
 * (the New divider), and other channels with unread counts.
 * Run: npx bun scripts/screenshots-unread.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { launchBrowser } from "../test/support/browser.ts";
import { runCli, startServer } from "../test/support/server.ts";

const scratch = mkdtempSync(join(tmpdir(), "gitchat-shots-"));
const tempDir = (prefix = "dir-") => mkdtempSync(join(scratch, prefix));

const ENV = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };
const OUT = join(import.meta.dir, "..", "docs", "screenshots");
const MINUTE = 60_000;
const now = Date.now();
const at = (ago: number, i: number) => `${Math.floor((now - ago) / 1000)}.${String(i).padStart(6, "0")}`;

const users = [
  { id: "U1", name: "ann", real_name: "Ann Lee", profile: { display_name: "ann" } },
  { id: "U2", name: "bo", real_name: "Bo Chen", profile: { display_name: "bo" } },
  { id: "U3", name: "cy", real_name: "Cy Park", profile: { display_name: "cy" } },
];
const talk: [string, string, number][] = [
  ["U1", "Release notes for 2.3 are drafted, can someone read them before Friday?", 50 * 60 * MINUTE],
  ["U2", "On it", 50 * 60 * MINUTE - 2 * MINUTE],
  ["U2", "Two typos and the migration step is missing, otherwise good", 50 * 60 * MINUTE - 4 * MINUTE],
  ["U3", "The staging deploy is green again", 26 * 60 * MINUTE],
  ["U1", "Thanks! Merging the notes now", 26 * 60 * MINUTE - 10 * MINUTE],
  ["U1", "and tagging `v2.3.0`", 26 * 60 * MINUTE - 11 * MINUTE],
  ["U3", "Standup moved to 10:30 today", 95 * MINUTE],
  ["U2", "Works for me", 90 * MINUTE],
  ["U1", "The search index rebuild finished overnight: **1.2 M** messages, no errors", 40 * MINUTE],
  ["U1", "Next up: the attachments work, see the issue", 39 * MINUTE],
  ["U3", "@local can you look at the flaky sync test when you have a minute?", 12 * MINUTE],
  ["U3", "it fails about one run in twenty", 11 * MINUTE],
];
const zip = join(tempDir("shots-"), "export.zip");
writeFileSync(
  zip,
  zipSync({
    "users.json": strToU8(JSON.stringify(users)),
    "channels.json": strToU8(JSON.stringify([
      { id: "C1", name: "general", created: 1704186000, creator: "U1", members: ["U1", "U2", "U3"] },
      { id: "C2", name: "ops", created: 1704186000, creator: "U2", members: ["U2"] },
      { id: "C3", name: "design", created: 1704186000, creator: "U3", members: ["U3"] },
    ])),
    "general/2026-01-01.json": strToU8(JSON.stringify(talk.map(([user, text, ago], i) => ({ type: "message", user, text, ts: at(ago, i) })))),
    "ops/2026-01-01.json": strToU8(JSON.stringify([1, 2, 3].map((n) => ({ type: "message", user: "U2", text: `alert ${n}`, ts: at(n * MINUTE, n) })))),
    "design/2026-01-01.json": strToU8(JSON.stringify([{ type: "message", user: "U3", text: "new icons are in", ts: at(5 * MINUTE, 1) }])),
  }),
);
const dataDir = tempDir();
const imported = await runCli(["import", "slack", zip, "--channel", "general=acme-platform/general", "--channel", "ops=acme-platform/ops-alerts", "--channel", "design=acme-platform/design-system"], { dataDir, env: ENV });
if (imported.code !== 0) throw new Error(imported.stderr);
const server = await startServer({ dataDir, env: ENV });
const browser = await launchBrowser();
try {
  // Read up to the message before "Standup moved": the New divider goes there.
  const messages = (await (await fetch(`${server.url}/messages?repository=acme-platform/general&limit=100`)).json()) as { id: string; content: string }[];
  const place = messages.find((m) => m.content === "and tagging `v2.3.0`")!;
  await fetch(`${server.url}/repositories/acme-platform/general/read`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ message_id: place.id }) });
  for (const [size, viewport] of [["desktop", { width: 1280, height: 800 }], ["375", { width: 375, height: 740 }]] as const) {
    for (const theme of ["light", "dark"] as const) {
      const context = await browser.newContext({ viewport, colorScheme: theme, locale: "en-GB", ...(size === "375" ? { isMobile: true, hasTouch: true } : {}) });
      // Seen as a hidden tab, the page never marks the channel read: each shot shows the same New divider.
      await context.addInitScript(() => Object.defineProperty(document, "visibilityState", { value: "hidden" }));
      const page = await context.newPage();
      await page.goto(`${server.url}/c/acme-platform/general`);
      await page.waitForSelector("#messages li.new-divider");
      await page.locator("#messages li.message.grouped").first().hover();
      await page.screenshot({ path: join(OUT, `unread-${size}-${theme}.png`) });
      if (size === "375") {
        await page.locator("#menu").tap();
        await page.waitForTimeout(400);
        await page.screenshot({ path: join(OUT, `unread-sidebar-${size}-${theme}.png`) });
      }
      await context.close();
    }
  }
} finally {
  await browser.close();
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}
