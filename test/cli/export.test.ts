/**
 * `gitchat export`: a channel written out as JSON lines, a Markdown transcript
 * and one HTML page, each read back (the page in Chromium), from the data
 * directory alone or beside a running server.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "playwright-core";
import { channelMessages } from "../../src/messages/export.ts";
import { exportWriter } from "../../views/export.ts";
import type { MessageView } from "../../src/messages/service.ts";
import { openTestGitchat } from "../support/app.ts";
import { launchBrowser } from "../support/browser.ts";
import { runCli, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };
const DAY_ONE = Date.parse("2026-11-02T09:30:00Z");
const DAY_TWO = Date.parse("2026-11-03T14:05:00Z");

type Sent = { id: string; content: string; git_hash: string; type: string; timestamp: string; author: string };
const sent: Sent[] = [];
const dataDir = tempDir();
let browser: Browser;

beforeAll(async () => {
  let clock = DAY_ONE;
  const gitchat = await openTestGitchat({ dataDir, env: LOCAL_ONLY, now: () => clock });
  const send = async (content: string, type?: string) => sent.push((await gitchat.messages.send({ viewer: { operator: true }, content, type })).message as Sent);
  await send("**Deploy** went out");
  await send("a line\n# not a heading, and `code`");
  clock = DAY_TWO;
  await send("const fence = '```';", "code");
  await send("see https://example.com/log");
  await gitchat.close();
  browser = await launchBrowser();
}, 40_000);

afterAll(async () => {
  await browser?.close();
});

const exported = async (...args: string[]) => {
  const result = await runCli(["export", "local/general", ...args], { dataDir, env: LOCAL_ONLY });
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
  return result.stdout;
};

test("--format jsonl writes every message, oldest first, one JSON object a line with every field", async () => {
  const lines = (await exported("--format", "jsonl")).trimEnd().split("\n").map((line) => JSON.parse(line));
  expect(lines.map(({ id, content, git_hash, type, timestamp, author }) => ({ id, content, git_hash, type, timestamp, author }))).toEqual(
    sent.map(({ id, content, git_hash, type, timestamp, author }) => ({ id, content, git_hash, type, timestamp, author })),
  );
});

test("a channel is read a page at a time, each message once, in order, across page boundaries", async () => {
  const gitchat = await openTestGitchat({ dataDir: tempDir(), env: LOCAL_ONLY });
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await gitchat.messages.send({ viewer: { operator: true }, content: `message ${i}` })).message.id);
  expect([...channelMessages(gitchat.db, "local/general", undefined, 3)].map((m) => m.id)).toEqual(ids);
  await gitchat.close();
});

test("--since keeps the messages sent from that day on", async () => {
  const lines = (await exported("--format", "jsonl", "--since", "2026-11-03")).trimEnd().split("\n").map((line) => JSON.parse(line).id);
  expect(lines).toEqual(sent.slice(2).map((m) => m.id));
});

test("--format markdown is a transcript: a heading a day, each message quoted under its author and time, its own Markdown kept inside", async () => {
  const text = await exported("--format", "markdown");
  expect(text.split("\n").filter((line) => line.startsWith("#"))).toEqual(["# local/general", "## Monday, 2 November 2026", "## Tuesday, 3 November 2026"]);
  expect(text).toContain(`**local** · 09:30 UTC · \`${sent[0]!.git_hash.slice(0, 7)}\`\n\n> **Deploy** went out\n`);
  expect(text).toContain("> a line\n> # not a heading, and `code`\n");
  // A code message is fenced by more backticks than it holds.
  expect(text).toContain("> ````\n> const fence = '```';\n> ````\n");
  expect(text.trimEnd().endsWith("4 message(s).")).toBe(true);
});

test("--format html is one page that reads offline in Chromium: days, authors, rendered Markdown, highlighted code, no script", async () => {
  const file = join(tempDir(), "general.html");
  const result = await runCli(["export", "local/general", "--format", "html", "--output", file], { dataDir, env: LOCAL_ONLY });
  expect({ code: result.code, stdout: result.stdout, stderr: result.stderr.trim() }).toEqual({
    code: 0,
    stdout: "",
    stderr: `local/general: 4 message(s) written to ${file}`,
  });
  const context = await browser.newContext({ offline: true });
  const requests: string[] = [];
  context.on("request", (request) => requests.push(request.url()));
  const page = await context.newPage();
  await page.goto(pathToFileURL(file).href);
  const seen = await page.evaluate(() => ({
    days: Array.from(document.querySelectorAll("h2")).map((h) => h.textContent),
    messages: Array.from(document.querySelectorAll("article.message")).map((a) => ({
      author: a.querySelector(".author")?.textContent,
      text: (a.querySelector(".content") as HTMLElement).innerText,
    })),
    strong: document.querySelector("article.message strong")?.textContent,
    link: document.querySelector("article.message a")?.getAttribute("href"),
    scripts: document.querySelectorAll("script").length,
  }));
  expect(seen).toEqual({
    days: ["Monday, 2 November 2026", "Tuesday, 3 November 2026"],
    // As the chat page shows them: Markdown rendered, a code message as it was sent.
    messages: ["Deploy went out", "a line\n# not a heading, and code", "const fence = '```';", "see https://example.com/log"].map((text) => ({
      author: "local",
      text,
    })),
    strong: "Deploy",
    link: "https://example.com/log",
    scripts: 0,
  });
  expect(requests).toEqual([pathToFileURL(file).href]);
  await context.close();
  expect(readFileSync(file, "utf8")).toContain("<!doctype html>");
}, 30_000);

test("it runs beside a server that owns the data directory, and names a channel that does not exist", async () => {
  const server = await startServer({ dataDir, env: LOCAL_ONLY });
  try {
    const lines = (await exported("--format", "jsonl")).trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    const unknown = await runCli(["export", "local/nowhere", "--format", "jsonl"], { dataDir, env: LOCAL_ONLY });
    expect({ code: unknown.code, stdout: unknown.stdout, stderr: unknown.stderr.trim() }).toEqual({
      code: 1,
      stdout: "",
      stderr: "gitchat: there is no channel local/nowhere in this data directory",
    });
  } finally {
    await server.stop();
  }
}, 30_000);

test("bad arguments are refused with the usage line, exit 2, and nothing written", async () => {
  for (const args of [["--format", "pdf"], ["--format", "jsonl", "--since", "yesterday"], ["--format", "jsonl", "--colour"]]) {
    const result = await runCli(["export", "local/general", ...args], { dataDir, env: LOCAL_ONLY });
    expect({ code: result.code, stdout: result.stdout, usage: result.stderr.includes("usage: gitchat export") }).toEqual({
      code: 2,
      stdout: "",
      usage: !args.includes("--since"),
    });
  }
});

test("a deleted message stays deleted in every format, an edited one shows its final text (and its versions in JSON lines)", async () => {
  const dir = tempDir();
  const gitchat = await openTestGitchat({ dataDir: dir, env: LOCAL_ONLY });
  const operator = { operator: true } as const;
  const gone = (await gitchat.messages.send({ viewer: operator, content: "the launch code is 0000" })).message;
  const fixed = (await gitchat.messages.send({ viewer: operator, content: "meet at 3" })).message;
  await gitchat.messages.remove({ viewer: operator, id: gone.id });
  await gitchat.messages.edit({ viewer: operator, id: fixed.id, content: "meet at 4" });
  await gitchat.close();
  const outputs: Record<string, string> = {};
  for (const format of ["jsonl", "markdown", "html"]) {
    const result = await runCli(["export", "local/general", "--format", format], { dataDir: dir, env: LOCAL_ONLY });
    outputs[format] = result.stdout;
  }
  const summary = Object.fromEntries(
    Object.entries(outputs).map(([format, text]) => [
      format,
      { secret: text.includes("launch code"), final: text.includes("meet at 4"), old: text.includes("meet at 3"), deleted: /"deleted":true|message deleted/.test(text) },
    ]),
  );
  // JSON lines carry an edited message's versions (the text as sent read from git), the others its final text only.
  const expected = { secret: false, final: true, deleted: true };
  expect(summary).toEqual({ jsonl: { ...expected, old: true }, markdown: { ...expected, old: false }, html: { ...expected, old: false } });
  const lines = outputs.jsonl!.trimEnd().split("\n").map((line) => JSON.parse(line));
  expect(lines.map((m) => [m.content, m.history?.map((v: { content: string }) => v.content) ?? null])).toEqual([
    ["", null],
    ["meet at 4", ["meet at 3", "meet at 4"]],
  ]);
});

test("a message's files are named in the Markdown and HTML exports, with their type and size", () => {
  const m: MessageView = {
    id: "01a2b3c4-0000-7000-8000-000000000000", content: "the logs", timestamp: "2026-11-02T09:30:00.000Z", git_hash: "a".repeat(40),
    repository: "local/general", author: "local", author_id: null, bot: false, verified: true, type: "message", cursor: 1,
    language: null, edited_at: null, deleted: false, reply_to: null, reply_count: 0, reactions: [],
    attachments: [{ name: "build_log.txt", type: "text/plain", size: 2048, url: "/messages/01a2b3c4-0000-7000-8000-000000000000/attachments/0" }],
  };
  expect(exportWriter("markdown", "local/general", "now").message(m)).toContain("> the logs\n>\n> File: build\\_log.txt (text/plain, 2.0 KB)\n");
  expect(exportWriter("html", "local/general", "now").message(m)).toContain('<ul class="files"><li>File: build_log.txt <span class="meta">(text/plain, 2.0 KB)</span></li></ul>');
});
