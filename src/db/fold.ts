/**
 * Folding events into the messages they change (see EVENT_TYPES in
 * messages/layout.ts): an edit, a delete, a reaction and its removal are rows
 * of their own (files of their own in git), and a message's row holds what
 * they add up to: its current text, when it was last edited, whether it is
 * deleted, its reactions, and how many replies it has.
 *
 * The fold is a function of the set of events alone, never of the order they
 * were indexed in: edits and reactions are ordered by their time (then id), a
 * delete wins over every edit. So two servers that hold the same files (after
 * a pull, a rebuild, or events made on both at once) show the same message.
 *
 * Who may change a message is checked here too, for events from anywhere: an
 * edit or a delete counts when its author is the message's author, or when it
 * says an admin made it (`admin`). A reaction counts from anyone.
 */
import type { Database } from "bun:sqlite";
import { messageKey, messageText } from "./keys.ts";

/** A message's reactions as the index keeps and the API shows them: each emoji in the order it was first given. */
export type Reaction = { emoji: string; count: number; users: string[]; user_ids: string[] };

type Target = { seq: number; author: string; author_id: string | null; content: string; deleted: number | null; reply_to: Uint8Array | string | null };
type Event = {
  id: Uint8Array | string;
  author: string;
  author_id: string | null;
  admin: number | null;
  type: string;
  content: string;
  created_at: number | string;
};

/** Messages of a batch looked up at once for events or replies that wait for them. */
const WAITING_CHUNK = 500;

/** Events in the order the fold reads them: by time, then by id (a total order every server agrees on). */
const byTime = (a: Event, b: Event) => {
  const ta = typeof a.created_at === "number" ? a.created_at : Date.parse(a.created_at);
  const tb = typeof b.created_at === "number" ? b.created_at : Date.parse(b.created_at);
  if (ta !== tb) return ta - tb;
  return Buffer.compare(Buffer.from(a.id as Uint8Array), Buffer.from(b.id as Uint8Array));
};

/** Who someone is for the fold: their account, or (no account: the open local mode, files from before accounts) their name. */
export const actorOf = (who: { author: string; author_id: string | null }) => who.author_id ?? `name:${who.author}`;

/** Whether an edit or delete counts: by the message's author, or marked as an admin's. */
export const mayChange = (event: { author: string; author_id: string | null; admin: number | null | boolean }, target: { author: string; author_id: string | null }) =>
  event.admin === 1 || event.admin === true || actorOf(event) === actorOf(target);

export class EventFold {
  private readonly target;
  private readonly events;
  private readonly update;
  private readonly blankEdits;
  private readonly replies;
  private readonly setReplies;
  private readonly ftsDelete;
  private readonly ftsInsert;

  constructor(private readonly sqlite: Database) {
    this.target = sqlite.query<Target, [number, Uint8Array | string]>(
      "SELECT seq, author, author_id, content, deleted, reply_to FROM messages WHERE repository_id = ? AND id = ? AND target IS NULL",
    );
    this.events = sqlite.query<Event, [number, Uint8Array | string]>(
      "SELECT id, author, author_id, admin, type, content, created_at FROM messages WHERE repository_id = ? AND target = ?",
    );
    this.update = sqlite.query<void, [string, number | string | null, number | null, string | null, number]>(
      "UPDATE messages SET content = ?, edited_at = ?, deleted = ?, reactions = ? WHERE seq = ?",
    );
    // A deleted message's text is gone from the index: its edits' texts too.
    this.blankEdits = sqlite.query<void, [number, Uint8Array | string]>(
      "UPDATE messages SET content = '' WHERE repository_id = ? AND target = ? AND type = 'edit' AND content != ''",
    );
    this.replies = sqlite.query<{ n: number }, [number, Uint8Array | string]>(
      "SELECT count(*) AS n FROM messages WHERE repository_id = ? AND reply_to = ? AND target IS NULL AND deleted IS NULL",
    );
    this.setReplies = sqlite.query<void, [number | null, number, Uint8Array | string]>(
      "UPDATE messages SET reply_count = ? WHERE repository_id = ? AND id = ? AND target IS NULL",
    );
    this.ftsDelete = sqlite.query<void, [number, string]>("INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', ?, ?)");
    this.ftsInsert = sqlite.query<void, [number, string]>("INSERT INTO messages_fts (rowid, content) VALUES (?, ?)");
  }

  /**
   * After rows were stored (in the same transaction): folds again every
   * message they change, counts again the replies of every thread they add to,
   * and folds a message that events or replies indexed before it wait for.
   * `searchable`: whether the search index holds the message with this
   * arrival number (its old text must then be taken out of it).
   */
  apply(repositoryId: number, stored: readonly { id: string; target?: string; reply_to?: string }[], searchable: (seq: number) => boolean) {
    const targets = new Set<string>();
    const threads = new Set<string>();
    const messages: string[] = [];
    for (const row of stored) {
      if (row.target !== undefined) targets.add(row.target);
      else {
        if (row.reply_to !== undefined) threads.add(row.reply_to);
        messages.push(row.id);
      }
    }
    // Events or replies indexed before the message they name (from a server whose clock is behind, or a
    // history indexed out of time order): looked up a chunk of the batch at a time, not one query a message.
    for (let from = 0; from < messages.length; from += WAITING_CHUNK) {
      const keys = messages.slice(from, from + WAITING_CHUNK).map(messageKey);
      const marks = keys.map(() => "?").join(", ");
      for (const [column, into] of [["target", targets], ["reply_to", threads]] as const) {
        const waiting = this.sqlite
          .query<{ id: Uint8Array | string }, (number | Uint8Array | string)[]>(
            `SELECT DISTINCT ${column} AS id FROM messages WHERE repository_id = ? AND ${column} IN (${marks})`,
          )
          .all(repositoryId, ...keys);
        for (const { id } of waiting) into.add(messageText(id));
      }
    }
    for (const id of targets) {
      const parent = this.refold(repositoryId, id, searchable);
      // A reply deleted, or brought back by nothing: its thread's count changes.
      if (parent !== undefined) threads.add(parent);
    }
    for (const id of threads) {
      const n = this.replies.get(repositoryId, messageKey(id))!.n;
      this.setReplies.run(n === 0 ? null : n, repositoryId, messageKey(id));
    }
  }

  /** Folds one message's events into its row; returns the id of its thread's parent when it is a reply, to count again. */
  private refold(repositoryId: number, id: string, searchable: (seq: number) => boolean): string | undefined {
    const key = messageKey(id);
    const target = this.target.get(repositoryId, key);
    if (!target) return undefined;
    const events = this.events.all(repositoryId, key).sort(byTime);
    let deleted = false;
    let edit: Event | undefined;
    const reacted = new Map<string, { on: boolean; emoji: string; author: string; actor: string; first: number }>();
    // A reaction's place among the others is its first time given (the fold's order, the same everywhere).
    for (const [order, e] of events.entries()) {
      if (e.type === "delete" && mayChange(e, target)) deleted = true;
      else if (e.type === "edit" && mayChange(e, target)) edit = e;
      else if (e.type === "react" || e.type === "unreact") {
        const who = actorOf(e);
        const slot = `${who}\n${e.content}`;
        const before = reacted.get(slot);
        reacted.set(slot, { on: e.type === "react", emoji: e.content, author: e.author, actor: who, first: before?.first ?? order });
      }
    }
    // Without a counted edit the row's text is the file's (it was never replaced: edits are never taken back).
    const content = deleted ? "" : (edit?.content ?? target.content);
    const reactions = deleted ? [] : groupReactions([...reacted.values()].filter((r) => r.on));
    // Stored as the event's time is (see db/keys.ts).
    const editedAt = deleted || !edit ? null : edit.created_at;
    if (content !== target.content && searchable(target.seq)) {
      this.ftsDelete.run(target.seq, target.content);
      if (content !== "") this.ftsInsert.run(target.seq, content);
    }
    this.update.run(content, editedAt, deleted ? 1 : null, reactions.length ? JSON.stringify(reactions) : null, target.seq);
    if (deleted) this.blankEdits.run(repositoryId, key);
    const wasDeleted = target.deleted === 1;
    if (deleted !== wasDeleted && target.reply_to !== null) return messageText(target.reply_to);
    return undefined;
  }
}

const groupReactions = (on: { emoji: string; author: string; actor: string; first: number }[]): Reaction[] => {
  const groups = new Map<string, { reaction: Reaction; first: number }>();
  for (const r of on.sort((a, b) => a.first - b.first)) {
    const group = groups.get(r.emoji) ?? { reaction: { emoji: r.emoji, count: 0, users: [], user_ids: [] }, first: r.first };
    group.reaction.count++;
    group.reaction.users.push(r.author);
    group.reaction.user_ids.push(r.actor);
    groups.set(r.emoji, group);
  }
  return [...groups.values()].sort((a, b) => a.first - b.first).map((g) => g.reaction);
};
