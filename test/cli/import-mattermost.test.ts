/**
 * `gitchat import mattermost`: bulk exports made here in the JSON lines
 * shape Mattermost's bulk loading documents (a version line, then teams,
 * channels, users and posts with their replies and reactions), imported by
 * the CLI as its own process, and read back; broken ones refused.
 */
import { expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openTestGitchat } from "../support/app.ts";
import { runCli } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };
const T = Date.parse("2024-03-04T09:00:00Z");

const LINES = [
  { type: "version", version: 1 },
  { type: "team", team: { name: "acme", display_name: "Acme", type: "O" } },
  { type: "channel", channel: { team: "acme", name: "town-square", display_name: "Town Square", type: "O" } },
  { type: "channel", channel: { team: "acme", name: "ops", display_name: "Ops", type: "P" } },
  { type: "user", user: { username: "ann", email: "ann@example.com", first_name: "Ann", last_name: "Lee", teams: [{ name: "acme" }] } },
  { type: "user", user: { username: "bo", email: "bo@example.com", nickname: "Bo", teams: [{ name: "acme" }] } },
  {
    type: "post",
    post: {
      team: "acme",
      channel: "town-square",
      user: "ann",
      message: "Deploy at **10**",
      create_at: T,
      edit_at: T + 30_000,
      reactions: [
        { user: "bo", emoji_name: "thumbsup", create_at: T + 60_000 },
        { user: "ann", emoji_name: "tada", create_at: T + 61_000 },
      ],
      replies: [
        { user: "bo", message: "on it", create_at: T + 120_000 },
        { user: "ann", message: "thanks", create_at: T + 180_000, reactions: [{ user: "bo", emoji_name: "heart", create_at: T + 200_000 }] },
      ],
    },
  },
  { type: "post", post: { team: "acme", channel: "town-square", user: "bo", message: "", create_at: T + 240_000, attachments: [{ path: "data/uploads/plan.pdf" }] } },
  { type: "post", post: { team: "acme", channel: "ops", user: "bo", message: "ops only", create_at: T + 300_000 } },
  { type: "direct_channel", direct_channel: { members: ["ann", "bo"] } },
  { type: "direct_post", direct_post: { channel_members: ["ann", "bo"], user: "ann", message: "a private word", create_at: T + 400_000 } },
];

const exportFile = (lines: unknown[]) => {
  const path = join(tempDir("gitchat-mattermost-"), "export.jsonl");
  writeFileSync(path, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n");
  return path;
};

test("a Mattermost export becomes channels team/name: authors (imported), times, threads, an edit, reactions; direct messages left out, counted", async () => {
  const dataDir = tempDir();
  const file = exportFile(LINES);
  const result = await runCli(["import", "mattermost", file], { dataDir, env: LOCAL_ONLY });
  expect({ code: result.code, stdout: result.stdout.trim().split("\n"), stderr: result.stderr }).toEqual({
    code: 0,
    stdout: [
      "acme/town-square -> acme/town-square: 4 message(s) imported, 2 of them in threads, 1 edit(s), 3 reaction(s)",
      "acme/ops -> acme/ops: 1 message(s) imported",
      "1 direct or group message(s) left out: they have no channel here",
    ],
    stderr: "",
  });
  const gitchat = await openTestGitchat({ dataDir, env: LOCAL_ONLY });
  try {
    const viewer = { operator: true } as const;
    const channel = gitchat.messages.list({ viewer, repository: "acme/town-square" });
    expect(channel.map((m) => ({ author: m.author, author_id: m.author_id, content: m.content, at: m.timestamp, replies: m.reply_count }))).toEqual([
      { author: "Ann Lee", author_id: "mattermost:ann", content: "Deploy at **10**", at: "2024-03-04T09:00:00.000Z", replies: 2 },
      { author: "Bo", author_id: "mattermost:bo", content: "[file not imported: plan.pdf]", at: "2024-03-04T09:04:00.000Z", replies: 0 },
    ]);
    const first = channel[0]!;
    expect({ edited: first.edited_at, reactions: first.reactions.map((r) => [r.emoji, r.users]) }).toEqual({
      edited: "2024-03-04T09:00:30.000Z",
      reactions: [[":thumbsup:", ["Bo"]], [":tada:", ["Ann Lee"]]],
    });
    const thread = gitchat.messages.list({ viewer, thread: first.id });
    expect(thread.map((m) => [m.author, m.content, m.reactions.map((r) => r.emoji)])).toEqual([
      ["Bo", "on it", []],
      ["Ann Lee", "thanks", [":heart:"]],
    ]);
    expect(gitchat.messages.list({ viewer, repository: "acme/ops" }).map((m) => m.content)).toEqual(["ops only"]);
  } finally {
    await gitchat.close();
  }

  // The same export again adds nothing: every id is derived from the export.
  const again = await runCli(["import", "mattermost", file], { dataDir, env: LOCAL_ONLY });
  expect(again.stdout.trim().split("\n")[0]).toBe("acme/town-square -> acme/town-square: 0 message(s) imported (4 already here)");
}, 60_000);

test("--channel TEAM/NAME=owner/name puts a channel where it is asked", async () => {
  const dataDir = tempDir();
  const result = await runCli(["import", "mattermost", exportFile(LINES), "--channel", "acme/town-square=local/general"], { dataDir, env: LOCAL_ONLY });
  expect(result.stdout.trim().split("\n")[0]).toBe("acme/town-square -> local/general: 4 message(s) imported, 2 of them in threads, 1 edit(s), 3 reaction(s)");
}, 60_000);

test("a broken export is refused with the line and what is wrong, exit 2, and nothing written", async () => {
  const cases: [unknown[], string][] = [
    [[LINES[1], ...LINES.slice(2)], 'line 1 is not {"type": "version", "version": 1}'],
    [[LINES[0], "{not json"], "line 2 is not JSON"],
    [[LINES[0], { type: "post", post: { team: "acme", channel: "town-square", user: "ann", message: "no time" } }], 'line 2 is a post without a "create_at" in milliseconds'],
    [[LINES[0], { type: "post", post: { team: "Acme Inc", channel: "x", user: "ann", message: "m", create_at: T } }], 'line 2 is a post without a valid "team" and "channel"'],
    [
      [LINES[0], { type: "post", post: { team: "acme", channel: "x", user: "ann", message: "m", create_at: T, replies: [{ user: "bo", create_at: T }] } }],
      'line 2 reply 1 is a reply without a "message"',
    ],
    [[LINES[0], ...LINES.slice(2, 8), "[1, 2]"], 'line 8 has no "type"'],
  ];
  for (const [lines, said] of cases) {
    const dataDir = tempDir();
    const result = await runCli(["import", "mattermost", exportFile(lines)], { dataDir, env: LOCAL_ONLY });
    expect({ code: result.code, said: result.stderr.includes(said), stdout: result.stdout }).toEqual({ code: 2, said: true, stdout: "" });
    expect(existsSync(join(dataDir, "repos", "acme"))).toBe(false);
  }
}, 120_000);
