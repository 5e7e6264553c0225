/**
 * How far each reader has read each channel (the migration that makes the
 * table is in database.ts): the id of the newest message they have seen.
 * Statements only; who may read which channel is the service's question.
 */
import { Database } from "bun:sqlite";
import { messageKey, messageText } from "./keys.ts";

/** Whose messages are not unread to a reader: their account's (`authorId`), or, for the operator, those written under their name with no account. */
export type OwnMessages = { authorId: string } | { name: string };

/** A reader's place by channel name, not row id: what a rebuild carries from the old index to the new one. */
export type NamedReadPlace = { login: string; owner: string; name: string; lastRead: string; readAt: number };

/**
 * The read places of the index at `path`, read-only; none for an index from
 * before read places. Throws when the file cannot be read.
 */
export const readReadPlaces = (path: string): NamedReadPlace[] => {
  const db = new Database(path, { readonly: true });
  try {
    const present = db.query<{ one: number }, []>("SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = 'read_state'").get();
    if (!present) return [];
    return db
      .query<{ login: string; owner: string; name: string; last_read: Uint8Array | string; read_at: number }, []>(
        "SELECT s.login, r.owner, r.name, s.last_read, s.read_at FROM read_state s JOIN repositories r ON r.id = s.repository_id",
      )
      .all()
      .map((row) => ({ login: row.login, owner: row.owner, name: row.name, lastRead: messageText(row.last_read), readAt: row.read_at }));
  } finally {
    db.close();
  }
};

/** `@name` as a whole word, in any case: what the page also matches to notify (public/app.js). */
const mentionPattern = (name: string) => new RegExp(`(^|[^\\w@])@${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w-])`, "i");

export class ReadStateStore {
  constructor(private readonly sqlite: Database) {}

  /** The newest message `login` has read in the channel, or null when they never opened it. */
  lastRead(login: string, repositoryId: number): string | null {
    const row = this.sqlite
      .query<{ last_read: Uint8Array | string }, [string, number]>("SELECT last_read FROM read_state WHERE login = ? AND repository_id = ?")
      .get(login, repositoryId);
    return row ? messageText(row.last_read) : null;
  }

  /** Every channel's last-read message of `login`, by channel number. */
  allLastRead(login: string): Map<number, string> {
    const rows = this.sqlite
      .query<{ repository_id: number; last_read: Uint8Array | string }, [string]>("SELECT repository_id, last_read FROM read_state WHERE login = ?")
      .all(login);
    return new Map(rows.map((r) => [r.repository_id, messageText(r.last_read)]));
  }

  /** Moves the reader's place forward to `messageId`; a place already further on stays (two tabs, one behind, never move it back). */
  markRead(login: string, repositoryId: number, messageId: string, at: number) {
    this.sqlite.run(
      `INSERT INTO read_state (login, repository_id, last_read, read_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (login, repository_id) DO UPDATE SET last_read = excluded.last_read, read_at = excluded.read_at
       WHERE excluded.last_read > read_state.last_read`,
      [login, repositoryId, messageKey(messageId), at],
    );
  }

  /**
   * How many of the channel's own messages (not replies) came after the
   * message id `lastRead` (all of them when null), not counting the reader's
   * own or deleted ones, counted up to
   * `cap`: a range of the (channel, id) index, so a channel never opened costs
   * no more than `cap` rows. With `mentioning`, how many of the newest `cap`
   * of them mention `@mentioning` in their text: still `cap` rows at most,
   * whatever the backlog.
   */
  unreadCount(repositoryId: number, lastRead: string | null, own: OwnMessages, cap: number, mentioning?: string): number {
    // What the channel's list shows: its own messages, not events (an edit or a reaction is a row too), not
    // replies (they are in their threads: a reply would stay unread under a list read to its end), not what was deleted.
    const where = ["repository_id = ?", "target IS NULL", "reply_to IS NULL", "deleted IS NOT 1"];
    const params: (string | number | Uint8Array)[] = [repositoryId];
    if (lastRead !== null) {
      where.push("id > ?");
      params.push(messageKey(lastRead));
    }
    if ("authorId" in own) {
      where.push("author_id IS NOT ?");
      params.push(own.authorId);
    } else {
      where.push("NOT (author_id IS NULL AND author = ?)");
      params.push(own.name);
    }
    const range = `SELECT content FROM messages WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?`;
    params.push(cap);
    if (mentioning === undefined) return this.sqlite.query<{ n: number }, (string | number | Uint8Array)[]>(`SELECT count(*) AS n FROM (${range})`).get(...params)!.n;
    // LIKE finds the candidates; a mention is the name as a whole word ("@fay", not "@fayette").
    params.push(`%@${mentioning.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    const candidates = this.sqlite
      .query<{ content: string }, (string | number | Uint8Array)[]>(`SELECT content FROM (${range}) WHERE content LIKE ? ESCAPE '\\'`)
      .all(...params);
    const mention = mentionPattern(mentioning);
    return candidates.filter((c) => mention.test(c.content)).length;
  }
}
