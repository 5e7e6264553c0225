/**
 * The layout of messages in git: every tree a commit writes stays bounded
 * however busy a day is, paths never move, the first layout is still read,
 * and commit subjects read as the conversation.
 */
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openTestGitchat } from "../support/app.ts";
import { ChannelStore } from "../../src/git/store.ts";
import { encodeMessage, SEGMENT_FILES, type MessageRecord, commitMessages, isMessagePath } from "../../src/messages/layout.ts";
import { fsck, runGit } from "../support/git.ts";
import { tempDir } from "../support/tmp.ts";

const DAY = Date.parse("2026-05-06T00:00:00.000Z");
const author = { name: "ann", email: "ann@gitchat.invalid", timestamp: DAY };

const record = (n: number, who = "ann"): MessageRecord => ({
  id: Bun.randomUUIDv7("hex", DAY + n),
  author: who,
  content: `message ${n}`,
  type: "message",
  created_at: new Date(DAY + n).toISOString(),
});

/** Every tree object reachable from main, with its number of entries. */
const treeSizes = async (gitdir: string) => {
  const trees = (await runGit(["--git-dir", gitdir, "rev-list", "--objects", "--all"])).stdout.trim().split("\n");
  const batch = Bun.spawn(["git", "--git-dir", gitdir, "cat-file", "--batch-check=%(objecttype) %(objectname)"], { stdin: "pipe", stdout: "pipe" });
  batch.stdin.write(trees.map((line) => line.split(" ")[0]).join("\n") + "\n");
  batch.stdin.end();
  const types = (await new Response(batch.stdout).text()).trim().split("\n");
  const sizes: number[] = [];
  for (const line of types) {
    const [type, oid] = line.split(" ");
    if (type !== "tree") continue;
    sizes.push((await runGit(["--git-dir", gitdir, "ls-tree", oid!])).stdout.trim().split("\n").length);
  }
  return sizes;
};

test("a day of 2.5 segments' worth of messages never writes a tree of more than SEGMENT_FILES entries", async () => {
  const gitdir = join(tempDir(), "c.git");
  const store = await ChannelStore.open(gitdir, { durability: "process" });
  const total = Math.round(SEGMENT_FILES * 2.5);
  for (let i = 0; i < total; i += 100) {
    await commitMessages(store, Array.from({ length: Math.min(100, total - i) }, (_, k) => record(i + k)), author);
  }
  const sizes = await treeSizes(gitdir);
  expect(Math.max(...sizes)).toBe(SEGMENT_FILES);
  const segments = (await runGit(["--git-dir", gitdir, "ls-tree", "--name-only", "main:messages/2026/05/06"])).stdout.trim().split("\n");
  expect(segments).toEqual(["000", "001", "002"]);
  expect((await store.listFiles((await store.head())!, isMessagePath)).length).toBe(total);
  expect((await fsck(gitdir)).code).toBe(0);
}, 60_000);

test("a path once written never changes: git log shows only additions", async () => {
  const gitdir = join(tempDir(), "c.git");
  const store = await ChannelStore.open(gitdir, { durability: "process" });
  for (let i = 0; i < SEGMENT_FILES + 200; i += 150) {
    await commitMessages(store, Array.from({ length: 150 }, (_, k) => record(i + k)), author);
  }
  const log = await runGit(["--git-dir", gitdir, "log", "--format=", "--name-status", "--no-renames", "main"]);
  const statuses = new Set(log.stdout.trim().split("\n").filter(Boolean).map((line) => line.split("\t")[0]));
  expect([...statuses]).toEqual(["A"]);
}, 60_000);

test("a repository in the first layout (messages/YYYY/MM/DD/<id>.json) is read as it is, and new messages go to segments beside it", async () => {
  const dataDir = tempDir();
  const gitdir = join(dataDir, "repos", "local", "general.git");
  // The first layout, written by the git CLI as the first release wrote it.
  const work = tempDir();
  await runGit(["init", "-q", "-b", "main", work]);
  const old = record(1, "bo");
  mkdirSync(join(work, "messages/2026/05/06"), { recursive: true });
  writeFileSync(join(work, `messages/2026/05/06/${old.id}.json`), encodeMessage(old));
  await runGit(["add", "."], { cwd: work });
  await runGit(["-c", "user.name=bo", "-c", "user.email=bo@x", "commit", "-q", "-m", "Add 1 message"], { cwd: work });
  mkdirSync(join(dataDir, "repos", "local"), { recursive: true });
  await runGit(["clone", "-q", "--bare", work, gitdir]);

  const gitchat = await openTestGitchat({ dataDir });
  try {
    expect(gitchat.messages.list({ viewer: { operator: true } }).map((m) => m.id)).toEqual([old.id]);
    const { message: sent } = await gitchat.messages.send({ viewer: { operator: true }, content: "after the upgrade" });
    const names = (await runGit(["--git-dir", gitdir, "ls-tree", "-r", "--name-only", "main", "messages"])).stdout.trim().split("\n");
    const day = sent.timestamp.slice(0, 10).replaceAll("-", "/");
    expect(names).toEqual([`messages/2026/05/06/${old.id}.json`, `messages/${day}/000/${sent.id}.json`].sort());
  } finally {
    await gitchat.close();
  }
});

test("git log --oneline reads as the conversation: one message by its author and first line, a batch by its authors", async () => {
  const gitdir = join(tempDir(), "c.git");
  const store = await ChannelStore.open(gitdir, { durability: "process" });
  await commitMessages(store, [{ ...record(1), content: "Deploy went out fine\nmore detail below" }], author);
  await commitMessages(store, [record(2, "ann"), record(3, "bo"), record(4, "ann")], author);
  const log = await runGit(["--git-dir", gitdir, "log", "--format=%s", "main"]);
  expect(log.stdout.trim().split("\n")).toEqual(["3 messages from ann, bo", "ann: Deploy went out fine"]);
  // A big batch lists its first ten in the body, not all of them.
  await commitMessages(store, Array.from({ length: 25 }, (_, i) => record(10 + i, "cy")), author);
  const body = (await runGit(["--git-dir", gitdir, "log", "-1", "--format=%b", "main"])).stdout.trim().split("\n");
  expect([body.length, body[0], body.at(-1)]).toEqual([11, "cy: message 10", "... and 15 more"]);
});

test("a group commit by several people names the first as its author and the others in Co-authored-by trailers", async () => {
  const gitdir = join(tempDir(), "c.git");
  const store = await ChannelStore.open(gitdir, { durability: "process" });
  const people: Record<string, { name: string; email: string }> = {
    ann: { name: "Ann Smith", email: "ann@users.noreply.chat.example.com" },
    bo: { name: "Bo", email: "bo@users.noreply.chat.example.com" },
    cy: { name: "Cy", email: "cy@users.noreply.chat.example.com" },
  };
  const batch = [record(1, "ann"), record(2, "bo"), record(3, "ann"), record(4, "cy")];
  const commit = await commitMessages(store, batch, { of: (m) => people[m.author]!, timestamp: DAY });
  const author = await runGit(["--git-dir", gitdir, "log", "-1", "--format=%an <%ae>", commit]);
  expect(author.stdout.trim()).toBe("Ann Smith <ann@users.noreply.chat.example.com>");
  const trailers = await runGit(["--git-dir", gitdir, "log", "-1", "--format=%(trailers:key=Co-authored-by)", commit]);
  expect(trailers.stdout.trim().split("\n")).toEqual([
    "Co-authored-by: Bo <bo@users.noreply.chat.example.com>",
    "Co-authored-by: Cy <cy@users.noreply.chat.example.com>",
  ]);
  // One author alone: no trailer.
  const alone = await commitMessages(store, [record(5, "bo")], { of: (m) => people[m.author]!, timestamp: DAY });
  expect((await runGit(["--git-dir", gitdir, "log", "-1", "--format=%an|%(trailers)", alone])).stdout.trim()).toBe("Bo|");
});

test("a message file records its author's id between author and content; a message without one is written as before", async () => {
  const withId = { ...record(1), author_id: "local:ann" };
  const text = new TextDecoder().decode(encodeMessage(withId));
  expect(Object.keys(JSON.parse(text))).toEqual(["id", "author", "author_id", "content", "type", "created_at"]);
  expect(Object.keys(JSON.parse(new TextDecoder().decode(encodeMessage(record(2)))))).toEqual(["id", "author", "content", "type", "created_at"]);
});
