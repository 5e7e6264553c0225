/**
 * Messages: validate, commit to the channel's git repository (group commit),
 * index in SQLite, answer. A message is acknowledged only once both hold it.
 */
import { ForbiddenError, IdempotencyKeyReusedError, InvalidInputError, MessageDeletedError, NotFoundError, UnknownMessageError } from "../errors.ts";
import type { IndexedAttachment, MessageDatabase, MessageRow, MessageSearch, NewMessage, QuarantinedFile, Reaction } from "../db/database.ts";
import { actorOf, mayChange } from "../db/fold.ts";
import { commitsBetween, filesNotIn, parentsFirst, TreeLookup } from "../git/history.ts";
import { beforeSigning, CommitProver } from "../git/signed-commits.ts";
import type { ObjectSource } from "../git/object-source.ts";
import { idFromPath, isMessageId, segmentOfPath, storedPath, commitMessages, isMessagePath, attachmentPath, type EventType } from "./layout.ts";
import { blobIdOf, findAttachments, indexedAttachment } from "./attachments.ts";
import type { Channel, RepositoryService } from "../repositories/service.ts";
import type { ChannelAccess, Viewer } from "../repositories/access.ts";
import { GroupCommit } from "./group-commit.ts";
import { versionsOf } from "./history.ts";
import { isBlankSearch, parseSearch } from "./search-query.ts";
import { checkAttachment, checkAttachments, checkAuthor, checkMessage, checkReaction, readMessageFile } from "./rules.ts";
import type { Metrics } from "../metrics.ts";

export { checkAuthor, MAX_CONTENT_CHARACTERS } from "./rules.ts";
export { actorOf } from "../db/fold.ts";

/** Messages indexed in one transaction: bounds what a rebuild holds in memory at once. */
const INDEX_BATCH = 500;
/** At most this many messages of a bulk index (into an empty channel) wait to become searchable. */
const SEARCH_LAG = 20_000;
/** Messages indexed between two full collections of the heap (see indexFrom's flush). */
const COLLECT_EVERY = 10_000;


export type MessageView = {
  id: string;
  content: string;
  timestamp: string;
  git_hash: string;
  repository: string;
  author: string;
  /** The author's account (`local:LOGIN`); null for a message from before accounts or from the open local mode. */
  author_id: string | null;
  /** Written by a bot account (its token, or an incoming webhook). */
  bot: boolean;
  /**
   * Whether its commit proves who wrote it: signed by a key the channel lists
   * in .gitchat/signers/ (or history from before signing began). False for a
   * commit pushed around gitchat.
   */
  verified: boolean;
  type: string;
  /** A code message's language, when it names one. */
  language: string | null;
  /** Arrival order at this server: pass it back as `after` to get what came since (a change to the message arrives again, with a new cursor). */
  cursor: number;
  /** When its text was last edited (`content` is the text now); null when never. */
  edited_at: string | null;
  /** Deleted by its author or an admin: `content` is empty (git's history still holds the text, until it is rewritten). */
  deleted: boolean;
  /** The message whose thread it is in; null for a message of the channel itself. */
  reply_to: string | null;
  /** How many replies its thread holds (deleted ones not counted). */
  reply_count: number;
  /** Each emoji given to it, with how many gave it and who (their names, and their account ids: `local:LOGIN`, or `name:NAME` without an account). */
  reactions: Reaction[];
  /** Its files (issue 12), in the order sent; each served at its `url`, to whoever sees the channel. */
  attachments: AttachmentView[];
};

/** `width` and `height`: an image's size in pixels, when its header gives it (absent otherwise). */
export type AttachmentView = { name: string; type: string; size: number; url: string; width?: number; height?: number };

/** Where a message's file is served (GET, by the messages routes). */
export const attachmentUrl = (messageId: string, index: number) => `/messages/${messageId}/attachments/${index}`;

const toAttachmentViews = (id: string, attachments: readonly IndexedAttachment[] | undefined): AttachmentView[] =>
  (attachments ?? []).map((a, i) => ({
    name: a.name,
    type: a.type,
    size: a.size,
    url: attachmentUrl(id, i),
    ...(a.width !== undefined && a.height !== undefined ? { width: a.width, height: a.height } : {}),
  }));

export const toMessageView = (row: MessageRow): MessageView => ({
  id: row.id,
  content: row.content,
  timestamp: row.created_at,
  git_hash: row.git_hash,
  repository: row.repository,
  author: row.author,
  author_id: row.author_id,
  bot: row.bot,
  verified: row.verified,
  type: row.type,
  language: row.language,
  cursor: row.cursor,
  edited_at: row.edited_at,
  deleted: row.deleted,
  reply_to: row.reply_to,
  reply_count: row.reply_count,
  reactions: row.reactions,
  attachments: toAttachmentViews(row.id, row.attachments),
});

export type SendInput = {
  /** Who asks: the channel must be one they see (repositories/access.ts). */
  viewer: Viewer;
  content: string;
  repository?: string;
  type?: string;
  /** A code message's language (type "code" only). */
  language?: string;
  /** A reply: the message whose thread it goes in (a reply to a reply goes in the same thread). */
  reply_to?: string;
  /**
   * Who sends it: the signed-in caller's name and account id (none for the
   * operator or the shared-name login), and whether the account is a bot;
   * the configured author when absent.
   */
  author?: { name: string; id?: string; bot?: boolean; email?: string };
  /**
   * The client's name for this message (1 to 255 printable ASCII characters):
   * sent again with the same key in the same channel, it gives back the
   * message that key first sent instead of storing a second one.
   */
  idempotencyKey?: string;
  /** Files to commit beside the message (issue 12): then `content` may be empty. `type` is a MIME type; the rules check all three. */
  files?: FileInput[];
};

export type FileInput = { name: string; type: string; bytes: Uint8Array };

/** A file being served: its bytes from git, and what to serve them as. */
export type AttachmentFile = { name: string; type: string; bytes: Uint8Array };

/** What `send` did: stored the message now, or gave back the one its Idempotency-Key sent before. */
export type SendResult = { message: MessageView; replayed: boolean };

export const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;
export const IDEMPOTENCY_KEY_RULE = "Idempotency-Key must be 1 to 255 printable ASCII characters";
/** How long a key is remembered; a retry later than this stores the message again. */
export const IDEMPOTENCY_KEY_HOURS = 24;
const HOUR_MS = 3_600_000;

/** A message on its way to the writer, with the key it was sent under. */
/** A message to commit; `email`, the commit e-mail of its author when the account has its own (a GitHub account's no-reply address). */
type Submission = { message: NewMessage; key?: { key: string; fingerprint: string }; email?: string; files?: Uint8Array[] };

/** What one group commit did: its commit, and the cursor of each message the index stored from it, by id. */
type Committed = { commit: string; cursors: Map<string, number> };

export type ListInput = {
  /** Who asks: only channels they see are read, and a channel they do not see is unknown. */
  viewer: Viewer;
  repository?: string;
  before?: string;
  after?: number;
  q?: string;
  /** A thread: the replies to this message (which names the channel), in time order. */
  thread?: string;
  limit?: number;
};

/** Some of a channel's messages in time order, and whether it holds more before and after them. */
export type Window = { messages: MessageView[]; hasOlder: boolean; hasNewer: boolean };

/** Who changes a message, and which (by id, in whichever channel the viewer sees it). */
export type ChangeInput = { viewer: Viewer; author?: SendInput["author"]; id: string };

/** A message's text through time, as its edits in git give it. */
export type MessageHistory = {
  id: string;
  deleted: boolean;
  /** The text as sent, then each edit, oldest first: each with who, when and the commit that holds it (no text once deleted). */
  versions: { content: string | null; author: string; at: string; git_hash: string }[];
};

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** Where long work reports how far it is (the CLI draws it on a terminal). */
export type ProgressSink = {
  /** `done` of about `total` messages (undefined: not known). */
  update(done: number, total: number | undefined): void;
  end(): void;
};

/** What indexing a channel's history found. */
export type IndexReport = {
  indexed: number;
  /** One line each, for the log: changed paths, quarantined files. */
  problems: string[];
  /** Message files newly found breaking the message rules: not indexed, recorded, reported once. */
  quarantined: QuarantinedFile[];
};


export class MessageService {
  private readonly writers = new Map<number, GroupCommit<Submission, Committed>>();
  /** Sends with an Idempotency-Key that have not finished, by channel and key. */
  private readonly attempts = new Map<string, Promise<SendResult>>();
  private prunedAt = 0;
  private readonly commitListeners: ((channel: Channel) => void)[] = [];
  private readonly arrivalListeners = new Set<(channelId: number) => void>();

  constructor(
    private readonly db: MessageDatabase,
    private readonly repositories: RepositoryService,
    private readonly options: {
      author: string;
      /** The host of the server's public address (PUBLIC_URL): accounts' commit e-mails are LOGIN@users.noreply.HOST. */
      emailHost: () => string;
      defaultRepository: string;
      /** Who sees which channel: every read and send asks it. */
      access: ChannelAccess;
      /** The author id of the account with this login, if there is one (a search's from:). */
      accountId?: (login: string) => string | undefined;
      now?: () => number;
      /** A progress sink for indexing a channel (rebuild, a first pull); none when undefined. */
      progress?: (channel: Channel) => ProgressSink | undefined;
      /** Counts acknowledged messages and times each group commit (GET /metrics). */
      metrics?: Pick<Metrics, "sent" | "committed">;
    },
  ) {}

  async send(input: SendInput): Promise<SendResult> {
    const draft: Omit<NewMessage, "id" | "created_at"> = { ...this.authorFields(input.author), content: input.content, type: input.type ?? "message" };
    if (input.language !== undefined) draft.language = input.language;
    if (input.reply_to !== undefined) draft.reply_to = input.reply_to;
    const files = input.files ?? [];
    for (const file of files) checkAttachment({ name: file.name, type: file.type, size: file.bytes.byteLength }, file.bytes);
    // Paths are filled in, and the list checked as a whole (how many), once the message has its id (stamp).
    if (files.length > 0) {
      draft.attachments = files.map((f) => indexedAttachment({ name: f.name, type: f.type, size: f.bytes.byteLength, path: "" }, blobIdOf(f.bytes), f.bytes));
    }
    checkMessage(draft);
    const channel = this.options.access.resolve(input.viewer, input.repository ?? this.options.defaultRepository);
    if (draft.reply_to !== undefined) draft.reply_to = this.threadOf(channel, draft.reply_to);
    const key = input.idempotencyKey;
    const email = input.author?.email;
    const bytes = files.length > 0 ? files.map((f) => f.bytes) : undefined;
    if (key === undefined) return { message: await this.commit(channel, { message: this.stamp(draft), email, files: bytes }), replayed: false };
    if (!IDEMPOTENCY_KEY.test(key)) throw new InvalidInputError(IDEMPOTENCY_KEY_RULE);

    // One attempt per key at a time: a retry that arrives while the first is
    // still committing waits for it, then finds its message below.
    const slot = `${channel.id}\n${key}`;
    for (let running = this.attempts.get(slot); running; running = this.attempts.get(slot)) await running.catch(() => {});
    const attempt = this.sendOnce(channel, key, draft, email, bytes);
    this.attempts.set(slot, attempt);
    try {
      return await attempt;
    } finally {
      if (this.attempts.get(slot) === attempt) this.attempts.delete(slot);
    }
  }

  private async sendOnce(
    channel: Channel,
    key: string,
    draft: Omit<NewMessage, "id" | "created_at">,
    email: string | undefined,
    files: Uint8Array[] | undefined,
  ): Promise<SendResult> {
    // A message's files count as part of it: the same key with other files is another message.
    const attached = draft.attachments?.map((a) => [a.name, a.type, a.blob]) ?? [];
    const fingerprint = new Bun.CryptoHasher("sha256")
      .update(
        JSON.stringify([
          draft.author, draft.type, draft.content, draft.author_id, ...(draft.bot ? [true] : []), ...(attached.length ? [attached] : []),
          // Only where there is one: a key's fingerprint from before threads reads the same.
          ...(draft.reply_to !== undefined || draft.language !== undefined ? [{ reply_to: draft.reply_to, language: draft.language }] : []),
        ]),
      )
      .digest("hex");
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
    return { message: await this.commit(channel, { message: this.stamp(draft), key: { key, fingerprint }, email, files }), replayed: false };
  }

  /**
   * Messages brought from elsewhere (`gitchat import`), with their own ids
   * and times: those the index lacks are checked by the message rules and
   * committed together, in the order given, through the channel's one writer.
   * Returns those that were new (an import run again adds nothing).
   */
  async importMessages(channel: Channel, messages: NewMessage[]): Promise<NewMessage[]> {
    const fresh = messages.filter((m) => !this.db.getMessage(channel.id, m.id));
    for (const message of fresh) checkMessage(message);
    await Promise.all(fresh.map((message) => this.writerFor(channel).submit({ message })));
    return fresh;
  }

  /**
   * The author fields of what `author` writes: the signed-in caller's name and
   * account id, and whether the account is a bot; the configured author when
   * absent (the operator, the open local mode).
   */
  private authorFields(author: SendInput["author"]): Pick<NewMessage, "author" | "author_id" | "bot"> {
    const fields: Pick<NewMessage, "author" | "author_id" | "bot"> = { author: author === undefined ? this.options.author : checkAuthor(author.name) };
    if (author?.id !== undefined) fields.author_id = author.id;
    if (author?.bot) fields.bot = true;
    return fields;
  }

  /** The thread a reply to `id` goes in: the message's own, or (a reply to a reply) its parent's. */
  private threadOf(channel: Channel, id: string) {
    const row = this.db.getMessage(channel.id, id);
    if (!row || row.target !== null) throw new InvalidInputError(`reply_to ${id} is not a message of ${channel.fullName}: a reply goes in the channel of its message`);
    if (row.deleted) throw new MessageDeletedError("the message replied to was deleted: its thread takes no new replies");
    return row.reply_to ?? row.id;
  }

  /** The message `id` in a channel `viewer` sees (an event's id is no message); the same 404 for one they do not see. */
  private findMessage(viewer: Viewer, id: string): { channel: Channel; row: MessageRow } {
    if (!isMessageId(id)) throw new InvalidInputError(`${JSON.stringify(id.slice(0, 80))} is not a message id (a UUIDv7)`);
    for (const channel of this.options.access.list(viewer)) {
      const row = this.db.getMessage(channel.id, id);
      if (row && row.target === null) return { channel, row };
    }
    throw new UnknownMessageError(`there is no message ${id} in a channel you see`);
  }

  /** The message `id` as it is now, in a channel `viewer` sees (the page's thread panel and editor start from it). */
  get(input: { viewer: Viewer; id: string }): MessageView {
    return toMessageView(this.findMessage(input.viewer, input.id).row);
  }

  /** Replaces a message's text by a new `edit` event (the message's file is never rewritten); the author's, or an admin's. */
  edit(input: ChangeInput & { content: string }): Promise<MessageView> {
    return this.change(input, "edit", input.content);
  }

  /** Deletes a message by a `delete` event: it stays in the list as deleted, its text gone from the index. The author's, or an admin's. */
  remove(input: ChangeInput): Promise<MessageView> {
    return this.change(input, "delete", "");
  }

  /** Adds (`on`) or takes back the caller's reaction `emoji`: anyone who sees the channel. */
  react(input: ChangeInput & { emoji: string; on: boolean }): Promise<MessageView> {
    checkReaction(input.emoji);
    return this.change(input, input.on ? "react" : "unreact", input.emoji);
  }

  /**
   * Commits one event on a message and answers the message as it is then. A
   * change that changes nothing (the same text, a reaction already given or
   * not there to take back, a delete of a deleted message) commits nothing.
   */
  private async change(input: ChangeInput, type: EventType, content: string): Promise<MessageView> {
    const { channel, row } = this.findMessage(input.viewer, input.id);
    const fields = this.authorFields(input.author);
    const event: Omit<NewMessage, "id" | "created_at"> = { ...fields, content, type, target: row.id };
    const who = { author: fields.author, author_id: fields.author_id ?? null };
    if ((type === "edit" || type === "delete") && !mayChange({ ...who, admin: null }, row)) {
      if (!this.options.access.isAdmin(input.viewer)) throw new ForbiddenError(`only its author or an admin may ${type} this message`);
      event.admin = true;
    }
    if (row.deleted) {
      if (type === "delete") return toMessageView(row);
      throw new MessageDeletedError("this message was deleted: it can no longer be edited or reacted to");
    }
    const mine = row.reactions.find((r) => r.emoji === content)?.user_ids.includes(actorOf(who)) ?? false;
    if ((type === "edit" && content === row.content) || (type === "react" && mine) || (type === "unreact" && !mine)) return toMessageView(row);
    checkMessage(event);
    await this.writerFor(channel).submit({ message: this.stamp(event), email: input.author?.email });
    return toMessageView(this.db.getMessage(channel.id, row.id)!);
  }

  /** A message's text as sent and after each edit that counts (see db/fold.ts), read from git and the index. */
  async history(input: { viewer: Viewer; id: string }): Promise<MessageHistory> {
    const { channel, row } = this.findMessage(input.viewer, input.id);
    return { id: row.id, deleted: row.deleted, versions: await versionsOf(this.db, channel.store, channel.id, row) };
  }

  private stamp(draft: Omit<NewMessage, "id" | "created_at">): NewMessage {
    const now = this.now();
    const message: NewMessage = { id: Bun.randomUUIDv7("hex", now), ...draft, created_at: new Date(now).toISOString() };
    if (draft.attachments) {
      message.attachments = draft.attachments.map((a, i) => ({ ...a, path: attachmentPath(message.id, i, a.name) }));
      checkAttachments(message);
    }
    return message;
  }

  private now() {
    return (this.options.now ?? Date.now)();
  }

  private async commit(channel: Channel, submission: Submission): Promise<MessageView> {
    const { commit, cursors } = await this.writerFor(channel).submit(submission);
    this.options.metrics?.sent();
    const { message } = submission;
    const cursor = cursors.get(message.id);
    // Stored by this commit's insert: answer from what was stored, not a read
    // back per message (that read was 7% of a send's time at 50 clients).
    // Otherwise (the commit was indexed by a walk) read the row.
    if (cursor === undefined) return toMessageView(this.db.getMessage(channel.id, message.id)!);
    return {
      id: message.id,
      content: message.content,
      timestamp: message.created_at,
      git_hash: commit,
      repository: channel.fullName,
      author: message.author,
      author_id: message.author_id ?? null,
      bot: message.bot === true,
      // Signed here, by a key this server listed in the channel with its first commit.
      verified: true,
      type: message.type,
      language: message.language ?? null,
      cursor,
      edited_at: null,
      deleted: false,
      reply_to: message.reply_to ?? null,
      reply_count: 0,
      reactions: [],
      attachments: toAttachmentViews(message.id, message.attachments),
    };
  }

  private writerFor(channel: Channel) {
    let writer = this.writers.get(channel.id);
    if (!writer) {
      writer = new GroupCommit(async (submissions) => {
        const batch = submissions.map((s) => s.message);
        const keys = submissions.flatMap((s) => (s.key ? [{ ...s.key, messageId: s.message.id }] : []));
        // Keys go first, so that they hold even if the commit lands and its index insert fails.
        if (keys.length > 0) this.recordKeys(channel, keys);
        const timestamp = Date.parse(batch[batch.length - 1]!.created_at);
        const started = performance.now();
        const placed = new Map<string, number>();
        const emails = new Map(submissions.map((s) => [s.message.id, s.email]));
        const attached = new Map(submissions.flatMap((s) => (s.files ? [[s.message.id, s.files] as const] : [])));
        const commit = await commitMessages(channel.store, batch, { of: (m) => this.signatureOf(m, emails.get(m.id)), timestamp }, placed, attached);
        for (const message of batch) message.segment = placed.get(message.id) ?? null;
        const cursors = new Map<string, number>();
        try {
          await this.record(channel, commit, batch, cursors);
        } finally {
          // Committed is in git: push it even if indexing failed (it is healed later).
          for (const listener of this.commitListeners) listener(channel);
        }
        this.options.metrics?.committed(batch.length, (performance.now() - started) / 1000);
        this.announce(channel.id);
        return { commit, cursors };
      });
      this.writers.set(channel.id, writer);
    }
    return writer;
  }

  /**
   * A message's author as git records it: an account with its own commit
   * e-mail (a GitHub account's no-reply address) under it, a local account as
   * `Name <LOGIN@users.noreply.HOST>` (HOST of PUBLIC_URL), anyone else under
   * the name alone at gitchat.invalid.
   */
  private signatureOf(message: Pick<NewMessage, "author" | "author_id">, accountEmail?: string) {
    const login = message.author_id?.startsWith("local:") ? message.author_id.slice("local:".length) : undefined;
    const email = accountEmail ?? (login ? `${login}@users.noreply.${this.options.emailHost()}` : `${message.author}@gitchat.invalid`);
    return { name: message.author, email };
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
  private async record(channel: Channel, commit: string, batch: NewMessage[], cursors: Map<string, number>) {
    const parent = (await channel.store.readCommit(commit)).parent[0] ?? null;
    if (parent === this.db.indexedCommit(channel.id)) {
      // Signed here, by a key this server listed in the channel's tree: not unproven.
      this.db.insertMessages(channel.id, batch.map((message) => ({ message, gitHash: commit })), commit, {
        onStored: (row, cursor) => cursors.set(row.message.id, cursor),
      });
      // This server's first commit on an unsigned history (pulled from a server from before signing) begins signing there.
      if (parent !== null) await this.clearBeforeSigning(channel.store, [parent]);
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
    const { access } = this.options;
    const repositoryId = input.repository === undefined ? undefined : access.resolve(input.viewer, input.repository).id;
    let repositoryIds = input.repository === undefined ? access.visibleIds(input.viewer) : undefined;
    if (input.q?.includes("\0")) throw new InvalidInputError("q must not contain NUL characters");
    if (input.thread !== undefined) {
      const { channel, row } = this.findMessage(input.viewer, input.thread);
      return this.db.listMessages({ repositoryId: channel.id, thread: row.id, before: input.before, limit: input.limit ?? DEFAULT_LIMIT }).map(toMessageView);
    }
    const query = input.q === undefined ? undefined : parseSearch(input.q);
    let search: MessageSearch | undefined;
    if (query && !isBlankSearch(query)) {
      if (query.in.length > 0) {
        const named = new Set(query.in.map((name) => this.channelNamed(input.viewer, name).id));
        // With repository= as well: the channels both name.
        if (repositoryId !== undefined && !named.has(repositoryId)) return [];
        if (repositoryId === undefined) repositoryIds = [...named];
      }
      search = { terms: query.terms, since: query.since, until: query.until, link: query.has.link, code: query.has.code, file: query.has.file };
      if (query.from.length > 0) search.authors = this.authorsNamed(query.from);
    }
    return this.db
      .listMessages({ repositoryId, repositoryIds, before: input.before, after: input.after, search, limit: input.limit ?? DEFAULT_LIMIT })
      .map(toMessageView);
  }

  /**
   * A message with the messages around it in its channel, in time order: up
   * to `count` before it and `count` after it, and whether its channel holds
   * more on either side. For a link to one message, however far back it is.
   * Its neighbours are the channel's own messages, as its listing has them
   * (replies are in their threads); the message itself may be a reply.
   */
  around(input: { viewer: Viewer; repository: string; id: string; count: number }): Window {
    if (!isMessageId(input.id)) throw new InvalidInputError(`around must be a message id (a UUIDv7), not ${JSON.stringify(input.id)}`);
    const channel = this.options.access.resolve(input.viewer, input.repository);
    const target = this.db.getMessage(channel.id, input.id);
    if (!target) throw new NotFoundError(`there is no message ${input.id} in ${channel.fullName}`);
    const older = this.db.listMessages({ repositoryId: channel.id, before: input.id, limit: input.count + 1 });
    const newer = this.db.messagesInOrder(channel.id, { after: input.id, ownOnly: true }, input.count + 1);
    return {
      messages: [...older.slice(-input.count), target, ...newer.slice(0, input.count)].map(toMessageView),
      hasOlder: older.length > input.count,
      hasNewer: newer.length > input.count,
    };
  }

  /** The `limit` messages of a channel that follow the message `after`, in time order (a window around an old message, moved on). */
  newer(input: { viewer: Viewer; repository: string; after: string; limit: number }): Omit<Window, "hasOlder"> {
    if (!isMessageId(input.after)) throw new InvalidInputError(`newer must be a message id (a UUIDv7), not ${JSON.stringify(input.after)}`);
    const channel = this.options.access.resolve(input.viewer, input.repository);
    const newer = this.db.messagesInOrder(channel.id, { after: input.after, ownOnly: true }, input.limit + 1);
    return { messages: newer.slice(0, input.limit).map(toMessageView), hasNewer: newer.length > input.limit };
  }

  /**
   * The channel an `in:` names, among those the viewer sees: "owner/name", or
   * a name only one of them has. A private channel the viewer is not in is
   * as unknown as a name that names nothing.
   */
  private channelNamed(viewer: Viewer, name: string): Channel {
    const seen = this.options.access.list(viewer);
    const wanted = name.toLowerCase();
    const matches = name.includes("/")
      ? seen.filter((c) => c.fullName.toLowerCase() === wanted)
      : seen.filter((c) => c.name.toLowerCase() === wanted);
    if (matches.length === 1) return matches[0]!;
    if (matches.length === 0) {
      throw new InvalidInputError(`in:${name} names no channel you can see; write in:owner/name with a channel from GET /repositories`);
    }
    throw new InvalidInputError(`in:${name} could be ${matches.map((c) => c.fullName).join(" or ")}; write in:owner/name`);
  }

  /**
   * Who a `from:` names: a login (the account's id, whether it is a local
   * account or one made by GitHub sign-in) or an author's name as messages
   * carry it (the open local mode's name, an import's), in any letter case.
   */
  private authorsNamed(values: readonly string[]) {
    const ids = new Set<string>();
    for (const value of values) {
      ids.add(`local:${value.toLowerCase()}`);
      const id = this.options.accountId?.(value);
      if (id !== undefined) ids.add(id);
    }
    return { ids: [...ids], names: [...values] };
  }

  latestCursor() {
    return this.db.latestCursor();
  }

  /**
   * The file `index` of the message `id`, read from git, when `viewer` sees
   * its channel; otherwise, or when there is no such file, NotFoundError (a
   * private channel's file is as unknown to an outsider as one that does not exist).
   */
  async attachment(input: { viewer: Viewer; id: string; index: number }): Promise<AttachmentFile> {
    const missing = () => new NotFoundError(`message ${input.id} has no file ${input.index}`);
    if (!isMessageId(input.id)) throw missing();
    let found: { channel: Channel; row: MessageRow };
    try {
      found = this.findMessage(input.viewer, input.id);
    } catch (error) {
      if (error instanceof UnknownMessageError) throw missing();
      throw error;
    }
    // A deleted message lists no files (its row says so), and serves none.
    const file = found.row.attachments[input.index];
    if (!file) throw missing();
    return { name: file.name, type: file.type, bytes: await found.channel.store.readBlob(file.blob) };
  }

  /**
   * Indexes every message file of the branch head that SQLite lacks: after a
   * crash between commit and insert, into an empty database (rebuild), or
   * after a pull, whatever the shape of the history (merges, a rebased or
   * force-pushed remote, an unrelated one).
   *
   * The walk goes back from the head and stops only at commits the recorded
   * indexed commit reaches (all indexed), never at a commit merely because
   * its files are known: a rewritten history can hide new messages under
   * such a commit. Each new file found is taken with the commit that added
   * it, if the head still holds it as that commit wrote it; after a walk that
   * stopped at the indexed commit, a last pass over what the head's tree
   * holds that the indexed commit's tree does not (the same top-down
   * comparison a pull uses) catches files no walked commit added, such as one
   * a merge brought back. Into an empty channel (a rebuild) the messages'
   * ids are checked by the insert, not looked up one by one, and search
   * catches up in large runs (see MessageDatabase.catchUpSearch). A file that breaks the message
   * rules, or repeats an indexed id at another path, is quarantined: recorded
   * once, never indexed.
   */
  async index(channel: Channel): Promise<IndexReport> {
    const store = channel.store;
    const report: IndexReport = { indexed: 0, problems: [], quarantined: [] };
    const head = await store.head();
    const indexed = this.db.indexedCommit(channel.id);
    if (!head || head === indexed) return report;
    const base = indexed !== null && (await store.hasObject(indexed)) ? indexed : undefined;
    const headTree = (await store.readCommit(head)).tree;
    const atHead = new TreeLookup(store, headTree);
    const baseTree = base ? (await store.readCommit(base)).tree : undefined;
    const progress = this.options.progress?.(channel);
    try {
      return await this.indexFrom(channel, { head, indexed, base, headTree, baseTree, atHead, report }, progress);
    } finally {
      progress?.end();
    }
  }

  private async indexFrom(
    channel: Channel,
    at: { head: string; indexed: string | null; base: string | undefined; headTree: string; baseTree: string | undefined; atHead: TreeLookup; report: IndexReport },
    progress: ProgressSink | undefined,
  ): Promise<IndexReport> {
    const store = channel.store;
    const { head, indexed, base, headTree, baseTree, atHead, report } = at;
    // The files to index, counted only for a progress line's estimate (a walk of trees, no blob read).
    let total: number | undefined;
    if (progress) {
      total = 0;
      for await (const file of filesNotIn(store, headTree, baseTree)) if (idFromPath(file.path)) total++;
    }

    // Into a channel the index holds nothing of (a rebuild, a first pull),
    // no file can be known already: ids are checked by the insert itself
    // (a second path with an indexed id is caught there), not looked up one
    // by one. The lookups were a third of a rebuild's time. The last pass,
    // which runs only after a walk that stopped at the indexed commit, looks
    // up each id: a lookup is far cheaper than reading the blob again.
    let empty = indexed === null && this.db.channelIsEmpty(channel.id);
    const bulk = empty;
    let deferred = 0;
    let sinceCollected = 0;

    type Row = { message: NewMessage; gitHash: string; path: string; oid: string; unproven: boolean; proven: Promise<boolean> };
    /** Whether each commit that gives a message proves who wrote it: one signature check a commit (see MessageView.verified). */
    const prover = new CommitProver(store, this.db.hasUnproven());
    /** The last commit checked: a commit's files are considered one after another. Its verdict is awaited when the batch is stored. */
    let proof: { commit: string; proven: Promise<boolean> } | undefined;
    let rows: Row[] = [];
    /** This batch's quarantined files, keyed by path and blob. */
    let quarantined = new Map<string, QuarantinedFile>();
    /** Ids taken in this batch, and where: a second path with the same id is a duplicate. */
    let taken = new Map<string, string>();
    /** Where the index holds the message with this id: the path of its file, or undefined. */
    const heldPath = (id: string) => {
      const place = this.db.messagePlace(channel.id, id);
      return place && storedPath(place);
    };
    const flush = async (indexedCommit: string | null) => {
      // The batch's signature checks ran on the thread pool while its commits were read.
      for (const row of rows) row.unproven = !(await row.proven);
      if (quarantined.size > 0) this.db.quarantine(channel.id, [...quarantined.values()], new Date().toISOString());
      // Arrival numbers (cursors) follow message time within what arrives together.
      rows.sort((a, b) => (a.message.id < b.message.id ? -1 : a.message.id > b.message.id ? 1 : 0));
      const held = this.db.insertMessages(channel.id, rows, indexedCommit, {
        onHeld: (row) => {
          const at = heldPath(row.message.id);
          // The same file again (a commit that re-added it): already indexed.
          if (at === undefined || at === row.path) return undefined;
          return { path: row.path, blob: row.oid, gitHash: row.gitHash, reason: `the id is already held by ${at}` };
        },
        // Into an empty channel: searchable in large runs (every SEARCH_LAG rows, and at the end).
        deferSearch: bulk,
      });
      // Bun's collector lets the heap grow to about twice what is live before
      // a full collection, and reading a history makes garbage fast (each
      // blob read, inflated, decoded): a rebuild of a million messages rose
      // to 560 MB and stayed there, where collecting every COLLECT_EVERY
      // messages held it near 230 MB for about 6% more time.
      if ((sinceCollected += rows.length) >= COLLECT_EVERY) {
        Bun.gc(true);
        sinceCollected = 0;
      }
      if (bulk && (deferred += rows.length) >= SEARCH_LAG) {
        this.db.catchUpSearch(false);
        deferred = 0;
      }
      report.indexed += rows.length - held.length;
      report.quarantined.push(...quarantined.values(), ...held);
      rows = [];
      quarantined = new Map();
      taken = new Map();
    };
    const heldAt = (id: string) => {
      const here = taken.get(id);
      if (here !== undefined || empty) return here;
      return heldPath(id);
    };
    const consider = async (file: { path: string; oid: string }, gitHash: string) => {
      const id = idFromPath(file.path);
      if (!id) return;
      const held = heldAt(id);
      if (held === file.path) return;
      const key = `${file.path}\0${file.oid}`;
      if (quarantined.has(key) || (!empty && this.db.isQuarantined(channel.id, file.path, file.oid))) return;
      let reason: string | undefined;
      let message: NewMessage | undefined;
      if (held !== undefined) reason = `the id is already held by ${held}`;
      else {
        try {
          const read = readMessageFile(await store.readBlob(file.oid), file.path);
          // Its files, as the head holds them beside it: each held to the rules (see attachments.ts).
          message = { ...read, attachments: read.attachments ? await findAttachments(store, atHead, file.path, read) : undefined };
        } catch (error) {
          reason = (error as Error).message;
        }
      }
      if (message) {
        if (proof?.commit !== gitHash) proof = { commit: gitHash, proven: prover.proves(gitHash) };
        rows.push({ message: { ...message, segment: segmentOfPath(file.path) }, gitHash, path: file.path, oid: file.oid, unproven: true, proven: proof.proven });
        taken.set(id, file.path);
        progress?.update(report.indexed + rows.length, total);
      } else {
        quarantined.set(key, { path: file.path, blob: file.oid, gitHash, reason: reason! });
      }
    };

    const commits = await parentsFirst(store, head, base ? new Set(await commitsBetween(store, [head], [base])) : undefined);
    for (const commit of commits) {
      const { added, altered } = await store.introducedFiles(commit, isMessagePath);
      for (const file of altered) report.problems.push(`${file.path} was changed by commit ${commit}; both versions are kept in git`);
      for (const file of [...added, ...altered]) {
        // A version the head no longer holds (replaced or removed later) is not the message.
        if ((await atHead.blobAt(file.path)) === file.oid) await consider(file, commit);
      }
      // The head is indexed only once the walk and the last pass are done:
      // until then a batch records the commit recorded before.
      if (rows.length + quarantined.size >= INDEX_BATCH) await flush(indexed);
    }
    empty = false;
    // With no base the walk went through every commit the head reaches, and
    // each file of the head's tree was taken with the commit that gave it its
    // head version (one whose parents all lack that version: the root at the
    // latest): the last pass would find nothing, at the cost of a lookup per
    // message (and most of a rebuild's peak memory).
    if (base !== undefined) {
      for await (const file of filesNotIn(store, headTree, baseTree)) {
        await consider(file, head);
        if (rows.length + quarantined.size >= INDEX_BATCH) await flush(indexed);
      }
    }
    await flush(head);
    await prover.settled();
    await this.clearBeforeSigning(store, prover.startCandidates);
    if (bulk) this.db.catchUpSearch();
    for (const file of report.quarantined.slice(0, 50)) {
      report.problems.push(`${file.path} in commit ${file.gitHash} is quarantined: ${file.reason}`);
    }
    if (report.quarantined.length > 50) report.problems.push(`... and ${report.quarantined.length - 50} more file(s) quarantined`);
    if (report.indexed > 0) this.announce(channel.id);
    return report;
  }

  /**
   * Clears the unproven mark of the history from before signing began under
   * any of `parents` (each the single parent of a proven commit just indexed;
   * see beforeSigning). Nothing is read while no indexed commit is marked,
   * which is the usual case: a channel only this version of gitchat wrote.
   */
  private async clearBeforeSigning(store: ObjectSource, parents: Iterable<string>) {
    for (const parent of parents) {
      if (!this.db.hasUnproven()) return;
      this.db.markProven(await beforeSigning(store, parent));
    }
  }

  /** Waits until every message handed to a writer is committed and indexed. */
  async settled() {
    await Promise.all([...this.writers.values()].map((w) => w.settled()));
  }
}
