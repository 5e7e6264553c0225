import { commitMessages } from "../../src/messages/layout.ts";
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { messagePath } from "../../src/messages/layout.ts";
import { databasePath, dropDatabase } from "../../src/gitchat.ts";
import { call, openTestGitchat } from "../support/app.ts";
import { CLI, ROOT } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";
import { messageKey } from "../../src/db/database.ts";

const everything = async (gitchat: Awaited<ReturnType<typeof openTestGitchat>>) => {
  const all = (await call(gitchat, "GET", "/messages?limit=1000")).body as Record<string, unknown>[];
  // The cursor is arrival order at this database, so it is not part of what must match.
  return all.map(({ cursor: _cursor, ...rest }) => rest);
};

test("a deleted database is rebuilt from git at start-up with the same messages", async () => {
  const dataDir = tempDir();
  const first = await openTestGitchat({ dataDir });
  expect((await call(first, "POST", "/repositories", { owner: "Alice", name: "Team" })).status).toBe(201);
  await Promise.all(Array.from({ length: 30 }, (_, i) => call(first, "POST", "/messages", { content: `general ${i}` })));
  for (let i = 0; i < 10; i++) await call(first, "POST", "/messages", { content: `team ${i}\n<b>x</b>`, repository: "alice/team", type: "note" });
  const before = await everything(first);
  const channels = (await call(first, "GET", "/repositories")).body;
  await first.close();
  expect(before).toHaveLength(40);

  dropDatabase(dataDir);
  expect(existsSync(databasePath(dataDir))).toBe(false);
  const second = await openTestGitchat({ dataDir });
  expect(await everything(second)).toEqual(before);
  // Channels come back with their names as they were written, letter case included.
  expect((await call(second, "GET", "/repositories")).body.map((r: { full_name: string }) => r.full_name).sort()).toEqual(
    channels.map((r: { full_name: string }) => r.full_name).sort(),
  );
  await second.close();
});

test("a message committed to git but not yet indexed (a crash between the two) is indexed at start-up", async () => {
  const dataDir = tempDir();
  const first = await openTestGitchat({ dataDir });
  await call(first, "POST", "/messages", { content: "indexed" });
  const store = first.repositories.resolve("local/general").store;
  // What a crash right after the commit leaves: the commit, and no row.
  const orphan = {
    id: Bun.randomUUIDv7(),
    author: "local",
    content: "committed, then the process died",
    type: "message",
    created_at: new Date().toISOString(),
  };
  const commit = await commitMessages(store, [orphan], { name: "local", email: "local@gitchat.invalid", timestamp: Date.now() });
  await first.close();

  const second = await openTestGitchat({ dataDir });
  const listed = (await call(second, "GET", "/messages")).body as { id: string; git_hash: string }[];
  expect(listed.map((m) => m.id)).toContain(orphan.id);
  expect(listed.find((m) => m.id === orphan.id)!.git_hash).toBe(commit);
  await second.close();
});

const runCli = async (args: string[], dataDir: string) => {
  const proc = Bun.spawn([process.execPath, CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
};

test("gitchat rebuild recreates the index and gitchat verify finds it consistent", async () => {
  const dataDir = tempDir();
  const gitchat = await openTestGitchat({ dataDir });
  for (let i = 0; i < 5; i++) await call(gitchat, "POST", "/messages", { content: `m${i}` });
  await gitchat.close();

  const rebuilt = await runCli(["rebuild"], dataDir);
  expect(rebuilt.stderr).toBe("");
  expect(rebuilt.code).toBe(0);
  expect(rebuilt.stdout).toContain("5 message(s)");

  const verified = await runCli(["verify"], dataDir);
  expect(verified.code).toBe(0);
  expect(verified.stdout).toContain("local/general: 5 message(s) in git, 5 indexed, consistent");
});

test("gitchat verify fails, naming the message, when the index lost one that git holds", async () => {
  const dataDir = tempDir();
  const gitchat = await openTestGitchat({ dataDir });
  const sent = (await call(gitchat, "POST", "/messages", { content: "will vanish from the index" })).body;
  await call(gitchat, "POST", "/messages", { content: "stays" });
  gitchat.db.sqlite.run("DELETE FROM messages WHERE id = ?", [messageKey(sent.id)]);
  await gitchat.close();

  const verified = await runCli(["verify"], dataDir);
  expect(verified.code).toBe(1);
  expect(verified.stdout).toContain(`${sent.id}.json is in git but not in the index`);
});

test("gitchat verify fails, naming the message, when the index holds one that git does not", async () => {
  const dataDir = tempDir();
  const gitchat = await openTestGitchat({ dataDir });
  await call(gitchat, "POST", "/messages", { content: "in both" });
  const channel = gitchat.repositories.resolve("local/general");
  const stray = { id: Bun.randomUUIDv7(), author: "local", content: "only indexed", type: "message", created_at: new Date().toISOString() };
  gitchat.db.insertMessages(channel.id, [{ message: stray, gitHash: (await channel.store.head())! }], (await channel.store.head())!);
  await gitchat.close();

  const verified = await runCli(["verify"], dataDir);
  expect(verified.stdout).toContain(`message ${stray.id} is indexed but not in git's head`);
  expect(verified.code).toBe(1);
});

test("gitchat verify fails, naming the file, when the index's copy of a message differs from git's", async () => {
  const dataDir = tempDir();
  const gitchat = await openTestGitchat({ dataDir });
  const sent = (await call(gitchat, "POST", "/messages", { content: "as written" })).body;
  gitchat.db.sqlite.run("UPDATE messages SET content = 'not as written' WHERE id = ?", [messageKey(sent.id)]);
  await gitchat.close();

  const verified = await runCli(["verify"], dataDir);
  expect(verified.stdout).toContain(`${sent.id}.json differs between git and the index`);
  expect(verified.code).toBe(1);
});

test("a message's author id comes back from git after the index is deleted, and gitchat verify notices an index that changed it", async () => {
  const dataDir = tempDir();
  let gitchat = await openTestGitchat({ dataDir });
  const { message } = await gitchat.messages.send({ viewer: { operator: true }, content: "signed", author: { name: "Ada Lovelace", id: "local:ada" } });
  await gitchat.close();
  dropDatabase(dataDir);
  gitchat = await openTestGitchat({ dataDir });
  const [listed] = (await call(gitchat, "GET", "/messages")).body;
  expect([listed.author, listed.author_id]).toEqual(["Ada Lovelace", "local:ada"]);
  gitchat.db.sqlite.run("UPDATE messages SET author_id = 'local:mallory' WHERE id = ?", [messageKey(message.id)]);
  await gitchat.close();

  const verified = await runCli(["verify"], dataDir);
  expect(verified.stdout).toContain(`${message.id}.json differs between git and the index`);
  expect(verified.code).toBe(1);
});

test("a rebuild quarantines a file that repeats an id indexed many files earlier, and keeps the first", async () => {
  const dataDir = tempDir();
  const gitchat = await openTestGitchat({ dataDir });
  const store = gitchat.repositories.resolve("local/general").store;
  const author = { name: "local", email: "local@gitchat.invalid", timestamp: Date.now() };
  const now = Date.now();
  // More files than one index transaction holds, so the repeat is checked against the database, not the batch.
  const messages = Array.from({ length: 600 }, (_, i) => ({
    id: Bun.randomUUIDv7("hex", now + i),
    author: "local",
    content: `original ${i}`,
    type: "message",
    created_at: new Date(now + i).toISOString(),
  }));
  await commitMessages(store, messages, author);
  const impostor = { ...messages[0]!, content: "impostor", created_at: "2001-01-01T00:00:00.000Z" };
  const placed = new Map<string, number>();
  await commitMessages(store, [impostor], author, placed);
  await gitchat.close();

  const rebuilt = await runCli(["rebuild"], dataDir);
  expect(rebuilt.code).toBe(0);
  expect(rebuilt.stdout).toContain("600 message(s)");
  expect(rebuilt.stdout).toContain(
    `${messagePath(impostor, placed.get(impostor.id)!)} in commit`,
  );
  expect(rebuilt.stdout).toContain(`is quarantined: the id is already held by ${messagePath(messages[0]!, 0)}`);
});

test("messages indexed by a rebuild are found by search, and so is one sent after it", async () => {
  const dataDir = tempDir();
  const first = await openTestGitchat({ dataDir });
  for (let i = 0; i < 3; i++) await call(first, "POST", "/messages", { content: `quarterly report draft ${i}` });
  await first.close();
  dropDatabase(dataDir);

  const second = await openTestGitchat({ dataDir });
  const rebuilt = (await call(second, "GET", "/messages?q=quarterly")).body as { content: string }[];
  expect(rebuilt.map((m) => m.content)).toEqual(["quarterly report draft 0", "quarterly report draft 1", "quarterly report draft 2"]);
  await call(second, "POST", "/messages", { content: "the quarterly numbers are in" });
  const found = (await call(second, "GET", "/messages?q=quarterly")).body as { content: string }[];
  expect(found.map((m) => m.content)).toEqual(["quarterly report draft 0", "quarterly report draft 1", "quarterly report draft 2", "the quarterly numbers are in"]);
  await second.close();
});
