import { expect, test } from "bun:test";
import { join } from "node:path";
import { existsSync, writeFileSync, mkdirSync } from "node:fs";
import { ChannelStore } from "../../src/git/store.ts";
import { encodeMessage, messagePath, type MessageRecord, commitMessages, isMessagePath } from "../../src/messages/layout.ts";
import { fsck, runGit } from "../support/git.ts";
import { tempDir } from "../support/tmp.ts";

const FIXED = Date.parse("2026-03-04T05:06:07.000Z");
const author = { name: "alice", email: "alice@gitchat.invalid", timestamp: FIXED };

const record = (n: number, at = FIXED + n): MessageRecord => ({
  id: Bun.randomUUIDv7("hex", at),
  author: "alice",
  content: `message number ${n}\nwith a second line`,
  type: "message",
  created_at: new Date(at).toISOString(),
});

const fixedRecord: MessageRecord = {
  id: "019cb783-3918-7000-8000-000000000001",
  author: "alice",
  content: "hello, git",
  type: "message",
  created_at: "2026-03-04T05:06:07.000Z",
};

test("a commit is byte-for-byte the one the git CLI makes from the same file", async () => {
  const store = await ChannelStore.open(join(tempDir(), "c.git"));
  const ours = await commitMessages(store, [fixedRecord], author);

  const work = tempDir();
  await runGit(["init", "-q", "-b", "main", work]);
  const path = messagePath(fixedRecord, 0);
  mkdirSync(join(work, path, ".."), { recursive: true });
  writeFileSync(join(work, path), encodeMessage(fixedRecord));
  await runGit(["add", path], { cwd: work });
  const tree = (await runGit(["write-tree"], { cwd: work })).stdout.trim();
  const env = {
    GIT_AUTHOR_NAME: "alice",
    GIT_AUTHOR_EMAIL: "alice@gitchat.invalid",
    GIT_AUTHOR_DATE: "1772600767 +0000",
    GIT_COMMITTER_NAME: "gitchat",
    GIT_COMMITTER_EMAIL: "gitchat@localhost",
    GIT_COMMITTER_DATE: "1772600767 +0000",
  };
  const theirs = (await runGit(["commit-tree", tree, "-m", `alice: ${fixedRecord.content}`], { cwd: work, env })).stdout.trim();
  expect(ours).toBe(theirs);
});

test("messages land at messages/YYYY/MM/DD/000/<id>.json on main, readable by git log and git show", async () => {
  const gitdir = join(tempDir(), "c.git");
  const store = await ChannelStore.open(gitdir);
  const first = record(1);
  const second = record(2, Date.parse("2026-03-05T23:59:59.999Z"));
  await commitMessages(store, [first], author);
  const head = await commitMessages(store, [second], author);

  const log = await runGit(["--git-dir", gitdir, "log", "--format=%H %an %s", "main"]);
  expect(log.code).toBe(0);
  expect(log.stdout.trim().split("\n")).toHaveLength(2);
  expect(log.stdout.trim().split("\n")[0]).toBe(`${head} alice alice: message number 2`);
  const names = await runGit(["--git-dir", gitdir, "ls-tree", "-r", "--name-only", "main"]);
  expect(names.stdout.trim().split("\n")).toEqual([
    `messages/2026/03/04/000/${first.id}.json`,
    `messages/2026/03/05/000/${second.id}.json`,
  ]);
  const shown = await runGit(["--git-dir", gitdir, "show", `main:messages/2026/03/05/000/${second.id}.json`]);
  expect(JSON.parse(shown.stdout)).toEqual(second);
  expect(Object.keys(JSON.parse(shown.stdout))).toEqual(["id", "author", "content", "type", "created_at"]);
  expect((await runGit(["--git-dir", gitdir, "symbolic-ref", "HEAD"])).stdout.trim()).toBe("refs/heads/main");
  const check = await fsck(gitdir);
  expect(check.stderr).toBe("");
  expect(check.code).toBe(0);
});

test("one commit holds a whole batch, and the files a commit introduced are found again", async () => {
  const store = await ChannelStore.open(join(tempDir(), "c.git"));
  const batch = Array.from({ length: 25 }, (_, i) => record(i));
  const commit = await commitMessages(store, batch, author);
  const { added, altered, parents } = await store.introducedFiles(commit, isMessagePath);
  expect(parents).toEqual([]);
  expect(altered).toEqual([]);
  expect(added.map((f) => f.path).sort()).toEqual(batch.map((m) => messagePath(m, 0)).sort());
  const later = record(100);
  const next = await commitMessages(store, [later], author);
  expect((await store.introducedFiles(next, isMessagePath)).added.map((f) => f.path)).toEqual([messagePath(later, 0)]);
  expect(await store.listFiles(next, isMessagePath)).toHaveLength(26);
});

test("a commit made elsewhere that adds a file between others, alters one and removes one: only the added file is new, the altered one is reported", async () => {
  const gitdir = join(tempDir(), "c.git");
  const store = await ChannelStore.open(gitdir);
  const [first, middle, last] = [record(1), record(2), record(3)];
  const base = await commitMessages(store, [first, middle, last], author);
  // By the git CLI, as another program pushing around gitchat would: in the same
  // directory, `middle` is removed, `first` rewritten, and a file sorted between them added.
  const env = { GIT_DIR: gitdir, GIT_INDEX_FILE: join(tempDir(), "index"), ...Object.fromEntries(["AUTHOR", "COMMITTER"].flatMap((w) => [[`GIT_${w}_NAME`, "x"], [`GIT_${w}_EMAIL`, "x@x"]])) };
  const blob = async (text: string) => (await runGit(["hash-object", "-w", "--stdin"], { env, stdin: text })).stdout.trim();
  const between = { ...record(0), id: `${first.id.slice(0, -1)}${first.id.endsWith("f") ? "e" : "f"}` };
  const [low, high] = first.id < between.id ? [first, between] : [between, first];
  expect(low.id < high.id && high.id < middle.id).toBe(true);
  await runGit(["read-tree", base], { env });
  await runGit(["rm", "--cached", "-q", messagePath(middle, 0)], { env });
  await runGit(["update-index", "--cacheinfo", `100644,${await blob("{}")},${messagePath(first, 0)}`], { env });
  await runGit(["update-index", "--add", "--cacheinfo", `100644,${await blob(new TextDecoder().decode(encodeMessage(between)))},${messagePath(between, 0)}`], { env });
  const tree = (await runGit(["write-tree"], { env })).stdout.trim();
  const commit = (await runGit(["commit-tree", tree, "-p", base, "-m", "elsewhere"], { env })).stdout.trim();
  const { added, altered } = await store.introducedFiles(commit, isMessagePath);
  expect({ added: added.map((f) => f.path), altered: altered.map((f) => f.path) }).toEqual({
    added: [messagePath(between, 0)],
    altered: [messagePath(first, 0)],
  });
});

test("writes queued on one repository run one at a time, in order", async () => {
  const store = await ChannelStore.open(join(tempDir(), "c.git"));
  const commits = await Promise.all(Array.from({ length: 20 }, (_, i) => commitMessages(store, [record(i)], author)));
  expect(new Set(commits).size).toBe(20);
  // Each commit's parent is the one before it: no write saw a stale head.
  for (let i = 1; i < commits.length; i++) {
    expect((await store.readCommit(commits[i]!)).parent).toEqual([commits[i - 1]!]);
  }
  expect(await store.head()).toBe(commits[19]!);
});

test("packing keeps every object readable, passes git fsck and shrinks the repository", async () => {
  const gitdir = join(tempDir(), "c.git");
  const store = await ChannelStore.open(gitdir, { packThreshold: 1_000_000 });
  const sent: MessageRecord[] = [];
  for (let i = 0; i < 300; i++) {
    const m = record(i);
    sent.push(m);
    await commitMessages(store, [m], author);
  }
  // Each commit went to disk as one small pack: 300 of them.
  const before = await runGit(["--git-dir", gitdir, "count-objects", "-v"]);
  expect(before.stdout).toContain("count: 0\n");
  expect(before.stdout).toContain("packs: 300\n");
  const result = await store.pack();
  expect(result!.objects).toBeGreaterThan(300 * 6);
  expect(result!.deltas).toBeGreaterThan(250);
  const after = await runGit(["--git-dir", gitdir, "count-objects", "-v"]);
  expect(after.stdout).toContain("packs: 1\n");
  const sizeBefore = Number(/size-pack: (\d+)/.exec(before.stdout)![1]);
  const sizePack = Number(/size-pack: (\d+)/.exec(after.stdout)![1]);
  expect(sizePack).toBeLessThan(sizeBefore / 5);
  const check = await fsck(gitdir);
  expect(check.stderr).toBe("");
  expect(check.code).toBe(0);
  const verify = await runGit(["--git-dir", gitdir, "verify-pack", "-v", join(gitdir, "objects", "pack", `${result!.pack}.idx`)]);
  expect(verify.code).toBe(0);
  // Reading after the pack, in a fresh process's view, and committing on top of it.
  const reopened = await ChannelStore.open(gitdir);
  const head = await commitMessages(reopened, [record(999)], author);
  expect(await reopened.listFiles(head, isMessagePath)).toHaveLength(301);
  expect((await fsck(gitdir)).code).toBe(0);
});

test("a pack runs beside commits without losing either", async () => {
  const gitdir = join(tempDir(), "c.git");
  // 400 commits: without fsync (not what this tests), so the run stays short on a slow disk.
  const store = await ChannelStore.open(gitdir, { packThreshold: 50, durability: "process" });
  const writes: Promise<string>[] = [];
  for (let i = 0; i < 400; i++) writes.push(commitMessages(store, [record(i)], author));
  await Promise.all(writes);
  await store.idle();
  await store.pack();
  expect(await store.listFiles((await store.head())!, isMessagePath)).toHaveLength(400);
  const check = await fsck(gitdir);
  expect(check.stderr).toBe("");
  expect(check.code).toBe(0);
});

test("after a user's git gc packs the refs, main and the remote's main are read from packed-refs, and commits go on", async () => {
  const gitdir = join(tempDir(), "c.git");
  const store = await ChannelStore.open(gitdir);
  const first = await commitMessages(store, [record(1)], author);
  await store.setRemoteHead(first);
  const second = await commitMessages(store, [record(2)], author);
  expect((await runGit(["--git-dir", gitdir, "pack-refs", "--all"])).code).toBe(0);
  expect(existsSync(join(gitdir, "refs", "heads", "main"))).toBe(false);
  expect(existsSync(join(gitdir, "refs", "remotes", "origin", "main"))).toBe(false);

  const reopened = await ChannelStore.open(gitdir);
  expect([await reopened.head(), reopened.remoteHead()]).toEqual([second, first]);
  const third = await commitMessages(reopened, [record(3)], author);
  expect((await runGit(["--git-dir", gitdir, "rev-parse", "main", "origin/main"])).stdout.trim().split("\n")).toEqual([third, first]);
  expect((await fsck(gitdir)).code).toBe(0);
});
