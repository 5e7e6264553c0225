import { expect, test } from "bun:test";
import { join } from "node:path";
import { openDatabase } from "../../src/db/database.ts";
import { databaseAtVersion } from "../support/schema.ts";
import { tempDir } from "../support/tmp.ts";

const message = (n: number) => ({
  id: Bun.randomUUIDv7("hex", Date.parse("2026-01-01T00:00:00Z") + n * 1000),
  author: "alice",
  content: `message ${n}`,
  type: "message",
  created_at: new Date(Date.parse("2026-01-01T00:00:00Z") + n * 1000).toISOString(),
});

test("the database is created in WAL mode and reopens with what was stored", () => {
  const path = join(tempDir(), "g.db");
  const db = openDatabase(path);
  expect(db.fresh).toBe(true);
  expect(db.sqlite.query<{ journal_mode: string }, []>("PRAGMA journal_mode").get()!.journal_mode).toBe("wal");
  const repo = db.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  db.insertMessages(repo.id, [{ message: message(1), gitHash: "a".repeat(40) }], "a".repeat(40));
  db.close();
  const again = openDatabase(path);
  expect(again.fresh).toBe(false);
  expect(again.countMessages()).toBe(1);
  expect(again.listRepositories()[0]!.indexed_commit).toBe("a".repeat(40));
  again.close();
});

test("a message stored twice is kept once", () => {
  const db = openDatabase(join(tempDir(), "g.db"));
  const repo = db.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  const m = message(1);
  db.insertMessages(repo.id, [{ message: m, gitHash: "a".repeat(40) }], "a".repeat(40));
  db.insertMessages(repo.id, [{ message: m, gitHash: "b".repeat(40) }], "b".repeat(40));
  expect(db.countMessages()).toBe(1);
  expect(db.getMessage(repo.id, m.id)!.git_hash).toBe("a".repeat(40));
});

test("an older message that arrives later still reaches a poller holding a newer cursor", () => {
  const db = openDatabase(join(tempDir(), "g.db"));
  const repo = db.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  db.insertMessages(repo.id, [{ message: message(10), gitHash: "a".repeat(40) }], "a".repeat(40));
  const cursor = db.latestCursor();
  // Pulled from another machine: written earlier, arriving now.
  db.insertMessages(repo.id, [{ message: message(5), gitHash: "b".repeat(40) }], "b".repeat(40));
  const arrived = db.listMessages({ after: cursor, limit: 100 });
  expect(arrived.map((m) => m.content)).toEqual(["message 5"]);
  // Display order is message time.
  expect(db.listMessages({ limit: 100 }).map((m) => m.content)).toEqual(["message 5", "message 10"]);
});

test("a new database starts its cursors above any earlier one's, so a rebuild never hides messages from pollers", async () => {
  const dir = tempDir();
  const first = openDatabase(join(dir, "a.db"));
  const repo = first.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  first.insertMessages(repo.id, [{ message: message(1), gitHash: "a".repeat(40) }], "a".repeat(40));
  const oldCursor = first.latestCursor();
  await Bun.sleep(2);
  const second = openDatabase(join(dir, "b.db"));
  const repo2 = second.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  second.insertMessages(repo2.id, [{ message: message(1), gitHash: "a".repeat(40) }], "a".repeat(40));
  expect(second.listMessages({ after: oldCursor, limit: 10 })).toHaveLength(1);
});

test("paging with before walks back through time with no gap and no overlap", () => {
  const db = openDatabase(join(tempDir(), "g.db"));
  const repo = db.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  db.insertMessages(repo.id, Array.from({ length: 25 }, (_, i) => ({ message: message(i), gitHash: "a".repeat(40) })), "a".repeat(40));
  const seen: string[] = [];
  let page = db.listMessages({ limit: 10 });
  while (page.length > 0) {
    seen.unshift(...page.map((m) => m.content));
    page = db.listMessages({ limit: 10, before: page[0]!.id });
  }
  expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `message ${i}`));
});

test("search matches words, newest first, and treats query syntax as plain text", () => {
  const db = openDatabase(join(tempDir(), "g.db"));
  const repo = db.insertRepository("alice", "team", "2026-01-01T00:00:00.000Z");
  const rows = ["deploy failed", "lunch?", "deploy fixed", 'quote " NEAR( *'].map((content, i) => ({
    message: { ...message(i), content },
    gitHash: "a".repeat(40),
  }));
  db.insertMessages(repo.id, rows, "a".repeat(40));
  expect(db.listMessages({ search: { terms: ["deploy"] }, limit: 10 }).map((m) => m.content)).toEqual(["deploy failed", "deploy fixed"]);
  expect(db.listMessages({ search: { terms: ["NEAR(", '"', "*"] }, limit: 10 }).map((m) => m.content)).toEqual(['quote " NEAR( *']);
});

test("channel names are unique whatever their letter case", () => {
  const db = openDatabase(join(tempDir(), "g.db"));
  db.insertRepository("Alice", "Team", "2026-01-01T00:00:00.000Z");
  expect(db.findRepository("alice", "team")?.owner).toBe("Alice");
  expect(() => db.insertRepository("alice", "TEAM", "2026-01-01T00:00:00.000Z")).toThrow();
});

test("a database from before the search index was written by the code still finds its messages, and new ones, after the upgrade", () => {
  const path = join(tempDir(), "g.db");
  // Schema version 6: the search index was filled by a trigger.
  const old = databaseAtVersion(path, 6);
  old.run("INSERT INTO repositories (owner, name, created_at) VALUES ('alice', 'team', '2026-01-01T00:00:00.000Z')");
  const m = message(1);
  old.run(
    "INSERT INTO messages (id, repository_id, author, content, type, created_at, git_hash, segment) VALUES (?, 1, ?, 'deploy before the upgrade', ?, ?, ?, 0)",
    [m.id, m.author, m.type, m.created_at, "a".repeat(40)],
  );
  old.close();

  const db = openDatabase(path);
  db.insertMessages(1, [{ message: { ...message(2), content: "deploy after the upgrade" }, gitHash: "b".repeat(40) }], "b".repeat(40));
  expect(db.listMessages({ search: { terms: ["deploy"] }, limit: 10 }).map((m) => m.content)).toEqual(["deploy before the upgrade", "deploy after the upgrade"]);
  // SQLite's own check that the search index matches the messages exactly (it throws when not).
  expect(() => db.sqlite.run("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")).not.toThrow();
});

test("an index from before accounts upgrades at start: its messages read back with no author id, and accounts can be stored", () => {
  const path = join(tempDir(), "g.db");
  // Schema version 8: the compact index, before accounts.
  const old = databaseAtVersion(path, 8);
  old.run("INSERT INTO repositories (owner, name, created_at) VALUES ('alice', 'team', '2026-01-01T00:00:00.000Z')");
  old.close();

  const upgraded = openDatabase(path);
  upgraded.insertMessages(1, [{ message: message(1), gitHash: "a".repeat(40) }], "a".repeat(40));
  upgraded.insertMessages(1, [{ message: { ...message(2), author_id: "local:alice" }, gitHash: "b".repeat(40) }], "b".repeat(40));
  expect(upgraded.listMessages({ limit: 10 }).map((m) => m.author_id)).toEqual([null, "local:alice"]);
  upgraded.sqlite.run("INSERT INTO users (login, name, role, created_at) VALUES ('alice', 'Alice', 'member', 1)");
  upgraded.close();
  // Reopened: still there, no second migration.
  const again = openDatabase(path);
  expect(again.sqlite.query("SELECT login FROM users").all()).toEqual([{ login: "alice" }]);
  again.close();
});
