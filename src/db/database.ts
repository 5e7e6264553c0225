/**
 * The SQLite index: every message with the commit that holds it, the
 * channels, and how far each channel's history has been indexed. Git is the
 * source of truth; this file can always be deleted and rebuilt from it.
 */
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";

export type MessageRow = {
  cursor: number;
  id: string;
  repository: string;
  author: string;
  content: string;
  type: string;
  created_at: string;
  git_hash: string;
};

export type RepositoryRow = {
  id: number;
  owner: string;
  name: string;
  created_at: string;
  indexed_commit: string | null;
};

export type NewMessage = {
  id: string;
  author: string;
  content: string;
  type: string;
  created_at: string;
};

const MIGRATIONS = [
  `CREATE TABLE repositories (
     id INTEGER PRIMARY KEY,
     owner TEXT NOT NULL,
     name TEXT NOT NULL,
     created_at TEXT NOT NULL,
     indexed_commit TEXT,
     UNIQUE (owner COLLATE NOCASE, name COLLATE NOCASE)
   );
   CREATE TABLE messages (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL,
     repository_id INTEGER NOT NULL REFERENCES repositories(id),
     author TEXT NOT NULL,
     content TEXT NOT NULL,
     type TEXT NOT NULL,
     created_at TEXT NOT NULL,
     git_hash TEXT NOT NULL,
     UNIQUE (repository_id, id)
   );
   CREATE INDEX messages_by_id ON messages(id);
   CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='seq');
   CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
     INSERT INTO messages_fts(rowid, content) VALUES (new.seq, new.content);
   END;`,
  `CREATE TABLE sync_state (
     repository_id INTEGER PRIMARY KEY REFERENCES repositories(id),
     last_push_at TEXT,
     last_pull_at TEXT,
     last_error TEXT,
     last_error_at TEXT
   );`,
  // Polling a channel by arrival: without it, "after a cursor" scanned the whole channel.
  `CREATE INDEX messages_by_arrival ON messages(repository_id, seq);`,
  // Message files from a remote that break the message rules: never indexed,
  // and remembered so that each is read and reported once, not on every pull.
  `CREATE TABLE quarantine (
     repository_id INTEGER NOT NULL REFERENCES repositories(id),
     path TEXT NOT NULL,
     blob TEXT NOT NULL,
     git_hash TEXT NOT NULL,
     reason TEXT NOT NULL,
     found_at TEXT NOT NULL,
     PRIMARY KEY (repository_id, path, blob)
   ) WITHOUT ROWID;`,
];

/** A message file that was not indexed, and why. */
export type QuarantinedFile = { path: string; blob: string; gitHash: string; reason: string };

export type SyncStateRow = {
  last_push_at: string | null;
  last_pull_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
};

const SELECT_MESSAGE = `SELECT m.seq AS cursor, m.id, r.owner || '/' || r.name AS repository, m.author,
  m.content, m.type, m.created_at, m.git_hash FROM messages m JOIN repositories r ON r.id = m.repository_id`;

export type MessageQuery = {
  repositoryId?: number;
  before?: string;
  after?: number;
  search?: string;
  limit: number;
};

/** Quotes every word so that user text is never read as FTS5 query syntax. */
const ftsQuery = (text: string) =>
  text
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => `"${word.replaceAll('"', '""')}"`)
    .join(" ");

export const openDatabase = (path: string) => {
  const fresh = path === ":memory:" || !existsSync(path);
  const db = new Database(path, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = NORMAL");
  db.run("PRAGMA busy_timeout = 5000");
  db.run("PRAGMA foreign_keys = ON");
  const { user_version: version } = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!;
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) db.run(MIGRATIONS[v]!);
    db.run(`PRAGMA user_version = ${MIGRATIONS.length}`);
    if (version === 0) {
      // Cursors from a database this one replaces (after a rebuild) must not
      // hide new messages: start arrival numbers above any earlier database's.
      db.run("INSERT INTO sqlite_sequence(name, seq) VALUES ('messages', ?)", [Date.now() * 1000]);
    }
  })();
  return new MessageDatabase(db, fresh);
};

export class MessageDatabase {
  private readonly insertMessage;
  private readonly setIndexed;

  constructor(readonly sqlite: Database, readonly fresh: boolean) {
    this.insertMessage = sqlite.query<void, [string, number, string, string, string, string, string]>(
      `INSERT OR IGNORE INTO messages (id, repository_id, author, content, type, created_at, git_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.setIndexed = sqlite.query<void, [string | null, number]>("UPDATE repositories SET indexed_commit = ? WHERE id = ?");
  }

  listRepositories(): RepositoryRow[] {
    return this.sqlite.query<RepositoryRow, []>("SELECT * FROM repositories ORDER BY id").all();
  }

  findRepository(owner: string, name: string): RepositoryRow | undefined {
    return (
      this.sqlite
        .query<RepositoryRow, [string, string]>(
          "SELECT * FROM repositories WHERE owner = ? COLLATE NOCASE AND name = ? COLLATE NOCASE",
        )
        .get(owner, name) ?? undefined
    );
  }

  insertRepository(owner: string, name: string, createdAt: string): RepositoryRow {
    return this.sqlite
      .query<RepositoryRow, [string, string, string]>(
        "INSERT INTO repositories (owner, name, created_at) VALUES (?, ?, ?) RETURNING *",
      )
      .get(owner, name, createdAt)!;
  }

  /**
   * Stores messages with the commit that holds each, and records `indexedCommit`
   * as indexed, in one transaction: either all of it is there or none. (Null
   * records that nothing is indexed yet: the first batches of a rebuild.)
   */
  insertMessages(
    repositoryId: number,
    rows: readonly { message: NewMessage; gitHash: string }[],
    indexedCommit: string | null,
  ) {
    this.sqlite.transaction(() => {
      for (const { message: m, gitHash } of rows) {
        this.insertMessage.run(m.id, repositoryId, m.author, m.content, m.type, m.created_at, gitHash);
      }
      this.setIndexed.run(indexedCommit, repositoryId);
    })();
  }

  hasMessage(repositoryId: number, id: string) {
    return (
      this.sqlite
        .query<{ one: number }, [number, string]>("SELECT 1 AS one FROM messages WHERE repository_id = ? AND id = ?")
        .get(repositoryId, id) !== null
    );
  }

  /** Every message id of a channel, one at a time (for `gitchat verify`). */
  *messageIds(repositoryId: number): Generator<string> {
    const query = this.sqlite.query<{ id: string }, [number]>("SELECT id FROM messages WHERE repository_id = ?");
    for (const row of query.iterate(repositoryId)) yield row.id;
  }

  /** Records files as quarantined (those already recorded stay as they were). */
  quarantine(repositoryId: number, files: readonly QuarantinedFile[], at: string) {
    const insert = this.sqlite.query<void, [number, string, string, string, string, string]>(
      "INSERT OR IGNORE INTO quarantine (repository_id, path, blob, git_hash, reason, found_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.sqlite.transaction(() => {
      for (const f of files) insert.run(repositoryId, f.path, f.blob, f.gitHash, f.reason, at);
    })();
  }

  isQuarantined(repositoryId: number, path: string, blob: string) {
    return (
      this.sqlite
        .query<{ one: number }, [number, string, string]>("SELECT 1 AS one FROM quarantine WHERE repository_id = ? AND path = ? AND blob = ?")
        .get(repositoryId, path, blob) !== null
    );
  }

  getMessage(repositoryId: number, id: string): MessageRow | undefined {
    return (
      this.sqlite
        .query<MessageRow, [number, string]>(`${SELECT_MESSAGE} WHERE m.repository_id = ? AND m.id = ?`)
        .get(repositoryId, id) ?? undefined
    );
  }

  /**
   * With `after`: what arrived after that cursor, in arrival order. Otherwise
   * the newest `limit` (older than `before`, matching `search`), in time order.
   */
  listMessages(query: MessageQuery): MessageRow[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (query.repositoryId !== undefined) {
      where.push("m.repository_id = ?");
      params.push(query.repositoryId);
    }
    if (query.search !== undefined) {
      where.push("m.seq IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)");
      params.push(ftsQuery(query.search));
    }
    if (query.after !== undefined) {
      where.push("m.seq > ?");
      params.push(query.after);
      const sql = `${SELECT_MESSAGE} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY m.seq LIMIT ?`;
      return this.sqlite.query<MessageRow, (string | number)[]>(sql).all(...params, query.limit);
    }
    if (query.before !== undefined) {
      where.push("m.id < ?");
      params.push(query.before);
    }
    const order = query.search !== undefined ? "m.seq DESC" : "m.id DESC";
    const sql = `${SELECT_MESSAGE} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ${order} LIMIT ?`;
    const rows = this.sqlite.query<MessageRow, (string | number)[]>(sql).all(...params, query.limit);
    return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The newest arrival cursor, for clients that start polling from now. */
  latestCursor(): number {
    return (
      this.sqlite.query<{ seq: number }, []>("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").get()?.seq ?? 0
    );
  }

  countMessages(repositoryId?: number): number {
    const sql =
      repositoryId === undefined
        ? "SELECT count(*) AS n FROM messages"
        : "SELECT count(*) AS n FROM messages WHERE repository_id = ?";
    const params = repositoryId === undefined ? [] : [repositoryId];
    return this.sqlite.query<{ n: number }, number[]>(sql).get(...params)!.n;
  }

  syncState(repositoryId: number): SyncStateRow {
    return (
      this.sqlite
        .query<SyncStateRow, [number]>("SELECT last_push_at, last_pull_at, last_error, last_error_at FROM sync_state WHERE repository_id = ?")
        .get(repositoryId) ?? { last_push_at: null, last_pull_at: null, last_error: null, last_error_at: null }
    );
  }

  /** Records a successful push or pull (clearing the last error), or a failure. */
  recordSync(repositoryId: number, event: { kind: "push" | "pull"; at: string } | { kind: "error"; at: string; message: string }) {
    this.sqlite.run("INSERT OR IGNORE INTO sync_state (repository_id) VALUES (?)", [repositoryId]);
    if (event.kind === "error") {
      this.sqlite.run("UPDATE sync_state SET last_error = ?, last_error_at = ? WHERE repository_id = ?", [event.message, event.at, repositoryId]);
    } else {
      const column = event.kind === "push" ? "last_push_at" : "last_pull_at";
      this.sqlite.run(`UPDATE sync_state SET ${column} = ?, last_error = NULL, last_error_at = NULL WHERE repository_id = ?`, [event.at, repositoryId]);
    }
  }

  quickCheck(): string {
    return this.sqlite.query<{ quick_check: string }, []>("PRAGMA quick_check").get()!.quick_check;
  }

  close() {
    this.sqlite.close();
  }
}
