/**
 * Messages: validate, commit to the channel's git repository (group commit),
 * index in SQLite, answer. A message is acknowledged only once both hold it.
 */
import { IdempotencyKeyReusedError, InvalidInputError } from "../errors.ts";
import type { MessageDatabase, MessageRow, NewMessage } from "../db/database.ts";
import { decodeMessage, idFromPath, isMessageId } from "../git/message-file.ts";
import type { Channel, RepositoryService } from "../repositories/service.ts";
import { GroupCommit } from "./group-commit.ts";

export const MAX_CONTENT_CHARACTERS = 10_000;
const TYPE = /^[a-z][a-z0-9_-]{0,31}$/;

export type MessageView = {
  id: string;
  content: string;
  timestamp: string;
  git_hash: string;
  repository: string;
  author: string;
  type: string;
  /** Arrival order at this server: pass it back as `after` to get what came since. */
  cursor: number;
};

export const toMessageView = (row: MessageRow): MessageView => ({
  id: row.id,
  content: row.content,
  timestamp: row.created_at,
  git_hash: row.git_hash,
  repository: row.repository,
  author: row.author,
  type: row.type,
  cursor: row.cursor,
});

export type SendInput = {
  content: string;
  repository?: string;
  type?: string;
  /** Who sends it (the logged-in name); the configured author when absent. */
  author?: string;
  /**
   * The client's name for this message (1 to 255 printable ASCII characters):
   * sent again with the same key in the same channel, it gives back the
   * message that key first sent instead of storing a second one.
   */
  idempotencyKey?: string;
};

/** What `send` did: stored the message now, or gave back the one its Idempotency-Key sent before. */
export type SendResult = { message: MessageView; replayed: boolean };

export const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;
export const IDEMPOTENCY_KEY_RULE = "Idempotency-Key must be 1 to 255 printable ASCII characters";
/** How long a key is remembered; a retry later than this stores the message again. */
export const IDEMPOTENCY_KEY_HOURS = 24;
const HOUR_MS = 3_600_000;

/** A message on its way to the writer, with the key it was sent under. */
type Submission = { message: NewMessage; key?: { key: string; fingerprint: string } };

/** A person's name as it may appear in a message and a commit: 1 to 64 characters, no control characters. */
export const checkAuthor = (name: string) => {
  const trimmed = name.trim();
  if (trimmed === "" || [...trimmed].length > 64 || /[\u0000-\u001f\u007f<>]/.test(trimmed) || !trimmed.isWellFormed()) {
    throw new InvalidInputError("a name must be 1 to 64 characters, without control characters or < >");
  }
  return trimmed;
};

export type ListInput = {
  repository?: string;
  before?: string;
  after?: number;
  q?: string;
  limit?: number;
};

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** What indexing a channel's history found. */
export type IndexReport = { indexed: number; problems: string[] };

const checkContent = (content: string) => {
  if (content.includes("\0")) throw new InvalidInputError("content must not contain NUL characters");
  if (!content.isWellFormed()) throw new InvalidInputError("content is not valid Unicode (it holds a lone surrogate)");
  if (content.trim() === "") throw new InvalidInputError("content must not be empty");
  const characters = [...content].length;
  if (characters > MAX_CONTENT_CHARACTERS) {
    throw new InvalidInputError(
      `content is ${characters.toLocaleString("en")} characters long; the limit is ${MAX_CONTENT_CHARACTERS.toLocaleString("en")}`,
    );
  }
};

export class MessageService {
  private readonly writers = new Map<number, GroupCommit<Submission, string>>();
  /** Sends with an Idempotency-Key that have not finished, by channel and key. */
  private readonly attempts = new Map<string, Promise<SendResult>>();
  private prunedAt = 0;
  private readonly commitListeners: ((channel: Channel) => void)[] = [];
  private readonly arrivalListeners = new Set<(channelId: number) => void>();

  constructor(
    private readonly db: MessageDatabase,
    private readonly repositories: RepositoryService,
    private readonly options: { author: string; defaultRepository: string; now?: () => number },
  ) {}

  async send(input: SendInput): Promise<SendResult> {
    checkContent(input.content);
    const type = input.type ?? "message";
    if (!TYPE.test(type)) {
      throw new InvalidInputError(`type ${JSON.stringify(type)} is not valid: use up to 32 lower-case letters, digits, "-" or "_"`);
    }
    const channel = this.repositories.resolve(input.repository ?? this.options.defaultRepository);
    const author = input.author === undefined ? this.options.author : checkAuthor(input.author);
    const draft = { author, content: input.content, type };
    const key = input.idempotencyKey;
    if (key === undefined) return { message: await this.commit(channel, { message: this.stamp(draft) }), replayed: false };
    if (!IDEMPOTENCY_KEY.test(key)) throw new InvalidInputError(IDEMPOTENCY_KEY_RULE);

    // One attempt per key at a time: a retry that arrives while the first is
    // still committing waits for it, then finds its message below.
    const slot = `${channel.id}\n${key}`;
    for (let running = this.attempts.get(slot); running; running = this.attempts.get(slot)) await running.catch(() => {});
    const attempt = this.sendOnce(channel, key, draft);
    this.attempts.set(slot, attempt);
    try {
      return await attempt;
    } finally {
      if (this.attempts.get(slot) === attempt) this.attempts.delete(slot);
    }
  }

  private async sendOnce(channel: Channel, key: string, draft: Omit<NewMessage, "id" | "created_at">): Promise<SendResult> {
    const fingerprint = new Bun.CryptoHasher("sha256").update(JSON.stringify([draft.author, draft.type, draft.content])).digest("hex");
    const known = this.db.findIdempotencyKey(channel.id, key);
    if (known) {
      if (known.fingerprint !== fingerprint) {
        throw new IdempotencyKeyReusedError(
          `this Idempotency-Key already sent a different message in ${channel.fullName}; use a new key for a new message`,
        );
      }
      let row = this.db.getMessage(channel.id, known.message_id);
      // The earlier attempt may have committed and then failed to index (a
      // full disk): index what git holds before deciding it never landed.
      if (!row) {
        await this.index(channel);
        row = this.db.getMessage(channel.id, known.message_id);
      }
      if (row) return { message: toMessageView(row), replayed: true };
      // Not in git either: the earlier attempt failed before its commit. Send it now.
    }
    return { message: await this.commit(channel, { message: this.stamp(draft), key: { key, fingerprint } }), replayed: false };
  }

  private stamp(draft: Omit<NewMessage, "id" | "created_at">): NewMessage {
    const now = this.now();
    return { id: Bun.randomUUIDv7("hex", now), ...draft, created_at: new Date(now).toISOString() };
  }

  private now() {
    return (this.options.now ?? Date.now)();
  }

  private async commit(channel: Channel, submission: Submission): Promise<MessageView> {
    await this.writerFor(channel).submit(submission);
    return toMessageView(this.db.getMessage(channel.id, submission.message.id)!);
  }

  private writerFor(channel: Channel) {
    let writer = this.writers.get(channel.id);
    if (!writer) {
      writer = new GroupCommit(async (submissions) => {
        const batch = submissions.map((s) => s.message);
        const keys = submissions.flatMap((s) => (s.key ? [{ ...s.key, messageId: s.message.id }] : []));
        // Keys go first, so that they hold even if the commit lands and its index insert fails.
        if (keys.length > 0) this.recordKeys(channel, keys);
        const authors = new Set(batch.map((m) => m.author));
        const name = authors.size === 1 ? batch[0]!.author : "gitchat";
        const timestamp = Date.parse(batch[batch.length - 1]!.created_at);
        const commit = await channel.store.commitMessages(batch, { name, email: `${name}@gitchat.invalid`, timestamp });
        try {
          await this.record(channel, commit, batch);
        } finally {
          // Committed is in git: push it even if indexing failed (it is healed later).
          for (const listener of this.commitListeners) listener(channel);
        }
        this.announce(channel.id);
        return commit;
      });
      this.writers.set(channel.id, writer);
    }
    return writer;
  }

  private recordKeys(channel: Channel, keys: { key: string; messageId: string; fingerprint: string }[]) {
    const now = this.now();
    const prune = now - this.prunedAt >= HOUR_MS;
    this.db.recordIdempotencyKeys(channel.id, keys, now, prune ? now - IDEMPOTENCY_KEY_HOURS * HOUR_MS : undefined);
    if (prune) this.prunedAt = now;
  }

  /**
   * Indexes a commit the writer made. The index records a commit only when
   * everything it reaches is indexed: when the commit's parent is not the
   * indexed commit (an earlier insert failed, or a pull moved `main` and is
   * not indexed yet), the walk indexes this commit and whatever it missed.
   */
  private async record(channel: Channel, commit: string, batch: NewMessage[]) {
    const parent = (await channel.store.readCommit(commit)).parent[0] ?? null;
    if (parent === this.db.indexedCommit(channel.id)) {
      this.db.insertMessages(channel.id, batch.map((message) => ({ message, gitHash: commit })), commit);
    } else {
      await this.index(channel);
    }
  }

  /**
   * Calls `listener` whenever messages arrive in a channel (sent here, or
   * pulled); returns the function that stops it. Live streams wake on this
   * and read what came after their cursor.
   */
  subscribe(listener: (channelId: number) => void) {
    this.arrivalListeners.add(listener);
    return () => void this.arrivalListeners.delete(listener);
  }

  private announce(channelId: number) {
    for (const listener of this.arrivalListeners) listener(channelId);
  }

  /** Called after every commit of new messages (the sync worker pushes soon after). */
  onCommit(listener: (channel: Channel) => void) {
    this.commitListeners.push(listener);
  }

  list(input: ListInput): MessageView[] {
    if (input.before !== undefined && !isMessageId(input.before)) {
      throw new InvalidInputError(`before must be a message id (a UUIDv7), not ${JSON.stringify(input.before)}`);
    }
    const repositoryId = input.repository === undefined ? undefined : this.repositories.resolve(input.repository).id;
    if (input.q?.includes("\0")) throw new InvalidInputError("q must not contain NUL characters");
    const search = input.q?.trim() ? input.q : undefined;
    return this.db
      .listMessages({ repositoryId, before: input.before, after: input.after, search, limit: input.limit ?? DEFAULT_LIMIT })
      .map(toMessageView);
  }

  latestCursor() {
    return this.db.latestCursor();
  }

  /**
   * Indexes every committed message of the channel that SQLite lacks: after a
   * crash between commit and insert, or into an empty database (rebuild).
   * Walks back from the branch head and stops where history is already indexed.
   */
  async index(channel: Channel): Promise<IndexReport> {
    const head = await channel.store.head();
    const indexed = this.db.listRepositories().find((r) => r.id === channel.id)?.indexed_commit;
    if (!head || head === indexed) return { indexed: 0, problems: [] };
    const problems: string[] = [];
    const found: { path: string; oid: string; commit: string }[] = [];
    const seen = new Set<string>();
    const stack = [head];
    while (stack.length > 0) {
      const commit = stack.pop()!;
      if (seen.has(commit) || commit === indexed) continue;
      seen.add(commit);
      const { parents, added, altered } = await channel.store.introducedFiles(commit);
      for (const file of altered) problems.push(`${file.path} was changed by commit ${commit}; both versions are kept in git`);
      const unknown = added.filter((f) => !this.db.hasMessage(channel.id, idFromPath(f.path)!));
      for (const file of unknown) found.push({ ...file, commit });
      if (added.length === 0 || unknown.length > 0) stack.push(...parents);
    }
    const rows: { message: NewMessage; gitHash: string }[] = [];
    for (const file of found) {
      try {
        rows.push({ message: decodeMessage(await channel.store.readBlob(file.oid), file.path), gitHash: file.commit });
      } catch (error) {
        problems.push(`${file.path} in commit ${file.commit} was skipped: ${(error as Error).message}`);
      }
    }
    rows.sort((a, b) => (a.message.id < b.message.id ? -1 : a.message.id > b.message.id ? 1 : 0));
    this.db.insertMessages(channel.id, rows, head);
    if (rows.length > 0) this.announce(channel.id);
    return { indexed: rows.length, problems };
  }

  /** Waits until every message handed to a writer is committed and indexed. */
  async settled() {
    await Promise.all([...this.writers.values()].map((w) => w.settled()));
  }
}
