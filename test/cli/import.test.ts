/**
 * `gitchat import slack`: Slack workspace exports made here in the shape
 * Slack documents (users.json, channels.json, a folder per channel of one
 * JSON file a day), imported by the CLI as its own process, and read back.
 */
import { expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { openTestGitchat } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { runCli, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };

const USERS = [
  { id: "U01ANN", name: "ann", real_name: "Ann Lee", is_bot: false, profile: { display_name: "ann", real_name: "Ann Lee" } },
  { id: "U02BO", name: "bo", real_name: "Bo Chen", is_bot: false, profile: { display_name: "", real_name: "Bo Chen" } },
  { id: "U03BOT", name: "deploybot", is_bot: true, profile: { display_name: "", real_name: "deploybot" } },
];
const CHANNELS = [
  { id: "C01GEN", name: "general", created: 1704186000, creator: "U01ANN", members: ["U01ANN", "U02BO"] },
  { id: "C02OPS", name: "ops", created: 1704186000, creator: "U02BO", members: ["U02BO"] },
];
const GENERAL_DAY_ONE = [
  { type: "message", subtype: "channel_join", user: "U02BO", text: "<@U02BO> has joined the channel", ts: "1704189000.000100" },
  { type: "message", user: "U01ANN", text: "Morning <@U02BO>, the *deploy* is at 10 &amp; not later", ts: "1704189600.000200" },
  {
    type: "message",
    user: "U02BO",
    text: "see <https://example.com/plan|the plan>",
    ts: "1704189660.000300",
    edited: { user: "U02BO", ts: "1704189700.000000" },
    reactions: [{ name: "thumbsup", users: ["U01ANN"], count: 1 }],
    thread_ts: "1704189660.000300",
    reply_count: 1,
  },
  { type: "message", user: "U01ANN", text: "replying in the thread", ts: "1704189720.000400", thread_ts: "1704189660.000300", parent_user_id: "U02BO" },
];
const GENERAL_DAY_TWO = [
  { type: "message", subtype: "bot_message", bot_id: "B01DEPLOY", username: "deploybot", text: "Deployed ~v1~ v2", ts: "1704276000.000100" },
  { type: "message", user: "U02BO", text: "", files: [{ id: "F01", name: "screenshot.png", mimetype: "image/png" }], ts: "1704276060.000200" },
];
const OPS_DAY = [{ type: "message", user: "U02BO", text: "ops only", ts: "1704189800.000100" }];

const slackZip = (files: Record<string, unknown>) => {
  const path = join(tempDir("gitchat-slack-"), "export.zip");
  writeFileSync(path, zipSync(Object.fromEntries(Object.entries(files).map(([name, body]) => [name, strToU8(typeof body === "string" ? body : JSON.stringify(body))]))));
  return path;
};

const goodExport = () =>
  slackZip({
    "users.json": USERS,
    "channels.json": CHANNELS,
    "general/2024-01-02.json": GENERAL_DAY_ONE,
    "general/2024-01-03.json": GENERAL_DAY_TWO,
    "ops/2024-01-02.json": OPS_DAY,
  });

const messagesOf = async (dataDir: string, repository: string) => {
  const gitchat = await openTestGitchat({ dataDir, env: LOCAL_ONLY });
  try {
    return gitchat.messages.list({ viewer: { operator: true }, repository, limit: 100 }).map(({ id, author, author_id, content, timestamp }) => ({ id, author, author_id, content, timestamp }));
  } finally {
    await gitchat.close();
  }
};

test("a Slack export becomes gitchat channels: authors (imported, unverified), times, text as Markdown, bots by name, joins left out, files named", async () => {
  const dataDir = tempDir();
  const result = await runCli(["import", "slack", goodExport()], { dataDir, env: LOCAL_ONLY });
  expect({ code: result.code, stdout: result.stdout.trim().split("\n"), stderr: result.stderr }).toEqual({
    code: 0,
    stdout: [
      "#general -> local/general: 5 message(s) imported, 1 of them in threads, 1 edit(s), 1 reaction(s) (left out: 1 channel_join)",
      "#ops -> local/ops: 1 message(s) imported",
    ],
    stderr: "",
  });
  // The channel's own messages: the reply is in its thread (see the test of threads below).
  expect((await messagesOf(dataDir, "local/general")).map(({ id, ...m }) => m)).toEqual([
    { author: "ann", author_id: "slack:U01ANN", content: "Morning @Bo Chen, the **deploy** is at 10 & not later", timestamp: "2024-01-02T10:00:00.000Z" },
    { author: "Bo Chen", author_id: "slack:U02BO", content: "see [the plan](https://example.com/plan)", timestamp: "2024-01-02T10:01:00.000Z" },
    { author: "deploybot", author_id: "slack:B01DEPLOY", content: "Deployed ~~v1~~ v2", timestamp: "2024-01-03T10:00:00.000Z" },
    { author: "Bo Chen", author_id: "slack:U02BO", content: "[file not imported: screenshot.png]", timestamp: "2024-01-03T10:01:00.000Z" },
  ]);
  expect((await messagesOf(dataDir, "local/ops")).map((m) => m.content)).toEqual(["ops only"]);
  // In large commits, not one a message: general's five messages are one commit.
  const log = await runGit(["--git-dir", join(dataDir, "repos", "local", "general.git"), "log", "--format=%s", "main"]);
  // Five messages and two events (an edit, a reaction).
  expect(log.stdout.trim().split("\n")[0]).toBe("7 messages from ann, Bo Chen, deploybot");
}, 60_000);

test("threads, edits and reactions come over: replies in their thread, an edited message marked so, a reaction from each person Slack lists", async () => {
  const THREAD = "1704189660.000300";
  const dataDir = tempDir();
  const zip = slackZip({
    "users.json": USERS,
    "channels.json": [CHANNELS[0]],
    "general/2024-01-02.json": [
      {
        type: "message",
        user: "U02BO",
        text: "release plan",
        ts: THREAD,
        thread_ts: THREAD,
        reply_count: 3,
        edited: { user: "U02BO", ts: "1704189700.000000" },
        reactions: [
          { name: "thumbsup", users: ["U01ANN", "U02BO"], count: 3 },
          { name: "+1::skin-tone-2", users: ["U01ANN"], count: 1 },
        ],
      },
      { type: "message", user: "U01ANN", text: "looks good", ts: "1704189720.000400", thread_ts: THREAD, parent_user_id: "U02BO" },
      { type: "message", subtype: "thread_broadcast", user: "U02BO", text: "shipping it", ts: "1704189780.000500", thread_ts: THREAD },
      { type: "message", user: "U01ANN", text: "about an older thread", ts: "1704189840.000600", thread_ts: "1704000000.000100" },
    ],
    "general/2024-01-03.json": [{ type: "message", user: "U01ANN", text: "the next day", ts: "1704276000.000100", thread_ts: THREAD }],
  });
  const result = await runCli(["import", "slack", zip], { dataDir, env: LOCAL_ONLY });
  expect({ code: result.code, stdout: result.stdout.trim() }).toEqual({
    code: 0,
    stdout:
      "#general -> local/general: 5 message(s) imported, 3 of them in threads, 1 edit(s), 3 reaction(s) (1 repl(ies) whose thread is not in the export, kept as messages of the channel; " +
      "1 reaction(s) Slack counted without saying whose; 1 reaction(s) without their skin tone)",
  });
  const gitchat = await openTestGitchat({ dataDir, env: LOCAL_ONLY });
  try {
    const viewer = { operator: true } as const;
    const channel = gitchat.messages.list({ viewer, repository: "local/general" });
    expect(channel.map((m) => [m.content, m.reply_to, m.reply_count])).toEqual([
      ["release plan", null, 3],
      ["about an older thread", null, 0],
    ]);
    const start = channel[0]!;
    expect(start.edited_at).toBe("2024-01-02T10:01:40.000Z");
    expect(start.reactions.map((r) => [r.emoji, r.count, [...r.users].sort()]).sort()).toEqual([
      [":+1:", 1, ["ann"]],
      [":thumbsup:", 2, ["Bo Chen", "ann"]],
    ]);
    // Slack's export holds the final text only: the edit carries it, so the history shows no text that was never there.
    expect((await gitchat.messages.history({ viewer, id: start.id })).versions.map((v) => v.content)).toEqual(["release plan", "release plan"]);
    expect(gitchat.messages.list({ viewer, thread: start.id }).map((m) => [m.author, m.content, m.reply_to])).toEqual([
      ["ann", "looks good", start.id],
      ["Bo Chen", "shipping it", start.id],
      ["ann", "the next day", start.id],
    ]);
  } finally {
    await gitchat.close();
  }
}, 60_000);

test("the page marks an imported author as imported, saying what it means", async () => {
  const dataDir = tempDir();
  expect((await runCli(["import", "slack", goodExport()], { dataDir, env: LOCAL_ONLY })).code).toBe(0);
  const server = await startServer({ dataDir, env: LOCAL_ONLY });
  try {
    const page = await (await fetch(`${server.url}/c/local/ops`)).text();
    const item = page.slice(page.indexOf('<li class="message"'), page.indexOf("</li>", page.indexOf('<li class="message"')));
    expect(item).toContain('<span class="author">Bo Chen</span> <span class="badge imported" title="imported from Slack: the name is Slack&#39;s, and no account here vouches for it">imported');
  } finally {
    await server.stop();
  }
}, 60_000);

test("importing the same export again adds nothing, and two servers importing it hold the same message files", async () => {
  const zip = goodExport();
  const first = tempDir();
  const second = tempDir();
  expect((await runCli(["import", "slack", zip], { dataDir: first, env: LOCAL_ONLY })).code).toBe(0);
  const head = async (dataDir: string) => (await runGit(["--git-dir", join(dataDir, "repos", "local", "general.git"), "rev-parse", "main"])).stdout.trim();
  const before = await head(first);
  const again = await runCli(["import", "slack", zip], { dataDir: first, env: LOCAL_ONLY });
  expect({ code: again.code, stdout: again.stdout.trim().split("\n") }).toEqual({
    code: 0,
    stdout: ["#general -> local/general: 0 message(s) imported (5 already here; left out: 1 channel_join)", "#ops -> local/ops: 0 message(s) imported (1 already here)"],
  });
  expect(await head(first)).toBe(before);
  expect((await runCli(["import", "slack", zip], { dataDir: second, env: LOCAL_ONLY })).code).toBe(0);
  const files = async (dataDir: string) =>
    (await runGit(["--git-dir", join(dataDir, "repos", "local", "general.git"), "ls-tree", "-r", "main", "messages/"])).stdout;
  expect(await files(second)).toBe(await files(first));
}, 60_000);

test("--channel puts a Slack channel where it is told", async () => {
  const dataDir = tempDir();
  const result = await runCli(["import", "slack", goodExport(), "--channel", "general=acme/team"], { dataDir, env: LOCAL_ONLY });
  expect(result.stdout.trim().split("\n")[0]).toBe("#general -> acme/team: 5 message(s) imported, 1 of them in threads, 1 edit(s), 1 reaction(s) (left out: 1 channel_join)");
  expect(await messagesOf(dataDir, "acme/team")).toHaveLength(4);
}, 60_000);

test("a broken export is refused with the file and what is wrong, and nothing is written", async () => {
  const cases: [Record<string, unknown> | string, string][] = [
    [{ "channels.json": CHANNELS }, "has no users.json: it is not a Slack workspace export"],
    [{ "users.json": USERS, "channels.json": CHANNELS, "general/2024-01-02.json": "[{\"type\": \"message\", " }, "general/2024-01-02.json is not JSON"],
    [{ "users.json": USERS, "channels.json": CHANNELS, "general/2024-01-02.json": [{ type: "message", text: "no ts" }] }, "general/2024-01-02.json: entry 1 has no valid \"ts\""],
    [{ "users.json": USERS, "channels.json": [{ id: "C9", name: "Has Spaces" }] }, "channels.json: channel 1 needs an \"id\" and a \"name\""],
    ["this is not a zip", "is not a zip file Slack made"],
  ];
  for (const [files, expected] of cases) {
    const dataDir = tempDir();
    const zip = typeof files === "string" ? join(tempDir(), "export.zip") : slackZip(files);
    if (typeof files === "string") writeFileSync(zip, files);
    const result = await runCli(["import", "slack", zip], { dataDir, env: LOCAL_ONLY });
    // Exit 2: the file named on the command line must change first.
    expect({ code: result.code, said: result.stderr.includes(expected), oneLine: result.stderr.trim().split("\n").length, wrote: existsSync(join(dataDir, "repos")) }).toEqual({
      code: 2,
      said: true,
      oneLine: 1,
      wrote: false,
    });
  }
}, 60_000);

test("with a server running, import refuses and says why", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir, env: LOCAL_ONLY });
  try {
    const result = await runCli(["import", "slack", goodExport()], { dataDir, env: LOCAL_ONLY });
    expect({ code: result.code, said: result.stderr.includes("gitchat import writes the channels itself") }).toEqual({ code: 1, said: true });
  } finally {
    await server.stop();
  }
}, 60_000);
