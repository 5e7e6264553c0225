/**
 * The compact index (schema version 8): ids, times and commits stored in their
 * smallest exact form, one index on the id, cursors counted from a base. What
 * a user sees must not change, for a database made by the older schema too.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { MIGRATIONS, openDatabase, type MessageRow } from "../../src/db/database.ts";
import { databaseAtVersion } from "../support/schema.ts";
import { tempDir } from "../support/tmp.ts";
import { mountTmpfs, type Tmpfs } from "../support/tmpfs.ts";

const HASH_A = "a".repeat(40);
const HASH_B = "b".repeat(40);
const at = (n: number) => new Date(Date.parse("2026-01-01T00:00:00Z") + n * 1000).toISOString();
const message = (n: number, content = `message ${n}`) => ({
  id: Bun.randomUUIDv7("hex", Date.parse(at(n))),
  author: "alice",
  content,
  type: "message",
  created_at: at(n),
});

/** The message listing as the version before the compact index answered it (its SELECT, verbatim). */
// author_id: NULL, as every message of a version before accounts reads after the upgrade.
const OLD_SELECT = `SELECT m.seq AS cursor, m.id, r.owner || '/' || r.name AS repository, m.author, NULL AS author_id,
  m.content, m.type, m.created_at, m.git_hash, m.segment FROM messages m JOIN repositories r ON r.id = m.repository_id`;

test("a database made by the schema before the compact index migrates in place and answers every read as before", () => {
  const path = join(tempDir(), "g.db");
  // Schema version 7, filled as that version filled it: arrival numbers from
  // the time the database was made in microseconds, the search index by the code.
  const old = databaseAtVersion(path, 7);
  const start = 1_764_000_000_000_000;
  old.run("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', ?)", [start]);
  old.run("INSERT INTO repositories (owner, name, created_at) VALUES ('alice', 'team', '2026-01-01T00:00:00.000Z')");
  old.run("INSERT INTO repositories (owner, name, created_at) VALUES ('bo', 'ops', '2026-01-01T00:00:00.000Z')");
  const rows: [number, ReturnType<typeof message>, string, number | null][] = [
    [1, message(1, "deploy went out"), HASH_A, 0],
    [1, { ...message(2, "a notice about the deploy"), type: "notice" }, HASH_A, 0],
    // As a version without the message rules indexed it from a remote: an id in capitals, a time without milliseconds.
    [1, { ...message(3, "written elsewhere"), id: message(3).id.toUpperCase(), created_at: "2026-01-01T00:00:03Z" }, HASH_B, null],
    [2, message(4, "deploy in another channel"), HASH_B, 1],
    [1, message(5, "lunch?"), "c".repeat(40), 1],
  ];
  const insert = old.query(
    "INSERT INTO messages (id, repository_id, author, content, type, created_at, git_hash, segment) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
  );
  const addSearch = old.query("INSERT INTO messages_fts (rowid, content) VALUES (?, ?)");
  for (const [repository, m, hash, segment] of rows) {
    const { seq } = insert.get(m.id, repository, m.author, m.content, m.type, m.created_at, hash, segment) as { seq: number };
    addSearch.run(seq, m.content);
  }
  old.run("UPDATE search_index SET indexed_seq = (SELECT max(seq) FROM messages)");
  // That schema knew no bots, and checked no signatures: none is a bot's, and none is marked.
  // Nor events or threads: none is changed, and none is a reply or an event.
  const unchanged = { target: null, reply_to: null, language: null, edited_at: null, deleted: false, reply_count: 0, reactions: [] };
  const before = old
    .query<MessageRow, []>(`${OLD_SELECT} ORDER BY m.seq`)
    .all()
    .map((m) => ({ ...m, bot: false, verified: true, ...unchanged }));
  const latest = start + rows.length;
  old.close();

  const db = openDatabase(path);
  expect(db.sqlite.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version).toBe(MIGRATIONS.length);
  // Get by id: every message, every field (cursor, id, time, commit) as it was.
  expect(before.map((m) => db.getMessage(m.repository === "alice/team" ? 1 : 2, m.id))).toEqual(before);
  const inTeam = before.filter((m) => m.repository === "alice/team");
  const byId = (a: MessageRow, b: MessageRow) => (a.id < b.id ? -1 : 1);
  expect(db.listMessages({ repositoryId: 1, limit: 10 })).toEqual([...inTeam].sort(byId));
  expect(db.listMessages({ repositoryId: 1, after: before[1]!.cursor, limit: 10 })).toEqual(inTeam.filter((m) => m.cursor > before[1]!.cursor));
  expect(db.listMessages({ search: { terms: ["deploy"] }, limit: 10 }).map((m) => m.content)).toEqual([
    "deploy went out",
    "a notice about the deploy",
    "deploy in another channel",
  ]);
  expect(db.latestCursor()).toBe(latest);
  // A message stored after the upgrade arrives after every cursor handed out before it.
  db.insertMessages(1, [{ message: message(6, "deploy after the upgrade"), gitHash: "d".repeat(40) }], "d".repeat(40));
  expect(db.listMessages({ after: latest, limit: 10 }).map((m) => m.content)).toEqual(["deploy after the upgrade"]);
  expect(db.getMessage(1, rows[0]![1].id)!.git_hash).toBe(HASH_A);
  // SQLite's own check that the search index matches the messages exactly (it throws when not).
  expect(() => db.sqlite.run("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")).not.toThrow();
});

/** A schema-version-7 index of `count` messages in one channel, at `path`. */
const makeVersion7 = (path: string, count = 2000) => {
  const old = databaseAtVersion(path, 7);
  old.run("INSERT INTO repositories (owner, name, created_at) VALUES ('alice', 'team', '2026-01-01T00:00:00.000Z')");
  const insert = old.query(
    "INSERT INTO messages (id, repository_id, author, content, type, created_at, git_hash, segment) VALUES (?, 1, 'alice', ?, 'message', ?, ?, 0)",
  );
  old.transaction(() => {
    for (let n = 0; n < count; n++) insert.run(message(n).id, `message ${n} of a channel`, at(n), HASH_A);
  })();
  old.close();
};

const freePages = (db: Database) => db.query<{ freelist_count: number }, []>("PRAGMA freelist_count").get()!.freelist_count;

test("an index migrated to the compact form gives the old tables' pages back to the disk", () => {
  const path = join(tempDir(), "g.db");
  makeVersion7(path);
  const db = openDatabase(path);
  expect(freePages(db.sqlite)).toBe(0);
});

// SQLite builds the new indexes' sorts, and VACUUM its copy of the file, in
// its temporary directory (SQLITE_TMPDIR). Here that is a tmpfs of 64 KiB,
// where the sorts of 20,000 messages do not fit.
const full = mountTmpfs("64k");
if ("skip" in full) console.warn(`test/db/compact-index.test.ts: the full-disk case is skipped: ${full.skip}`);
afterAll(() => {
  if (!("skip" in full)) full.unmount();
});

test.skipIf("skip" in full)("an upgrade that runs out of temporary space stops with an error that says where, leaves the index as it was, and runs whole with room", async () => {
  const path = join(tempDir(), "g.db");
  makeVersion7(path, 20_000);
  // Its own process: SQLite reads SQLITE_TMPDIR once per process.
  const script = `
    import { openDatabase } from ${JSON.stringify(join(import.meta.dir, "../../src/db/database.ts"))};
    try { openDatabase(${JSON.stringify(path)}); } catch (error) { console.log(error.code + ": " + error.message); }
  `;
  const child = Bun.spawn([process.execPath, "-e", script], { env: { ...process.env, SQLITE_TMPDIR: (full as Tmpfs).dir }, stdout: "pipe" });
  const said = (await new Response(child.stdout).text()).trim();
  expect(said).toBe(
    `disk_full: no room to open the index ${path}: the disk holding it, or SQLite's temporary directory (SQLITE_TMPDIR, else /var/tmp or /tmp), is full. ` +
      "The index was left as it was: free space there and start gitchat again",
  );
  const old = new Database(path, { readonly: true });
  expect(old.query<{ user_version: number; n: number }, []>("SELECT (SELECT user_version FROM pragma_user_version) AS user_version, count(*) AS n FROM messages").get()).toEqual({
    user_version: 7,
    n: 20_000,
  });
  old.close();
  const db = openDatabase(path);
  expect([db.sqlite.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version, db.countMessages(1)]).toEqual([MIGRATIONS.length, 20_000]);
});

test("an id or a time not in canonical form is stored as given, found by it, and kept once", () => {
  const db = openDatabase(join(tempDir(), "g.db"));
  const repo = db.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  const canonical = message(1);
  const odd = { ...message(2), id: message(2).id.toUpperCase(), created_at: "2026-01-01T00:00:02Z" };
  db.insertMessages(repo.id, [{ message: canonical, gitHash: HASH_A }, { message: odd, gitHash: HASH_A }], HASH_A);
  db.insertMessages(repo.id, [{ message: { ...odd, content: "again" }, gitHash: HASH_B }], HASH_B);
  expect(db.countMessages(repo.id)).toBe(2);
  const read = db.getMessage(repo.id, odd.id)!;
  expect([read.id, read.created_at, read.content]).toEqual([odd.id, odd.created_at, odd.content]);
  expect(db.messagePlace(repo.id, odd.id)).toEqual({ id: odd.id, created_at: odd.created_at, segment: null });
  expect(db.getMessage(repo.id, canonical.id.toUpperCase())).toBeUndefined();
});

test("a message's type reads back as it was stored, the usual one and any other", () => {
  const db = openDatabase(join(tempDir(), "g.db"));
  const repo = db.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  const plain = message(1);
  const note = { ...message(2), type: "note" };
  db.insertMessages(repo.id, [plain, note].map((m) => ({ message: m, gitHash: HASH_A })), HASH_A);
  expect([db.getMessage(repo.id, plain.id)!.type, db.getMessage(repo.id, note.id)!.type]).toEqual(["message", "note"]);
});

test("a channel forgotten by `gitchat repair` and indexed again reads back each message with its commit", () => {
  const db = openDatabase(join(tempDir(), "g.db"));
  const team = db.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  const first = message(1);
  db.insertMessages(team.id, [{ message: first, gitHash: HASH_A }], HASH_A);
  db.forgetChannel(team.id);
  // The index walk finds the same history again: the same message under the same commit.
  db.insertMessages(team.id, [{ message: first, gitHash: HASH_A }], HASH_A);
  expect(db.getMessage(team.id, first.id)?.git_hash).toBe(HASH_A);
});

test("the listing of all channels is the newest messages of every channel together", () => {
  const db = openDatabase(join(tempDir(), "g.db"));
  const team = db.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  const ops = db.insertRepository("bo", "ops", "2026-01-01T00:00:00.000Z");
  const messages = Array.from({ length: 7 }, (_, n) => message(n));
  db.insertMessages(team.id, [1, 2, 5].map((n) => ({ message: messages[n]!, gitHash: HASH_A })), HASH_A);
  db.insertMessages(ops.id, [3, 4, 6].map((n) => ({ message: messages[n]!, gitHash: HASH_B })), HASH_B);
  expect(db.listMessages({ limit: 4 }).map((m) => m.content)).toEqual(["message 3", "message 4", "message 5", "message 6"]);
  expect(db.listMessages({ limit: 2, before: messages[5]!.id }).map((m) => m.content)).toEqual(["message 3", "message 4"]);
});

test("a search word made of several tokens matches them side by side, in order", () => {
  const db = openDatabase(join(tempDir(), "g.db"));
  const repo = db.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  const texts = ["the foo-bar job failed", "bar then foo", "foo and bar"];
  db.insertMessages(repo.id, texts.map((content, i) => ({ message: message(i, content), gitHash: HASH_A })), HASH_A);
  expect(db.listMessages({ search: { terms: ["foo-bar"] }, limit: 10 }).map((m) => m.content)).toEqual(["the foo-bar job failed"]);
});
