/**
 * The SQLite index: every message with the commit that holds it, the
 * channels, and how far each channel's history has been indexed. Git is the
 * source of truth; this file can always be deleted and rebuilt from it.
 */
import { Database, constants } from "bun:sqlite";
import { existsSync, renameSync } from "node:fs";
import { AppError, DatabaseDamagedError, DiskFullError, storageFailure } from "../errors.ts";
import { hashKey, hashKeySql, hashText, messageKey, messageKeySql, messageText, timeKey, timeKeySql, timeText } from "./keys.ts";
export { messageKey } from "./keys.ts";
import { EventFold, type Reaction } from "./fold.ts";
export type { Reaction } from "./fold.ts";

export type MessageRow = {
  cursor: number;
  id: string;
  repository: string;
  author: string;
  /** The author's stable id ("local:LOGIN"); null before accounts and in the open local mode. */
  author_id: string | null;
  /** Written by a bot account. */
  bot: boolean;
  /**
   * Whether its commit carries a good signature by a key that the commit's
   * own tree lists in .gitchat/signers/ (or is history from before signing
   * began): false for a commit pushed around gitchat.
   */
  verified: boolean;
  content: string;
  type: string;
  created_at: string;
  git_hash: string;
  /** The segment directory of its day its file is in; null for the first layout (none). */
  segment: number | null;
  /** An event's row (listings never show one): the message it changes. */
  target: string | null;
  /** The message whose thread it is in; null for a message of the channel itself. */
  reply_to: string | null;
  /** A code message's language, when it names one. */
  language: string | null;
  /** When its text was last changed by an edit (its current text is `content`); null when never. */
  edited_at: string | null;
  /** Deleted by its author or an admin: `content` is then empty. */
  deleted: boolean;
  /** How many replies (not deleted) its thread holds. */
  reply_count: number;
  reactions: Reaction[];
  /** Its files (issue 12), in the order sent; empty for a message without any. */
  attachments: IndexedAttachment[];
};

/** A message's file as the index holds it: as its message file lists it, and the blob that holds its bytes. */
export type IndexedAttachment = {
  name: string;
  type: string;
  size: number;
  path: string;
  blob: string;
  /** An image's size in pixels, when its header gives it. */
  width?: number;
  height?: number;
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
  /** The author's stable id ("local:LOGIN"); absent for a message from no account. */
  author_id?: string;
  /** Written by a bot account. */
  bot?: true;
  content: string;
  type: string;
  created_at: string;
  /** The segment directory of its day its file is in; null or absent for the first layout (none). */
  segment?: number | null;
  /** An event's: the message it changes (see EVENT_TYPES in messages/layout.ts). */
  target?: string;
  /** An event an admin made on someone else's message. */
  admin?: true;
  /** A reply's: the message whose thread it is in. */
  reply_to?: string;
  /** A code message's language. */
  language?: string;
  /** Its files, when it has any (issue 12). */
  attachments?: IndexedAttachment[];
};

export const MIGRATIONS = [
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
  // Idempotency-Key -> the message it sent, per channel. Written before the
  // commit, so that a retry finds it even when the commit landed and the
  // index insert did not (a full disk), across a restart.
  `CREATE TABLE idempotency_keys (
     repository_id INTEGER NOT NULL REFERENCES repositories(id),
     key TEXT NOT NULL,
     message_id TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (repository_id, key)
   ) WITHOUT ROWID;
   CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);`,
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
  // Which segment directory of its day a message's file is in (NULL: the first
  // layout, no segment level): the index knows each file's path, so a second
  // file with the same id elsewhere is told apart from the message itself.
  `ALTER TABLE messages ADD COLUMN segment INTEGER;`,
  // The search index is written by the code, not by a trigger: a rebuild
  // adds rows to it in large runs after the messages (a trigger, one row at a
  // time beside the other inserts, was most of a rebuild's time). It holds
  // exactly the messages up to search_index.indexed_seq.
  `DROP TRIGGER messages_fts_insert;
   CREATE TABLE search_index (one INTEGER PRIMARY KEY CHECK (one = 1), indexed_seq INTEGER NOT NULL);
   INSERT INTO search_index (one, indexed_seq) VALUES (1, coalesce((SELECT max(seq) FROM messages), 0));`,
  // The compact index: no larger than the git repository it indexes (it was
  // 1.85x; the README's "The index on disk" has the measurements). Each value is stored
  // in the smallest form that reads back exactly as the text it stands for
  // (see messageKey, timeKey and hashKey; a value of another shape stays the
  // text it is, so nothing an older version stored is lost):
  // - a message id that is a canonical UUID as 16 bytes, not 36 characters;
  // - created_at as milliseconds, where that gives back the same ISO text;
  // - the commit as a number into `commits` (a group commit holds many
  //   messages), its hash there as 20 bytes, not 40 hex characters;
  // - type NULL for "message", the type nearly every message has;
  // - one index on the id, (repository_id, id), where there were two: the
  //   other, on id alone, served only a listing of all channels, which now
  //   merges each channel's newest (listMessages);
  // - arrival numbers (seq) counted from 1, the cursor a client sees being
  //   arrival.cursor_base + seq: a cursor of this size (the time a database
  //   was made, in microseconds) took 8 bytes in every row and in both
  //   indexes, where a count takes 3;
  // - no per-row size table in the search index (columnsize=0: it serves
  //   only ranking by relevance, and search is newest first).
  // Search stays detail=full: each word of a query is a quoted phrase, and a
  // word of several tokens ("foo-bar") is a phrase query, which FTS5
  // refuses without positions (detail=column or none).
  // Cursors stay what they were: the base is the oldest arrival number less one.
  // The search index is filled again under the new numbers by catchUpSearch.
  `CREATE TABLE arrival (one INTEGER PRIMARY KEY CHECK (one = 1), cursor_base INTEGER NOT NULL);
   INSERT INTO arrival (one, cursor_base) VALUES (1, coalesce(
     (SELECT min(seq) - 1 FROM messages), (SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0));
   CREATE TABLE commits (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);
   CREATE TEMP TABLE commit_numbers (hash TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;
   INSERT INTO commit_numbers (hash, id) SELECT git_hash, row_number() OVER (ORDER BY min(seq)) FROM messages GROUP BY git_hash;
   INSERT INTO commits (id, hash) SELECT id, ${hashKeySql("hash")} FROM commit_numbers;
   CREATE TABLE messages_compact (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     repository_id INTEGER NOT NULL REFERENCES repositories(id),
     id BLOB NOT NULL,
     author TEXT NOT NULL,
     content TEXT NOT NULL,
     type TEXT,
     created_at BLOB NOT NULL,
     commit_id INTEGER NOT NULL,
     segment INTEGER
   );
   INSERT INTO messages_compact (seq, repository_id, id, author, content, type, created_at, commit_id, segment)
     SELECT m.seq - (SELECT cursor_base FROM arrival), m.repository_id, ${messageKeySql("m.id")}, m.author, m.content,
       nullif(m.type, 'message'), ${timeKeySql("m.created_at")}, c.id, m.segment
     FROM messages m JOIN commit_numbers c ON c.hash = m.git_hash ORDER BY m.seq;
   DELETE FROM sqlite_sequence WHERE name = 'messages_compact';
   INSERT INTO sqlite_sequence (name, seq)
     SELECT 'messages_compact', seq - (SELECT cursor_base FROM arrival) FROM sqlite_sequence WHERE name = 'messages';
   DROP TABLE commit_numbers;
   DROP TABLE messages_fts;
   DROP TABLE messages;
   ALTER TABLE messages_compact RENAME TO messages;
   CREATE UNIQUE INDEX messages_by_id ON messages(repository_id, id);
   CREATE INDEX messages_by_arrival ON messages(repository_id, seq);
   CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='seq', columnsize=0);
   UPDATE search_index SET indexed_seq = 0;`,
  // Accounts (see db/accounts.ts), and each message's stable author id
  // ("local:LOGIN"; NULL for a message from before accounts, or from the open
  // local mode). Secrets (invites, sessions, tokens) are kept only as their
  // SHA-256; passwords as argon2id hashes. A removed account keeps its row
  // (removed_at set), so its login, the id of its messages, is never given to
  // someone else.
  `ALTER TABLE messages ADD COLUMN author_id TEXT;
   CREATE TABLE users (
     login TEXT PRIMARY KEY COLLATE NOCASE,
     name TEXT NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('member', 'admin', 'bot')),
     password_hash TEXT,
     github_id INTEGER,
     created_at INTEGER NOT NULL,
     removed_at INTEGER
   );
   CREATE TABLE invites (
     secret_hash BLOB PRIMARY KEY,
     login TEXT NOT NULL REFERENCES users(login),
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     used_at INTEGER
   ) WITHOUT ROWID;
   CREATE TABLE sessions (
     id_hash BLOB PRIMARY KEY,
     login TEXT NOT NULL REFERENCES users(login),
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL,
     user_agent TEXT NOT NULL,
     address TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX sessions_by_login ON sessions(login);
   CREATE TABLE tokens (
     id TEXT PRIMARY KEY,
     hash BLOB NOT NULL UNIQUE,
     login TEXT NOT NULL REFERENCES users(login),
     label TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_used_at INTEGER
   );
   CREATE INDEX tokens_by_login ON tokens(login);`,
  // Bots and proof on the page. messages.bot: 1 for a message a bot account
  // wrote (NULL otherwise, and for every message indexed before). commits.unproven:
  // 1 for a commit without a good signature by a key its own tree lists in
  // .gitchat/signers/ (pushed around gitchat), outside the history from before
  // signing began; NULL for one that proves itself, and for the commits indexed
  // before this version, which were not checked (a rebuild checks every one).
  // hooks: incoming webhooks, each posting into its channel (by name, which a
  // rebuild keeps, where a channel's number may change) as its own bot
  // account; the secret in its URL kept only as its SHA-256.
  `ALTER TABLE messages ADD COLUMN bot INTEGER;
   ALTER TABLE commits ADD COLUMN unproven INTEGER;
   CREATE TABLE hooks (
     id TEXT PRIMARY KEY,
     secret_hash BLOB NOT NULL UNIQUE,
     repository TEXT NOT NULL,
     name TEXT NOT NULL,
     login TEXT NOT NULL REFERENCES users(login),
     created_at INTEGER NOT NULL
   );
   CREATE INDEX commits_unproven ON commits(id) WHERE unproven = 1;`,
  // Who sees a channel (see db/channel-access.ts): a channel with no row here
  // is public, as every channel made before this migration stays. A private
  // one is seen by its creator, its members and admins. This is this server's
  // fact, not git's: a rebuild carries it from the old index (gitchat.ts).
  `CREATE TABLE channel_access (
     repository_id INTEGER PRIMARY KEY REFERENCES repositories(id),
     private INTEGER NOT NULL CHECK (private IN (0, 1)),
     creator TEXT
   );
   CREATE TABLE channel_members (
     repository_id INTEGER NOT NULL REFERENCES repositories(id),
     login TEXT NOT NULL COLLATE NOCASE,
     added_at INTEGER NOT NULL,
     PRIMARY KEY (repository_id, login)
   ) WITHOUT ROWID;`,
  // Events and threads (see db/fold.ts). An event's row has `target` (the
  // message it changes) and `admin`; a reply has `reply_to`; a code message
  // may have `language`. A message's row holds what its events add up to:
  // its current text in `content`, `edited_at`, `deleted`, `reactions` (JSON),
  // and `reply_count`. Events are not in the search index; a deleted message's
  // text is in no column and no search. Nothing indexed before has any event.
  `ALTER TABLE messages ADD COLUMN target BLOB;
   ALTER TABLE messages ADD COLUMN admin INTEGER;
   ALTER TABLE messages ADD COLUMN reply_to BLOB;
   ALTER TABLE messages ADD COLUMN language TEXT;
   ALTER TABLE messages ADD COLUMN edited_at BLOB;
   ALTER TABLE messages ADD COLUMN deleted INTEGER;
   ALTER TABLE messages ADD COLUMN reply_count INTEGER;
   ALTER TABLE messages ADD COLUMN reactions TEXT;
   CREATE INDEX messages_by_target ON messages(repository_id, target) WHERE target IS NOT NULL;
   CREATE INDEX messages_by_thread ON messages(repository_id, reply_to, id) WHERE reply_to IS NOT NULL;`,
  // Attachments (issue 12): a message's files as JSON, [{name, type, size, path, blob}]
  // in the order sent; NULL for a message without any (every message indexed before).
  `ALTER TABLE messages ADD COLUMN attachments TEXT;`,
  // Read state (see db/read-state.ts): how far each reader has read each
  // channel, as the id of the newest message they have seen (stored as
  // messages.id is, so that "unread" is a range of the (channel, id) index).
  // A message id, not an arrival cursor: ids are the same on every server and
  // after a rebuild. `login` is an account's, or '' for the operator (the open
  // local mode and the shared ACCESS_TOKEN login: one person, one state).
  `CREATE TABLE read_state (
     login TEXT NOT NULL COLLATE NOCASE,
     repository_id INTEGER NOT NULL REFERENCES repositories(id),
     last_read BLOB NOT NULL,
     read_at INTEGER NOT NULL,
     PRIMARY KEY (login, repository_id)
   ) WITHOUT ROWID;`,
];

/** The schema version that made the index compact (the migration above). */
const COMPACT_VERSION = 8;

/** Messages added to the search index in one transaction when it catches up. */
const SEARCH_CATCH_UP = 10_000;

/** An Idempotency-Key as recorded: the message it stands for, and a digest of the request that sent it. */
export type IdempotencyKeyRow = { message_id: string; fingerprint: string };

/** A message file that was not indexed, and why. */
export type QuarantinedFile = { path: string; blob: string; gitHash: string; reason: string };

export type SyncStateRow = {
  last_push_at: string | null;
  last_pull_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
};

/** A message's columns (of the row aliased `m`), with its channel `r` and commit `c`. */
const MESSAGE_COLUMNS = `m.id, r.owner || '/' || r.name AS repository, m.author, m.author_id, m.bot, m.content, m.type,
  m.created_at, c.hash, c.unproven, m.segment, m.target, m.reply_to, m.language, m.edited_at, m.deleted, m.reply_count, m.reactions, m.attachments`;
const FROM_MESSAGE = "JOIN repositories r ON r.id = m.repository_id JOIN commits c ON c.id = m.commit_id";
const SELECT_MESSAGE = `SELECT m.seq, ${MESSAGE_COLUMNS} FROM messages m ${FROM_MESSAGE}`;
/**
 * What arrived (`a`), each as the message it is or (an event) the message it
 * changed, in its new state, under the event's arrival number: so a poller
 * sees the change as a new arrival. An event whose message is not indexed
 * (yet) gives nothing.
 */
const SELECT_ARRIVAL = `SELECT a.seq, ${MESSAGE_COLUMNS} FROM messages a
  JOIN messages m ON m.repository_id = a.repository_id AND m.id = coalesce(a.target, a.id) AND m.target IS NULL ${FROM_MESSAGE}`;

/** A row of SELECT_MESSAGE, as stored (see messageKey). */
type StoredMessage = {
  seq: number;
  id: Uint8Array | string;
  repository: string;
  author: string;
  author_id: string | null;
  bot: number | null;
  content: string;
  type: string | null;
  created_at: number | string;
  hash: Uint8Array | string;
  unproven: number | null;
  segment: number | null;
  target: Uint8Array | string | null;
  reply_to: Uint8Array | string | null;
  language: string | null;
  edited_at: number | string | null;
  deleted: number | null;
  reply_count: number | null;
  reactions: string | null;
  attachments: string | null;
};

const byId = (a: MessageRow, b: MessageRow) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export type MessageQuery = {
  repositoryId?: number;
  /** Across channels (no repositoryId): only these channels; every channel when undefined. */
  repositoryIds?: readonly number[];
  before?: string;
  after?: number;
  /** Only the messages matching all of it; newest arrivals first (see listMessages). */
  search?: MessageSearch;
  /** A thread's replies (the id of its parent) instead of the channel's own messages. */
  thread?: string;
  limit: number;
};

/** What a search asks of each message (messages/search-query.ts reads it from the user's text). */
export type MessageSearch = {
  /** Words and phrases, each found as a phrase by the full-text index. */
  terms: readonly string[];
  /** Written by an author with one of these ids, or one of these names (any ASCII letter case). */
  authors?: { ids: readonly string[]; names: readonly string[] };
  /** Sent at or after this time (ms since the epoch). */
  since?: number;
  /** Sent before this time (ms since the epoch). */
  until?: number;
  /** Holding a web address (http://, https:// or www.): what the page shows as a link, bar bare domain names. */
  link?: boolean;
  /** Holding code: a pair of backticks (inline code or a fence), or a message of type "code". */
  code?: boolean;
  /** With attachments. */
  file?: boolean;
};

/** Quotes every term (a word or a phrase) so that user text is never read as FTS5 query syntax: each is an FTS5 phrase. */
const ftsQuery = (terms: readonly string[]) => terms.map((term) => `"${term.replaceAll('"', '""')}"`).join(" ");

/** The conditions of a search, to AND into a query of SELECT_MESSAGE (whose messages are `m`). */
const searchConditions = (search: MessageSearch, where: string[], params: (string | number | Uint8Array)[]) => {
  // A deleted message keeps its author and time, but is found by no search (its text is in no column and no search index).
  where.push("m.deleted IS NOT 1");
  if (search.terms.length > 0) {
    where.push("m.seq IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)");
    params.push(ftsQuery(search.terms));
  }
  if (search.authors) {
    const { ids, names } = search.authors;
    const either = [
      ...(ids.length ? [`m.author_id IN (${ids.map(() => "?").join(", ")})`] : []),
      ...(names.length ? [`m.author COLLATE NOCASE IN (${names.map(() => "?").join(", ")})`] : []),
    ];
    where.push(either.length ? `(${either.join(" OR ")})` : "0");
    params.push(...ids, ...names);
  }
  // created_at is stored as milliseconds for every message the rules accept (readMessageFile asks for the
  // exact ISO form, which timeKey turns into a number); only rows an older version kept as other text compare otherwise.
  if (search.since !== undefined) {
    where.push("m.created_at >= ?");
    params.push(search.since);
  }
  if (search.until !== undefined) {
    where.push("m.created_at < ?");
    params.push(search.until);
  }
  // LIKE is case-insensitive for ASCII: HTTPS:// and WWW. count too.
  if (search.link) where.push("(m.content LIKE '%http://%' OR m.content LIKE '%https://%' OR m.content LIKE '%www.%')");
  if (search.code) where.push("(m.content LIKE '%`%`%' OR m.type = 'code')");
  if (search.file) where.push("m.attachments IS NOT NULL");
};

/** SQLite's failures while opening or probing `path`, as errors with stable codes (a damaged file, a read-only one). */
const asOpenFailure = (error: unknown, path: string) => {
  const failure = storageFailure(error, path) ?? error;
  if (!(failure instanceof DiskFullError)) return failure;
  // Opening is not a request to retry: say which disks, and that the migration's transaction was rolled back.
  return new DiskFullError(
    `no room to open the index ${path}: the disk holding it, or SQLite's temporary directory (SQLITE_TMPDIR, else /var/tmp or /tmp), is full. ` +
      "The index was left as it was: free space there and start gitchat again",
  );
};

/**
 * Opens the index at `path`, creating and migrating it, and checks that its
 * pages read (see `probe`): a damaged file fails here with a
 * DatabaseDamagedError that points at `gitchat rebuild`.
 *
 * With `durable` (DURABILITY=full, the default), every transaction is on the
 * disk when it commits (synchronous = FULL syncs the WAL at each commit): a
 * message's idempotency key and cursor survive a power cut with it.
 * Otherwise a power cut may roll back the last transactions, which start-up
 * then re-indexes from git.
 *
 * `readonly` (for `gitchat verify`) writes nothing at all: no migration, and
 * when no server has the file open (no `-wal` beside it) SQLite is told the
 * file is immutable, since a read-only connection to a WAL database would
 * otherwise create the `-wal` and `-shm` files. Beside a running server it
 * reads through the server's WAL like any reader.
 */
export const openDatabase = (path: string, options: { readonly?: boolean; durable?: boolean } = {}) => {
  if (options.readonly) {
    if (!existsSync(path)) throw new AppError(`there is no index at ${path}: start gitchat once, or run \`gitchat rebuild\``);
    try {
      const quiet = !existsSync(`${path}-wal`);
      const uri = `file:${encodeURI(path).replaceAll("?", "%3f").replaceAll("#", "%23")}?mode=ro${quiet ? "&immutable=1" : ""}`;
      const db = new Database(uri, constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI);
      const wrapped = new MessageDatabase(db, false, path, true);
      const { user_version: version } = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!;
      if (version !== MIGRATIONS.length) {
        throw new AppError(`the index at ${path} is at schema version ${version}, not ${MIGRATIONS.length}: start gitchat once to migrate it`);
      }
      wrapped.probe();
      return wrapped;
    } catch (error) {
      throw asOpenFailure(error, path);
    }
  }
  const fresh = path === ":memory:" || !existsSync(path);
  try {
    const db = new Database(path, { create: true, strict: true });
    db.run("PRAGMA journal_mode = WAL");
    db.run(`PRAGMA synchronous = ${options.durable === false ? "NORMAL" : "FULL"}`);
    db.run("PRAGMA busy_timeout = 5000");
    // After a checkpoint the WAL is cut back to this size instead of staying as large as the largest write ever was.
    db.run("PRAGMA journal_size_limit = 67108864");
    db.run("PRAGMA foreign_keys = ON");
    const { user_version: version } = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!;
    db.transaction(() => {
      for (let v = version; v < MIGRATIONS.length; v++) db.run(MIGRATIONS[v]!);
      db.run(`PRAGMA user_version = ${MIGRATIONS.length}`);
      if (version === 0) {
        // Cursors from a database this one replaces (after a rebuild) must not
        // hide new messages: start them above any earlier database's.
        db.run("UPDATE arrival SET cursor_base = ?", [Date.now() * 1000]);
      }
    })();
    // The compact index leaves the old tables' pages free: give them back to the disk, once.
    if (version > 0 && version < COMPACT_VERSION) {
      try {
        db.run("VACUUM");
      } catch {
        // No room for the copy VACUUM makes in SQLite's temporary directory, or for the WAL: the migration
        // is committed, its free pages stay in the file and later inserts reuse them. (Rare: the
        // migration's own sorts need about as much temporary space, and fail first, rolled back.)
      }
    }
    const wrapped = new MessageDatabase(db, fresh, path);
    wrapped.probe();
    // Messages a killed rebuild stored without searching them.
    wrapped.catchUpSearch();
    return wrapped;
  } catch (error) {
    throw asOpenFailure(error, path);
  }
};

/**
 * Moves a damaged index (and its `-wal` and `-shm`) aside as
 * `<name>.damaged-<time>`, never deleting it, and returns the new name.
 */
export const moveDatabaseAside = (path: string, now = new Date()) => {
  const aside = `${path}.damaged-${now.toISOString().replace(/[:.]/g, "-")}`;
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(`${path}${suffix}`)) renameSync(`${path}${suffix}`, `${aside}${suffix}`);
  }
  return aside;
};

/**
 * Reads enough of the index at `path` to trust it, or throws what SQLite
 * said: whether it can be opened at all, and `PRAGMA quick_check` (which
 * reads every page: for `gitchat rebuild`, which is about to read everything anyway).
 */
export const checkDatabaseFile = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    const result = db.query<{ quick_check: string }, []>("PRAGMA quick_check").get()?.quick_check;
    if (result !== "ok") throw new DatabaseDamagedError(`the index ${path} is damaged: ${result}`);
  } finally {
    db.close();
  }
};

export class MessageDatabase {
  private readonly insertMessage;
  private readonly fold;
  private readonly setIndexed;
  private readonly placeQuery;
  private readonly insertSearch;
  private readonly setSearchIndexed;
  private readonly insertCommit;
  private readonly commitHash;
  /** The commit the last insert stored messages under: the next insert is usually of the same one (a group commit, or a rebuild's batches). */
  private lastCommit: { hash: string; id: number } | undefined;
  /** What a cursor adds to an arrival number (arrival.cursor_base); undefined until read. */
  private base: number | undefined;
  /** The search index holds the messages up to this arrival number (search_index.indexed_seq); undefined until read. */
  private searchSeq: number | undefined;
  /** Messages stored, all channels (see messageTotal); undefined until counted. */
  private total: number | undefined;

  constructor(
    readonly sqlite: Database,
    readonly fresh: boolean,
    /** The file, or ":memory:". */
    readonly path = ":memory:",
    /** Opened by `gitchat verify`: a connection of its own that writes nothing. */
    private readonly readonly = false,
  ) {
    this.insertMessage = sqlite.query<
      unknown,
      [
        Uint8Array | string, number, string, string | null, number | null, string, string | null, number | string, number, number | null,
        Uint8Array | string | null, number | null, Uint8Array | string | null, string | null, string | null,
      ]
    >(
      `INSERT OR IGNORE INTO messages (id, repository_id, author, author_id, bot, content, type, created_at, commit_id, segment,
         target, admin, reply_to, language, attachments)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.fold = new EventFold(sqlite);
    this.placeQuery = sqlite.query<{ id: Uint8Array | string; created_at: number | string; segment: number | null }, [number, Uint8Array | string]>(
      "SELECT id, created_at, segment FROM messages WHERE repository_id = ? AND id = ?",
    );
    this.insertCommit = sqlite.query<{ id: number }, [Uint8Array | string, number | null]>(
      "INSERT INTO commits (hash, unproven) VALUES (?, ?) RETURNING id",
    );
    this.commitHash = sqlite.query<{ hash: Uint8Array | string }, [number]>("SELECT hash FROM commits WHERE id = ?");
    this.insertSearch = sqlite.query<void, [number, string]>("INSERT INTO messages_fts (rowid, content) VALUES (?, ?)");
    this.setSearchIndexed = sqlite.query<void, [number]>("UPDATE search_index SET indexed_seq = ?");
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
  /**
   * `unproven` on a row: its commit proves nothing (see MessageRow.verified);
   * the rows of one commit say the same.
   */
  insertMessages<Row extends { message: NewMessage; gitHash: string; unproven?: boolean }>(
    repositoryId: number,
    rows: readonly Row[],
    indexedCommit: string | null,
    options: {
      /**
       * Called, inside the transaction, for each row whose id the channel
       * already holds (the row is not stored); a file it returns is quarantined
       * in the same transaction.
       */
      onHeld?: (row: Row) => QuarantinedFile | undefined;
      /** Leave them out of the search index until `catchUpSearch` (a rebuild: far cheaper in large runs). */
      deferSearch?: boolean;
      /**
       * Called, once the transaction has committed, for each row stored with
       * the cursor it was given: the send path answers from this instead of
       * reading each message back.
       */
      onStored?: (row: Row, cursor: number) => void;
    } = {},
  ) {
    const held: QuarantinedFile[] = [];
    const stored: { row: Row; seq: number }[] | undefined = options.onStored ? [] : undefined;
    let inserted = 0;
    // Searchable at once, unless the caller adds them to the search index
    // later (catchUpSearch) or it is behind already (then it must stay in
    // arrival order: these wait for the same catch-up).
    const searchNow = !options.deferSearch && this.searchIndexedTo() === this.latestSeq();
    let last: number | undefined;
    // Each commit's number in `commits`: the last insert's commit is reused
    // (checked first: forgetChannel may have removed it since, and its number
    // gone to another commit), others are made here; one that no stored
    // message came to use is removed again.
    const commits = new Map<string, number>();
    const made = new Set<number>();
    const used = new Set<number>();
    const known = this.lastCommit;
    if (known && hashText(this.commitHash.get(known.id)?.hash ?? "") === known.hash) commits.set(known.hash, known.id);
    const commitOf = (hash: string, unproven: boolean) => {
      let id = commits.get(hash);
      if (id === undefined) {
        id = this.insertCommit.get(hashKey(hash), unproven ? 1 : null)!.id;
        commits.set(hash, id);
        made.add(id);
      }
      return id;
    };
    let lastCommit: { hash: string; id: number } | undefined;
    const folded: NewMessage[] = [];
    this.sqlite.transaction(() => {
      for (const row of rows) {
        const { message: m, gitHash } = row;
        const commit = commitOf(gitHash, row.unproven === true);
        const type = m.type === "message" ? null : m.type;
        const { changes, lastInsertRowid } = this.insertMessage.run(
          messageKey(m.id), repositoryId, m.author, m.author_id ?? null, m.bot ? 1 : null, m.content, type, timeKey(m.created_at), commit, m.segment ?? null,
          m.target === undefined ? null : messageKey(m.target), m.admin ? 1 : null, m.reply_to === undefined ? null : messageKey(m.reply_to), m.language ?? null,
          m.attachments?.length ? JSON.stringify(m.attachments) : null,
        );
        if (changes === 0) {
          const file = options.onHeld?.(row);
          if (file) held.push(file);
          continue;
        }
        used.add(commit);
        lastCommit = { hash: gitHash, id: commit };
        folded.push(m);
        // An event is a change to another message, not one of its own: not counted, and not searched.
        if (m.target === undefined) inserted++;
        stored?.push({ row, seq: Number(lastInsertRowid) });
        if (searchNow) {
          last = Number(lastInsertRowid);
          if (m.target === undefined) this.insertSearch.run(last, m.content);
        }
      }
      // Searchable now: every message stored before (searchNow), or up to where the search index was.
      const searched = this.searchIndexedTo();
      this.fold.apply(repositoryId, folded, (seq) => searchNow || seq <= searched);
      for (const id of made) if (!used.has(id)) this.sqlite.run("DELETE FROM commits WHERE id = ?", [id]);
      if (held.length > 0) this.quarantine(repositoryId, held, new Date().toISOString());
      if (last !== undefined) this.setSearchIndexed.run(last);
      this.setIndexed.run(indexedCommit, repositoryId);
    })();
    if (lastCommit) this.lastCommit = lastCommit;
    if (this.total !== undefined) this.total += inserted;
    if (stored) for (const { row, seq } of stored) options.onStored!(row, this.cursorBase() + seq);
    if (last !== undefined) this.searchSeq = last;
    // Behind because of an index walk still running (or one that failed): these are searchable now too.
    else if (!options.deferSearch && !searchNow) this.catchUpSearch(false);
    return held;
  }

  private searchIndexedTo() {
    this.searchSeq ??= this.sqlite.query<{ indexed_seq: number }, []>("SELECT indexed_seq FROM search_index").get()!.indexed_seq;
    return this.searchSeq;
  }

  /** How many stored messages the search index does not hold yet. */
  searchBacklog() {
    return this.sqlite.query<{ n: number }, [number]>("SELECT count(*) AS n FROM messages WHERE seq > ?").get(this.searchIndexedTo())!.n;
  }

  /**
   * Adds every message the search index lacks to it, in runs of
   * SEARCH_CATCH_UP per transaction; with `settle` (after large writes: a
   * rebuild), then checkpoints the WAL and cuts it back.
   */
  catchUpSearch(settle = true) {
    if (this.readonly) return;
    const next = this.sqlite.query<{ last: number | null }, [number, number]>(
      "SELECT max(seq) AS last FROM (SELECT seq FROM messages WHERE seq > ? ORDER BY seq LIMIT ?)",
    );
    const add = this.sqlite.query<void, [number, number]>(
      "INSERT INTO messages_fts (rowid, content) SELECT seq, content FROM messages WHERE seq > ? AND seq <= ? AND target IS NULL AND content != '' ORDER BY seq",
    );
    let caughtUp = false;
    for (let from = this.searchIndexedTo(); ; ) {
      const last = next.get(from, SEARCH_CATCH_UP)?.last ?? null;
      if (last === null) break;
      this.sqlite.transaction(() => {
        add.run(from, last);
        this.setSearchIndexed.run(last);
      })();
      this.searchSeq = from = last;
      caughtUp = true;
    }
    // No message since the last look: it is even with the newest arrival number.
    const newest = this.latestSeq();
    if (this.searchIndexedTo() < newest && this.searchBacklog() === 0) {
      this.setSearchIndexed.run(newest);
      this.searchSeq = newest;
    }
    if (caughtUp && settle) this.sqlite.run("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  /** True when the index holds nothing of a channel: no message, no quarantined file. */
  channelIsEmpty(repositoryId: number) {
    return (
      this.sqlite
        .query<{ one: number }, [number, number]>(
          "SELECT 1 AS one WHERE EXISTS (SELECT 1 FROM messages WHERE repository_id = ?) OR EXISTS (SELECT 1 FROM quarantine WHERE repository_id = ?)",
        )
        .get(repositoryId, repositoryId) === null
    );
  }

  /** The commit up to which the channel's history is indexed (everything it reaches is in the index). */
  indexedCommit(repositoryId: number): string | null {
    return (
      this.sqlite.query<{ indexed_commit: string | null }, [number]>("SELECT indexed_commit FROM repositories WHERE id = ?").get(repositoryId)
        ?.indexed_commit ?? null
    );
  }

  findIdempotencyKey(repositoryId: number, key: string): IdempotencyKeyRow | undefined {
    return (
      this.sqlite
        .query<IdempotencyKeyRow, [number, string]>("SELECT message_id, fingerprint FROM idempotency_keys WHERE repository_id = ? AND key = ?")
        .get(repositoryId, key) ?? undefined
    );
  }

  /**
   * Records each key with the message about to be committed under it (a key
   * whose earlier message never landed now names the new one), and forgets
   * keys recorded before `forgetBefore` (ms since the epoch), in one transaction.
   */
  recordIdempotencyKeys(
    repositoryId: number,
    keys: readonly { key: string; messageId: string; fingerprint: string }[],
    now: number,
    forgetBefore?: number,
  ) {
    this.sqlite.transaction(() => {
      if (forgetBefore !== undefined) this.sqlite.run("DELETE FROM idempotency_keys WHERE created_at < ?", [forgetBefore]);
      for (const k of keys) {
        this.sqlite.run(
          `INSERT INTO idempotency_keys (repository_id, key, message_id, fingerprint, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (repository_id, key) DO UPDATE SET message_id = excluded.message_id, created_at = excluded.created_at`,
          [repositoryId, k.key, k.messageId, k.fingerprint, now],
        );
      }
    })();
  }

  /** Every message id of a channel, one at a time (for `gitchat verify`). */
  *messageIds(repositoryId: number): Generator<string> {
    const query = this.sqlite.query<{ id: Uint8Array | string }, [number]>("SELECT id FROM messages WHERE repository_id = ?");
    for (const row of query.iterate(repositoryId)) yield messageText(row.id);
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

  /** Whether any indexed commit is marked unproven (through a partial index: no scan). */
  hasUnproven() {
    return this.sqlite.query<{ one: number }, []>("SELECT 1 AS one FROM commits WHERE unproven = 1 LIMIT 1").get() !== null;
  }

  /**
   * Clears the unproven mark of those of `hashes` that carry it: the history
   * from before signing began, found once a commit that began signing is
   * indexed. One pass over the marked commits, whatever the number of hashes.
   */
  markProven(hashes: readonly string[]) {
    if (hashes.length === 0) return;
    this.sqlite.transaction(() => {
      this.sqlite.run("CREATE TEMP TABLE IF NOT EXISTS proven_hashes (hash BLOB PRIMARY KEY) WITHOUT ROWID");
      const add = this.sqlite.query<void, [Uint8Array | string]>("INSERT OR IGNORE INTO proven_hashes (hash) VALUES (?)");
      for (const hash of hashes) add.run(hashKey(hash));
      this.sqlite.run("UPDATE commits SET unproven = NULL WHERE unproven = 1 AND hash IN (SELECT hash FROM proven_hashes)");
      this.sqlite.run("DELETE FROM proven_hashes");
    })();
  }

  /** Where an indexed message's file is (its time and segment), without reading the rest: the index walk asks for every file it finds. */
  messagePlace(repositoryId: number, id: string): { id: string; created_at: string; segment: number | null } | undefined {
    const place = this.placeQuery.get(repositoryId, messageKey(id));
    return place ? { id: messageText(place.id), created_at: timeText(place.created_at), segment: place.segment } : undefined;
  }

  /** The edits of a message, in the fold's order (time, then id), each with the commit that holds it. */
  editsOf(repositoryId: number, id: string) {
    return this.sqlite
      .query<
        { author: string; author_id: string | null; admin: number | null; content: string; created_at: number | string; hash: Uint8Array | string },
        [number, Uint8Array | string]
      >(
        `SELECT m.author, m.author_id, m.admin, m.content, m.created_at, c.hash FROM messages m JOIN commits c ON c.id = m.commit_id
         WHERE m.repository_id = ? AND m.target = ? AND m.type = 'edit' ORDER BY m.created_at, m.id`,
      )
      .all(repositoryId, messageKey(id))
      .map((e) => ({ author: e.author, author_id: e.author_id, admin: e.admin, content: e.content, created_at: timeText(e.created_at), git_hash: hashText(e.hash) }));
  }

  getMessage(repositoryId: number, id: string): MessageRow | undefined {
    const row = this.sqlite
      .query<StoredMessage, [number, Uint8Array | string]>(`${SELECT_MESSAGE} WHERE m.repository_id = ? AND m.id = ?`)
      .get(repositoryId, messageKey(id));
    return row ? this.toRow(row) : undefined;
  }

  /** A stored message as the text it was given as (see messageKey). */
  private toRow(row: StoredMessage): MessageRow {
    return {
      cursor: this.cursorBase() + row.seq,
      id: messageText(row.id),
      repository: row.repository,
      author: row.author,
      author_id: row.author_id,
      bot: row.bot === 1,
      verified: row.unproven !== 1,
      content: row.content,
      type: row.type ?? "message",
      created_at: timeText(row.created_at),
      git_hash: hashText(row.hash),
      segment: row.segment,
      target: row.target === null ? null : messageText(row.target),
      reply_to: row.reply_to === null ? null : messageText(row.reply_to),
      language: row.language,
      edited_at: row.edited_at === null ? null : timeText(row.edited_at),
      deleted: row.deleted === 1,
      reply_count: row.reply_count ?? 0,
      reactions: row.reactions === null ? [] : (JSON.parse(row.reactions) as Reaction[]),
      // A deleted message's files are gone with its text (git's history still holds them).
      attachments: row.attachments === null || row.deleted === 1 ? [] : (JSON.parse(row.attachments) as IndexedAttachment[]),
    };
  }

  private cursorBase() {
    this.base ??= this.sqlite.query<{ cursor_base: number }, []>("SELECT cursor_base FROM arrival").get()!.cursor_base;
    return this.base;
  }

  /**
   * With `after`: what arrived after that cursor, in arrival order. Otherwise
   * the newest `limit` (older than `before`, matching `search`), in time order.
   */
  listMessages(query: MessageQuery): MessageRow[] {
    // The newest of all channels: each channel's newest through the index on
    // (channel, id), merged (an index on the id alone would cost as much disk
    // as that one, for this listing only).
    if (query.repositoryId === undefined && query.after === undefined && query.search === undefined) {
      const ids = query.repositoryIds ?? this.sqlite.query<{ id: number }, []>("SELECT id FROM repositories").all().map((r) => r.id);
      const rows = ids.flatMap((id) => this.listMessages({ ...query, repositoryId: id, repositoryIds: undefined }));
      return rows.sort(byId).slice(-query.limit);
    }
    const where: string[] = [];
    const params: (string | number | Uint8Array)[] = [];
    // Arrivals are read by what arrived (a), each shown as the message it is or changed (m); the rest by message.
    const arrived = query.after !== undefined ? "a" : "m";
    if (query.repositoryId !== undefined) {
      where.push(`${arrived}.repository_id = ?`);
      params.push(query.repositoryId);
    } else if (query.repositoryIds !== undefined) {
      if (query.repositoryIds.length === 0) return [];
      where.push(`${arrived}.repository_id IN (${query.repositoryIds.map(() => "?").join(", ")})`);
      params.push(...query.repositoryIds);
    }
    if (query.search !== undefined) searchConditions(query.search, where, params);
    if (query.after !== undefined) {
      where.push("a.seq > ?");
      params.push(query.after - this.cursorBase());
      const sql = `${SELECT_ARRIVAL} ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY a.seq LIMIT ?`;
      const rows = this.sqlite.query<StoredMessage, (string | number | Uint8Array)[]>(sql).all(...params, query.limit).map((r) => this.toRow(r));
      // A message changed twice (or sent and changed) within these arrivals: once, as it is now, at its last arrival.
      const last = new Map(rows.map((row) => [row.id, row]));
      return rows.filter((row) => last.get(row.id) === row);
    }
    where.push("m.target IS NULL");
    if (query.thread !== undefined) {
      where.push("m.reply_to = ?");
      params.push(messageKey(query.thread));
    } else if (query.search === undefined) {
      // A channel shows its own messages; replies are in their threads (and found by a search).
      where.push("m.reply_to IS NULL");
    }
    if (query.before !== undefined) {
      // Ids stored as text (not canonical UUIDs, from older versions) sort before every one stored as bytes.
      where.push("m.id < ?");
      params.push(messageKey(query.before));
    }
    const order = query.search !== undefined ? "m.seq DESC" : "m.id DESC";
    const sql = `${SELECT_MESSAGE} WHERE ${where.join(" AND ")} ORDER BY ${order} LIMIT ?`;
    const rows = this.sqlite.query<StoredMessage, (string | number | Uint8Array)[]>(sql).all(...params, query.limit);
    return rows.map((r) => this.toRow(r)).sort(byId);
  }

  /**
   * A channel's messages in time order (by id), `limit` at a time, after the
   * message `after` (an id from the page before) or from the first message
   * sent at or after `since` (an ISO time; ids not in the UUIDv7 form of
   * early versions are left out then): for an export, which walks a whole
   * channel a page at a time and so holds one page, however long the history;
   * with `ownOnly`, without replies (what the page's list shows, moving on
   * from a message opened by its link).
   */
  messagesInOrder(repositoryId: number, from: { after?: string; since?: string; ownOnly?: boolean }, limit: number): MessageRow[] {
    const where = ["m.repository_id = ?", "m.target IS NULL"];
    const params: (string | number | Uint8Array)[] = [repositoryId];
    if (from.ownOnly) where.push("m.reply_to IS NULL");
    if (from.after !== undefined) {
      where.push("m.id > ?");
      params.push(messageKey(from.after));
    }
    if (from.since !== undefined) {
      // A UUIDv7 starts with its time in milliseconds: the range starts at the first id of that millisecond.
      // created_at is kept as milliseconds (see timeKeySql), or as its text when that would not give it back.
      const since = Date.parse(from.since);
      const hex = since.toString(16).padStart(12, "0");
      where.push("m.id >= ? AND m.created_at >= ?");
      params.push(messageKey(`${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-000000000000`), since);
    }
    const sql = `${SELECT_MESSAGE} WHERE ${where.join(" AND ")} ORDER BY m.id LIMIT ?`;
    return this.sqlite.query<StoredMessage, (string | number | Uint8Array)[]>(sql).all(...params, limit).map((r) => this.toRow(r));
  }

  /** The newest arrival cursor, for clients that start polling from now. */
  latestCursor(): number {
    return this.cursorBase() + this.latestSeq();
  }

  /** The newest arrival number (a cursor less the base). */
  private latestSeq(): number {
    return this.sqlite.query<{ seq: number }, []>("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").get()?.seq ?? 0;
  }

  /**
   * How many messages the index holds, in all channels, without a scan: counted
   * once, then kept up to date by this connection's inserts (and reset by
   * forgetChannel). A server is the only writer of its index (the data
   * directory is locked), so no other process changes it underneath.
   */
  messageTotal(): number {
    this.total ??= this.countMessages();
    return this.total;
  }

  /** Every row of a channel, its events with its messages: one a file in git. */
  countRecords(repositoryId: number): number {
    return this.sqlite.query<{ n: number }, [number]>("SELECT count(*) AS n FROM messages WHERE repository_id = ?").get(repositoryId)!.n;
  }

  countMessages(repositoryId?: number): number {
    const sql =
      repositoryId === undefined
        ? "SELECT count(*) AS n FROM messages WHERE target IS NULL"
        : "SELECT count(*) AS n FROM messages WHERE repository_id = ? AND target IS NULL";
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

  /**
   * Throws unless the index's pages read back from the file itself. The
   * server's own connection would answer from its page cache, which is how a
   * file overwritten under it kept `/health` ok while queries failed; so this
   * opens a fresh read-only connection each time and reads page 1, the
   * schema, and the newest entry of every table and index (the path from
   * each b-tree's root to its last leaf): a few dozen pages whatever the
   * size of the index. `PRAGMA quick_check` reads every page, seconds on a
   * large index: too slow for every /health. Damage deeper inside a b-tree
   * shows as a 503 `database_damaged` on the query that reaches it.
   */
  probe() {
    this.sqlite.query("SELECT 1 FROM repositories LIMIT 1").get();
    if (this.path === ":memory:") return;
    // A read-only connection is opened fresh for its one use, and may write no -shm: it reads with itself.
    const fresh = this.readonly ? this.sqlite : new Database(this.path, { readonly: true });
    try {
      fresh.query("SELECT count(*) FROM sqlite_master").get();
      fresh.query("SELECT * FROM repositories ORDER BY id DESC LIMIT 1").get();
      fresh.query("SELECT * FROM messages ORDER BY seq DESC LIMIT 1").get();
      fresh.query("SELECT id FROM messages INDEXED BY messages_by_id ORDER BY repository_id DESC, id DESC LIMIT 1").get();
      fresh.query("SELECT seq FROM messages INDEXED BY messages_by_arrival ORDER BY repository_id DESC, seq DESC LIMIT 1").get();
      fresh.query("SELECT * FROM commits ORDER BY id DESC LIMIT 1").get();
      fresh.query("SELECT cursor_base FROM arrival").get();
      fresh.query("SELECT seq FROM sqlite_sequence").all();
      fresh.query("SELECT length(block) FROM messages_fts_data ORDER BY id DESC LIMIT 1").get();
      fresh.query("SELECT * FROM sync_state ORDER BY repository_id DESC LIMIT 1").get();
    } finally {
      if (fresh !== this.sqlite) fresh.close();
    }
  }

  /**
   * Forgets what the index holds of one channel (its messages, from the
   * search index too, and how far it was indexed), so that the next index
   * walk records its history again from git. For `gitchat repair`, after a
   * branch was restored to a commit that does not contain the indexed one.
   *
   * The search index keeps no text of its own (external content): a
   * message's words leave it only through FTS5's 'delete' command given the
   * text it was indexed with, which the row still holds. A delete event (or
   * an edit, then re-adding the new text under the same rowid) takes a
   * message out of search the same way, before its row changes.
   */
  forgetChannel(repositoryId: number) {
    this.sqlite.transaction(() => {
      this.sqlite.run(
        `INSERT INTO messages_fts(messages_fts, rowid, content)
         SELECT 'delete', seq, content FROM messages WHERE repository_id = ? AND seq <= ?`,
        [repositoryId, this.searchIndexedTo()],
      );
      this.sqlite.run("DELETE FROM messages WHERE repository_id = ?", [repositoryId]);
      // Commits no message refers to any more (a scan: repair is rare).
      this.sqlite.run("DELETE FROM commits WHERE id NOT IN (SELECT commit_id FROM messages)");
      this.sqlite.run("UPDATE repositories SET indexed_commit = NULL WHERE id = ?", [repositoryId]);
    })();
    this.total = undefined;
  }

  /** Every message of a channel, oldest first (for `gitchat repair` to put back into git what git lost). */
  channelMessages(repositoryId: number): MessageRow[] {
    return this.sqlite
      .query<StoredMessage, [number]>(`${SELECT_MESSAGE} WHERE m.repository_id = ? ORDER BY m.id`)
      .all(repositoryId)
      .map((r) => this.toRow(r))
      .sort(byId);
  }

  close() {
    this.sqlite.close();
  }
}
