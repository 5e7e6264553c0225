/**
 * What another server (or anyone with push access) puts on the shared remote
 * is held to the same rules as what is sent here. The hostile commits are made
 * with the git CLI in a clone of the real smart-HTTP remote, and pushed to it.
 */
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { encodeMessage, messagePath, type MessageRecord } from "../../src/messages/layout.ts";
import { call } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { standInSettings, startGitHub, type GitHubStandIn } from "../support/github.ts";
import { runCli } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";
import { ALICE, contents, send, syncedGitchat } from "./support.ts";

const running: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  for (const item of running.splice(0).reverse()) await item.close();
});

const standIn = async () => {
  const github = await startGitHub({ users: [{ login: "alice", token: ALICE }] });
  running.push({ close: () => github.stop() });
  return github;
};

/** A server that has sent `sent` and pushed them; closed by the test when it runs the CLI on its data directory. */
const serverWith = async (github: GitHubStandIn, sent: string[]) => {
  const gitchat = await syncedGitchat(github);
  running.push(gitchat);
  const messages = [];
  for (const content of sent) messages.push(await send(gitchat, content));
  expect((await call(gitchat, "POST", "/push")).body.success).toBe(true);
  return { gitchat, messages };
};

const closeServer = async (gitchat: Awaited<ReturnType<typeof syncedGitchat>>) => {
  running.splice(running.indexOf(gitchat), 1);
  await gitchat.close();
};

const IDENTITY = {
  GIT_AUTHOR_NAME: "mallory",
  GIT_AUTHOR_EMAIL: "mallory@example.invalid",
  GIT_COMMITTER_NAME: "mallory",
  GIT_COMMITTER_EMAIL: "mallory@example.invalid",
};

/** A clone of the remote made by the git CLI, which pushes over smart HTTP with the token in a header. */
const hostileClone = async (github: GitHubStandIn) => {
  const dir = tempDir("gitchat-hostile-");
  running.push({ close: async () => rmSync(dir, { recursive: true, force: true }) });
  const auth = ["-c", `http.extraHeader=Authorization: Basic ${btoa(`x-access-token:${ALICE}`)}`];
  const git = async (...args: string[]) => {
    const result = await runGit([...auth, "-C", dir, ...args], { env: IDENTITY });
    if (result.code !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout;
  };
  await git("clone", "-q", github.remoteUrl("alice", "chat"), ".");
  return {
    git,
    /** Writes a message file as gitchat lays it out (or raw bytes at a message's path). */
    write: (message: MessageRecord, bytes: Uint8Array | string = encodeMessage(message)) => {
      const path = messagePath(message, 0);
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), bytes);
      return path;
    },
  };
};

const message = (content: string, extra: Partial<MessageRecord> = {}): MessageRecord => ({
  id: Bun.randomUUIDv7(),
  author: "mallory",
  content,
  type: "message",
  created_at: new Date().toISOString(),
  ...extra,
});

/** Where a message sent through the API lies in git (its answer carries `timestamp`, its `created_at`). */
const pathOf = (sent: { id: string }) => messagePath({ id: sent.id, created_at: (sent as { id: string; timestamp: string }).timestamp }, 0);

const localTree = async (dataDir: string) =>
  (await runGit(["--git-dir", join(dataDir, "repos", "alice", "chat.git"), "ls-tree", "-r", "main"])).stdout;

/** `gitchat verify` as a user runs it, on a stopped server's data directory. */
const verify = (dataDir: string, github: GitHubStandIn) => runCli(["verify"], { dataDir, env: standInSettings(github, { token: ALICE }) });

test("content from the remote that breaks the message rules is quarantined: never served, reported in sync.last_error and by verify", async () => {
  const github = await standIn();
  const { gitchat } = await serverWith(github, ["hello"]);

  const clone = await hostileClone(github);
  const long = clone.write(message("x".repeat(10_001)));
  const nul = clone.write(message("null\u0000byte"));
  clone.write(message("a fair message from elsewhere"));
  await clone.git("add", "-A");
  await clone.git("commit", "-q", "-m", "hostile content");
  await clone.git("push", "-q", "origin", "main");
  const hostile = (await clone.git("rev-parse", "HEAD")).trim();

  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  expect(await contents(gitchat)).toEqual(["hello", "a fair message from elsewhere"]);
  const sync = (await call(gitchat, "GET", "/repositories")).body[0].sync;
  expect(sync.last_error).toContain("2 message file(s) from the remote were quarantined");
  expect(sync.last_error).toContain(`${long}: content is 10,001 characters long`);
  expect(sync.last_error).toContain(`${nul}: content must not contain NUL characters`);

  await closeServer(gitchat);
  const verified = await verify(gitchat.dataDir, github);
  expect(verified.stdout).toContain(`${long} is quarantined: content is 10,001 characters long`);
  expect(verified.stdout).toContain(`${nul} is quarantined: content must not contain NUL characters`);
  // Pushed around gitchat, so signed by no server's key.
  expect(verified.stdout).toContain(`commit ${hostile} "hostile content": unsigned`);
  expect(verified.code).toBe(1);
}, 30_000);

test("a file that is not a valid message (bad JSON, wrong fields, wrong path, bad type, author, author id or bot mark, a taken id) is quarantined with its reason", async () => {
  const github = await standIn();
  const { gitchat, messages } = await serverWith(github, ["hello"]);

  const clone = await hostileClone(github);
  const moved = message("moved");
  const marked = message("a bot?");
  const paths = {
    bot: clone.write(marked, JSON.stringify({ ...marked, bot: "yes" })),
    json: clone.write(message("x"), "{not json"),
    fields: clone.write(message("x"), JSON.stringify({ id: "x", content: 42 })),
    // The right id, but a time on another day than the path's.
    moved: clone.write(moved, encodeMessage({ ...moved, created_at: "2001-01-01T00:00:00.000Z" })),
    type: clone.write(message("typed", { type: "Not A Type" })),
    author: clone.write(message("named", { author: "<script>" })),
    authorId: clone.write(message("claimed", { author_id: "root" })),
    blank: clone.write(message(" \n ")),
    // A valid message in itself, at the path its time gives, under the id of ours.
    taken: clone.write(message("impostor", { id: messages[0]!.id, created_at: "2001-01-01T00:00:00.000Z" })),
  };
  await clone.git("add", "-A");
  await clone.git("commit", "-q", "-m", "malformed files");
  await clone.git("push", "-q", "origin", "main");

  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  expect(await contents(gitchat)).toEqual(["hello"]);
  const error: string = (await call(gitchat, "GET", "/repositories")).body[0].sync.last_error;
  expect(error).toContain("9 message file(s) from the remote were quarantined");
  expect(error).toContain(`${paths.bot}: has a "bot" that is not true or false`);
  expect(error).toContain(`${paths.json}: not valid UTF-8 JSON`);
  expect(error).toContain(`${paths.fields}: has no string "author"`);
  expect(error).toContain(`${paths.moved}: the path does not match the message's id and time`);
  expect(error).toContain(`${paths.type}: type "Not A Type" is not valid`);
  expect(error).toContain(`${paths.author}: a name must be 1 to 64 characters`);
  expect(error).toContain(`${paths.authorId}: author_id "root" is not local:LOGIN, github:ID, slack:ID or mattermost:USERNAME`);
  expect(error).toContain(`${paths.blank}: content must not be empty`);
  expect(error).toContain(`${paths.taken}: the id is already held by ${pathOf(messages[0]!)}`);
}, 30_000);

test("a quarantined file is reported once, even when a rewritten history brings it again", async () => {
  const github = await standIn();
  const { gitchat } = await serverWith(github, ["hello"]);
  const clone = await hostileClone(github);
  clone.write(message("y".repeat(20_000)));
  await clone.git("add", "-A");
  await clone.git("commit", "-q", "-m", "too long");
  await clone.git("push", "-q", "origin", "main");
  await call(gitchat, "POST", "/pull");
  expect((await call(gitchat, "GET", "/repositories")).body[0].sync.last_error).toContain("quarantined");

  // The same file in a new commit (the old one reworded), and a fair message after it.
  await clone.git("commit", "-q", "--amend", "-m", "reworded");
  clone.write(message("later, and fine"));
  await clone.git("add", "-A");
  await clone.git("commit", "-q", "-m", "fine");
  await clone.git("push", "-q", "--force", "origin", "main");
  await call(gitchat, "POST", "/pull");
  expect(await contents(gitchat)).toEqual(["hello", "later, and fine"]);
  expect((await call(gitchat, "GET", "/repositories")).body[0].sync.last_error).toBeNull();
  expect(gitchat.lines.filter((line) => line.includes("quarantined"))).toHaveLength(1);
}, 30_000);

test("a message file deleted on the remote stays served and in this server's tree, and the next push restores it there", async () => {
  const github = await standIn();
  const { gitchat, messages } = await serverWith(github, ["keep me", "and me"]);
  const doomed = pathOf(messages[0]!);

  const clone = await hostileClone(github);
  await clone.git("rm", "-q", doomed);
  await clone.git("commit", "-q", "-m", "delete a message");
  await clone.git("push", "-q", "origin", "main");
  const deletion = (await clone.git("rev-parse", "HEAD")).trim();

  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  expect(await contents(gitchat)).toEqual(["keep me", "and me"]);
  expect(await localTree(gitchat.dataDir)).toContain(doomed);
  expect((await call(gitchat, "GET", "/repositories")).body[0].sync.last_error).toBe(
    `the remote's history dropped or changed file(s) this server holds (${doomed}); merged so that they are kept`,
  );
  expect((await call(gitchat, "POST", "/push")).body.success).toBe(true);
  const remote = await runGit(["--git-dir", github.repoPath("alice", "chat"), "ls-tree", "-r", "--name-only", "main"]);
  expect(remote.stdout).toContain(doomed);

  await closeServer(gitchat);
  const verified = await verify(gitchat.dataDir, github);
  expect(verified.stdout).toContain("alice/chat: 2 message(s) in git, 2 indexed, consistent; 1 of 4 commit(s) not signed by a key in .gitchat/signers/");
  expect(verified.stdout).toContain(`commit ${deletion} "delete a message": unsigned`);
  expect(verified.code).toBe(1);
}, 30_000);

test("a message file changed on the remote keeps the original at its path, and both versions stay in git", async () => {
  const github = await standIn();
  const { gitchat, messages } = await serverWith(github, ["what I said"]);
  const sent = messages[0]!;
  const path = pathOf(sent);

  const clone = await hostileClone(github);
  const created_at = (sent as typeof sent & { timestamp: string }).timestamp;
  clone.write({ id: sent.id, author: "alice", content: "what I never said", type: "message", created_at });
  await clone.git("commit", "-q", "-am", "rewrite a message");
  await clone.git("push", "-q", "origin", "main");

  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  expect(await contents(gitchat)).toEqual(["what I said"]);
  // The server's log says which commit changed which message.
  const rewrite = (await clone.git("rev-parse", "HEAD")).trim();
  expect(gitchat.lines.filter((line) => line.includes(" was changed by commit "))).toEqual([
    `alice/chat: ${path} was changed by commit ${rewrite}; both versions are kept in git`,
  ]);
  const dir = join(gitchat.dataDir, "repos", "alice", "chat.git");
  expect(JSON.parse((await runGit(["--git-dir", dir, "show", `main:${path}`])).stdout).content).toBe("what I said");
  const copy = (await localTree(gitchat.dataDir)).split("\n").find((line) => line.includes(`${sent.id}.conflict-`))!;
  expect(copy).toBeDefined();
  const copyPath = copy.split("\t")[1]!;
  expect(JSON.parse((await runGit(["--git-dir", dir, "show", `main:${copyPath}`])).stdout).content).toBe("what I never said");

  await closeServer(gitchat);
  const verified = await verify(gitchat.dataDir, github);
  expect(verified.stdout).toContain(`${copyPath} is another version of ${path}, changed by a commit; both are kept, the original is served`);
  expect(verified.stdout).toContain(`commit ${rewrite} "rewrite a message": unsigned`);
  expect(verified.code).toBe(1);
}, 30_000);

test("a rewritten, force-pushed remote history: its new message is indexed at the next pull, without a rebuild", async () => {
  const github = await standIn();
  const { gitchat } = await serverWith(github, ["mine, pushed first"]);

  // Rebase this server's commit on top of a new root commit holding a new message.
  const clone = await hostileClone(github);
  await clone.git("switch", "-q", "--orphan", "rewritten");
  clone.write(message("slipped in underneath"));
  await clone.git("add", "-A");
  await clone.git("commit", "-q", "-m", "new root");
  const root = (await clone.git("rev-parse", "HEAD")).trim();
  await clone.git("cherry-pick", "main");
  await clone.git("push", "-q", "--force", "origin", "rewritten:main");

  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  const listed = (await call(gitchat, "GET", "/messages")).body as { content: string; git_hash: string }[];
  expect(listed.map((m) => m.content).sort()).toEqual(["mine, pushed first", "slipped in underneath"]);
  // Indexed with the commit that added it, as every server that pulls it will say.
  expect(listed.find((m) => m.content === "slipped in underneath")!.git_hash).toBe(root);

  await closeServer(gitchat);
  const verified = await verify(gitchat.dataDir, github);
  expect(verified.stdout).toContain("alice/chat: 2 message(s) in git, 2 indexed, consistent");
  // The rewrite made new, unsigned commits: the root, and the copy of this server's commit (a copy keeps no signature).
  expect(verified.stdout).toContain(`commit ${root} "new root": unsigned`);
  expect(verified.stdout).toContain("2 of 4 commit(s) not signed by a key in .gitchat/signers/");
  expect(verified.code).toBe(1);
}, 30_000);

test("a force-pushed unrelated history: this server's message is kept and pushed back, the remote's is indexed", async () => {
  const github = await standIn();
  const { gitchat, messages } = await serverWith(github, ["mine"]);
  const clone = await hostileClone(github);
  await clone.git("switch", "-q", "--orphan", "other");
  clone.write(message("a whole new history"));
  await clone.git("add", "-A");
  await clone.git("commit", "-q", "-m", "start again");
  await clone.git("push", "-q", "--force", "origin", "other:main");

  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  expect((await contents(gitchat)).sort()).toEqual(["a whole new history", "mine"]);
  expect(await localTree(gitchat.dataDir)).toContain(pathOf(messages[0]!));
  expect((await call(gitchat, "POST", "/push")).body.success).toBe(true);
  const remote = await runGit(["--git-dir", github.repoPath("alice", "chat"), "ls-tree", "-r", "--name-only", "main"]);
  expect(remote.stdout).toContain(pathOf(messages[0]!));
}, 30_000);

test("a message the remote deleted, then brought back with a merge, is indexed when it is back", async () => {
  const github = await standIn();
  const { gitchat } = await serverWith(github, ["hello"]);
  const clone = await hostileClone(github);
  const back = clone.write(message("gone, then back"));
  await clone.git("add", "-A");
  await clone.git("commit", "-q", "-m", "add");
  await clone.git("branch", "side");
  await clone.git("rm", "-q", back);
  await clone.git("commit", "-q", "-m", "remove");
  await clone.git("push", "-q", "origin", "main");
  await call(gitchat, "POST", "/pull");
  expect(await contents(gitchat)).toEqual(["hello"]);

  // A merge with the side branch that still has the file, taking it back as it was there:
  // no commit after the indexed one adds it, only the head's tree holds it.
  await clone.git("switch", "-q", "side");
  clone.write(message("from the side"));
  await clone.git("add", "-A");
  await clone.git("commit", "-q", "-m", "side");
  await clone.git("switch", "-q", "main");
  await clone.git("merge", "-q", "--no-edit", "side");
  await clone.git("checkout", "side", "--", back);
  await clone.git("commit", "-q", "--amend", "--no-edit");
  await clone.git("push", "-q", "origin", "main");

  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  expect(await contents(gitchat)).toEqual(["hello", "gone, then back", "from the side"]);
}, 30_000);

test("events from the remote obey the rules too: a malformed one is quarantined, an edit by someone else than the author changes nothing", async () => {
  const github = await standIn();
  const { gitchat, messages } = await serverWith(github, ["the plan stands"]);
  const target = messages[0]!.id;
  const author = (await call(gitchat, "GET", "/messages")).body[0].author as string;

  const clone = await hostileClone(github);
  const paths = {
    noTarget: clone.write(message("rewritten", { type: "edit" })),
    badTarget: clone.write(message("rewritten", { type: "edit", target: "not-an-id" })),
    badEmoji: clone.write(message("not an emoji", { type: "react", target })),
    deleteWithText: clone.write(message("kept text", { type: "delete", target })),
    unknownKind: clone.write(message("?", { type: "pin", target })),
  };
  // Well-formed, but not the author's and not marked as an admin's: indexed, and counted for nothing.
  clone.write(message("the plan is off", { type: "edit", target }));
  await clone.git("add", "-A");
  await clone.git("commit", "-q", "-m", "hostile events");
  await clone.git("push", "-q", "origin", "main");

  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  const shown = (await call(gitchat, "GET", "/messages")).body as { content: string; edited_at: string | null; reactions: unknown[] }[];
  expect(shown.map((m) => [m.content, m.edited_at, m.reactions.length])).toEqual([["the plan stands", null, 0]]);
  expect(author).not.toBe("mallory");
  const error: string = (await call(gitchat, "GET", "/repositories")).body[0].sync.last_error;
  expect(error).toContain("5 message file(s) from the remote were quarantined");
  expect(error).toContain(`${paths.noTarget}: type "edit" is an event's: it needs the target message it changes`);
  expect(error).toContain(`${paths.badTarget}: target must be a message id`);
  expect(error).toContain(`${paths.badEmoji}: "not an emoji" is not a reaction`);
  expect(error).toContain(`${paths.deleteWithText}: a delete carries no content`);
  expect(error).toContain(`${paths.unknownKind}: type "pin" is not an event`);
}, 30_000);
