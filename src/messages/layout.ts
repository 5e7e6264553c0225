/**
 * How messages are laid out in git (the rules of the product, not of the
 * object store: git/store.ts only writes the files this decides):
 * `messages/YYYY/MM/DD/<segment>/<id>.json`, keys in a stable order.
 *
 * The date levels are for people browsing the repository. The segment level
 * keeps every tree a commit writes bounded however busy a day is: a day's
 * messages fill segment 000 up to SEGMENT_FILES files, then 001, and so on.
 * (The first layout, `messages/YYYY/MM/DD/<id>.json`, put a whole day in one
 * directory, so every commit rewrote a tree as big as the day: 179 ms a send
 * with 200,000 messages that day. Hours or minutes would not be bounded: a
 * bot can write thousands in a minute.) A path is fixed when it is written:
 * the segment is chosen from the tree the commit builds on, so two servers
 * filling "the same" segment at once merge (by the union of their trees) to at
 * most twice the bound, and no file ever moves. Readers accept both layouts.
 */
import { StoreIntegrityError } from "../errors.ts";
import type { ChannelStore, NewFile, TreeReader } from "../git/store.ts";
import type { Signature } from "../git/objects.ts";

export type MessageRecord = {
  id: string;
  author: string;
  /** The author's stable id (`local:LOGIN`); absent in files from before accounts and from the open local mode. */
  author_id?: string;
  /** True for a message a bot account wrote (a token of a bot, an incoming webhook); absent for a person's, and in files from before bots. */
  bot?: true;
  content: string;
  type: string;
  created_at: string;
  /**
   * For an event (an edit, a delete, a reaction or its removal: see EVENT_TYPES),
   * the id of the message it changes. A message file is never rewritten: what
   * happens to a message later is a new file naming it, folded by the index.
   */
  target?: string;
  /** On an event: an admin acted on someone else's message (the fold accepts an edit or delete only from the author, or so marked). */
  admin?: true;
  /** A reply: the id of the message (in the same channel) whose thread it is in. */
  reply_to?: string;
  /** A code message's language, for highlighting (`type: "code"` only). */
  language?: string;
  /** Files committed beside the message (issue 12), in the order sent; absent for a message without any, and in older files. */
  attachments?: AttachmentRecord[];
};

/** A file of a message as its message file lists it: `path` is where it is, from the message file's directory (attachmentPath). */
export type AttachmentRecord = { name: string; type: string; size: number; path: string };

/** The kinds of event: `content` is the new text of an edit, empty for a delete, the emoji of a reaction. */
export const EVENT_TYPES = ["edit", "delete", "react", "unreact"] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const isEventType = (type: string): type is EventType => (EVENT_TYPES as readonly string[]).includes(type);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A message file, in the segmented layout or the first one (no segment level). */
const PATH = /^messages\/\d{4}\/\d{2}\/\d{2}\/(?:\d{3,}\/)?([0-9a-f-]{36})\.json$/;

/** Files a segment directory is filled with before the next one is opened. */
export const SEGMENT_FILES = 1000;

const SEGMENT = /^\d{3,}$/;

/** A segment directory's name: 000, 001, ... 999, 1000, ... */
export const segmentName = (n: number) => String(n).padStart(3, "0");

/** The segment number a directory name stands for, or undefined when it is not a segment. */
export const segmentNumber = (name: string) => (SEGMENT.test(name) ? Number(name) : undefined);

export const isMessageId = (value: string) => UUID.test(value);

/** The smallest message id of the millisecond `ms`: every message sent from then on has a larger one (a UUIDv7 starts with its time). */
export const firstIdAt = (ms: number) => {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7000-8000-000000000000`;
};

/** The day directory of a message, from its UTC creation time. */
export const messageDir = (createdAt: string) => {
  const d = new Date(createdAt);
  const pad = (n: number) => String(n).padStart(2, "0");
  return ["messages", String(d.getUTCFullYear()), pad(d.getUTCMonth() + 1), pad(d.getUTCDate())];
};

/** Where a message's file is: in segment `segment` of its day, or (null) directly in its day, as the first layout wrote it. */
export const messagePath = (m: Pick<MessageRecord, "id" | "created_at">, segment: number | null) =>
  [...messageDir(m.created_at), ...(segment === null ? [] : [segmentName(segment)]), `${m.id}.json`].join("/");

/** The path of a message the index holds. */
export const storedPath = (m: Pick<MessageRecord, "id" | "created_at"> & { segment?: number | null }) => messagePath(m, m.segment ?? null);

/** The segment a message file's path names, or null for a file of the first layout (or not a message file). */
export const segmentOfPath = (path: string) => {
  const parts = path.split("/");
  return parts.length === 6 ? (segmentNumber(parts[4]!) ?? null) : null;
};

/** Lines of a batch commit's body: one a message, up to this many. */
const COMMIT_BODY_LINES = 10;

const firstLine = (text: string, max: number) => {
  const line = text.trim().split("\n")[0]!.replace(/\s+/g, " ");
  return [...line].length > max ? `${[...line].slice(0, max - 1).join("")}…` : line;
};

/** What a message says, for its commit's line: its text, or the names of its files when it has only files. */
const said = (m: Pick<MessageRecord, "content" | "attachments">) =>
  m.content.trim() === "" && m.attachments?.length ? m.attachments.map((a) => `[${a.name}]`).join(" ") : m.content;

/**
 * A commit's message, so that `git log --oneline` reads as the conversation:
 * `ann: Deploy went out fine` for one message, `3 messages from ann, bo` for
 * a batch, whose body then has one line for each of its first messages.
 */
export const commitMessageFor = (messages: readonly Pick<MessageRecord, "author" | "content" | "type" | "target" | "reply_to" | "attachments">[]) => {
  if (messages.length === 1) return firstLine(lineOf(messages[0]!), 72);
  const authors = [...new Set(messages.map((m) => m.author))];
  const names = authors.length <= 3 ? authors.join(", ") : `${authors.slice(0, 3).join(", ")} and ${authors.length - 3} more`;
  // A few lines are enough to browse by; a commit of a thousand messages must not carry a thousand.
  const lines = messages.slice(0, COMMIT_BODY_LINES).map((m) => firstLine(lineOf(m), 72));
  if (messages.length > COMMIT_BODY_LINES) lines.push(`... and ${messages.length - COMMIT_BODY_LINES} more`);
  const body = lines.join("\n");
  return `${messages.length} messages from ${names}\n\n${body}`;
};

/** One record as `git log` reads it: what was said, or what was done to which message (a delete never repeats the text). */
const lineOf = (m: Pick<MessageRecord, "author" | "content" | "type" | "target" | "reply_to" | "attachments">) => {
  if (m.target === undefined) return m.reply_to === undefined ? `${m.author}: ${said(m)}` : `${m.author} replied: ${said(m)}`;
  const which = m.target.slice(-12);
  switch (m.type) {
    case "edit":
      return `${m.author} edited ${which}: ${m.content}`;
    case "delete":
      return `${m.author} deleted ${which}`;
    case "react":
      return `${m.author} reacted ${m.content} to ${which}`;
    default:
      return `${m.author} took back ${m.content} from ${which}`;
  }
};

/** The message id a path names, or undefined when the path is not a message file. */
export const idFromPath = (path: string) => PATH.exec(path)?.[1];

/**
 * The message path that `path` is a kept copy of: where a merge found the
 * same path with other content on the remote, it kept ours at the path and
 * theirs beside it as `<id>.conflict-<first 12 of its blob id>.json`
 * (history.ts `unionTrees`). Undefined for any other path.
 */
export const conflictCopyOf = (path: string) => {
  const match = /^(messages\/\d{4}\/\d{2}\/\d{2}\/(?:\d{3,}\/)?[0-9a-f-]{36})\.conflict-[0-9a-f]{12}\.json$/.exec(path);
  return match ? `${match[1]}.json` : undefined;
};

export const encodeMessage = (m: MessageRecord) =>
  new TextEncoder().encode(
    `${JSON.stringify(
      // Keys in this fixed order; author_id only when there is one, bot only for a bot's message,
      // and the event and reply keys only where they apply (an older file has none, and reads the same).
      {
        id: m.id,
        author: m.author,
        author_id: m.author_id,
        bot: m.bot,
        content: m.content,
        type: m.type,
        created_at: m.created_at,
        target: m.target,
        admin: m.admin,
        reply_to: m.reply_to,
        language: m.language,
        // Only for a message with files; only the keys of the file (an index may carry more).
        attachments: m.attachments?.length ? m.attachments.map(({ name, type, size, path }) => ({ name, type, size, path })) : undefined,
      },
      null,
      2,
    )}\n`,
  );

/** Reads a message file; the error's message is the reason it cannot be read, for the caller to put after the path. */
export const decodeMessage = (bytes: Uint8Array, path: string): MessageRecord => {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new StoreIntegrityError("not valid UTF-8 JSON");
  }
  const v = value as Record<string, unknown>;
  const fields = ["id", "author", "content", "type", "created_at"] as const;
  for (const field of fields) {
    if (typeof v?.[field] !== "string") throw new StoreIntegrityError(`has no string "${field}"`);
  }
  const record = Object.fromEntries(fields.map((f) => [f, v[f] as string])) as unknown as MessageRecord;
  if (v.author_id !== undefined) {
    if (typeof v.author_id !== "string") throw new StoreIntegrityError('has an "author_id" that is not a string');
    record.author_id = v.author_id;
  }
  if (v.bot !== undefined && v.bot !== false) {
    if (v.bot !== true) throw new StoreIntegrityError('has a "bot" that is not true or false');
    record.bot = true;
  }
  for (const field of ["target", "reply_to", "language"] as const) {
    if (v[field] === undefined) continue;
    if (typeof v[field] !== "string") throw new StoreIntegrityError(`has a "${field}" that is not a string`);
    record[field] = v[field];
  }
  if (v.admin !== undefined && v.admin !== false) {
    if (v.admin !== true) throw new StoreIntegrityError('has an "admin" that is not true or false');
    record.admin = true;
  }
  if (v.attachments !== undefined) record.attachments = decodeAttachments(v.attachments);
  if (idFromPath(path) !== record.id || Number.isNaN(Date.parse(record.created_at))) {
    throw new StoreIntegrityError("the path does not match the message's id and time");
  }
  return record;
};

/** The shape of a message file's `attachments`: an array of {name, type, size, path} (the rules check their values). */
const decodeAttachments = (value: unknown): AttachmentRecord[] => {
  if (!Array.isArray(value)) throw new StoreIntegrityError('has "attachments" that is not an array');
  return value.map((a: Record<string, unknown>) => {
    if (typeof a?.name !== "string" || typeof a.type !== "string" || typeof a.size !== "number" || typeof a.path !== "string") {
      throw new StoreIntegrityError('has an attachment without a string "name", "type", "path" and a number "size"');
    }
    return { name: a.name, type: a.type, size: a.size, path: a.path };
  });
};

/**
 * Where a message's files go: a directory `<id>.files` beside its file,
 * one entry of its segment whatever the number of files (so a segment's
 * entries stay bounded: see placeMessages), each file named by its place in
 * the message's list and its own name made safe for any file system (no
 * character Windows or a shell would trip on, at most 120 bytes, the
 * extension kept). The message file keeps the name as sent.
 */
export const attachmentPath = (id: string, index: number, name: string) => {
  let safe = name.normalize("NFC").replace(/[^\p{L}\p{N}._ ()+-]/gu, "_").replace(/^[. ]+|[. ]+$/g, "") || "file";
  const dot = safe.lastIndexOf(".");
  const extension = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : "";
  while (Buffer.byteLength(safe) > 120) {
    const stem = [...safe.slice(0, safe.length - extension.length)];
    safe = stem.slice(0, -1).join("").replace(/[. ]+$/, "") + extension;
  }
  return `${id}.files/${index}-${safe}`;
};

/** An attachment's path in the repository, from its message file's path and its own (relative) path. */
export const attachmentRepositoryPath = (messageFilePath: string, path: string) => `${messageFilePath.slice(0, messageFilePath.lastIndexOf("/"))}/${path}`;

/** Whether a path is a message file (of either layout). */
export const isMessagePath = (path: string) => idFromPath(path) !== undefined;

/**
 * Where each of `messages` goes, given the tree the commit builds on: the
 * newest segment of its day while it holds fewer than SEGMENT_FILES files,
 * then the next. Returns the files to add and each message's segment.
 */
export const placeMessages = async (messages: readonly MessageRecord[], tree: TreeReader, attached?: AttachedBytes) => {
  const files: NewFile[] = [];
  const segments = new Map<string, number>();
  const byDay = new Map<string, MessageRecord[]>();
  for (const m of messages) {
    const key = messageDir(m.created_at).join("/");
    byDay.set(key, [...(byDay.get(key) ?? []), m]);
  }
  for (const [day, group] of byDay) {
    const dayPath = day.split("/");
    let { segment, files: filled } = await lastSegment(tree, dayPath);
    for (const m of group) {
      // Its files' directory is one more entry of the segment, however many files it holds.
      const entries = m.attachments?.length ? 2 : 1;
      if (filled + entries > SEGMENT_FILES) {
        segment++;
        filled = 0;
      }
      filled += entries;
      segments.set(m.id, segment);
      files.push({ dir: [...dayPath, segmentName(segment)], name: `${m.id}.json`, content: encodeMessage(m) });
      if (m.attachments?.length) {
        const bytes = attached?.get(m.id);
        m.attachments.forEach((a, i) => {
          const content = bytes?.[i];
          if (!content) throw new Error(`the bytes of file ${i} of message ${m.id} were not given`);
          const [dir, name] = a.path.split("/");
          files.push({ dir: [...dayPath, segmentName(segment), dir!], name: name!, content });
        });
      }
    }
  }
  return { files, segments };
};

/** The highest-numbered segment of the day at `dayPath` and how many files it holds (segment 0, empty, for a new day). */
const lastSegment = async (tree: TreeReader, dayPath: readonly string[]) => {
  let last: { name: string; n: number } | undefined;
  for (const entry of (await tree.entriesAt(dayPath)) ?? []) {
    const n = entry.mode === "40000" ? segmentNumber(entry.name) : undefined;
    if (n !== undefined && (!last || n > last.n)) last = { name: entry.name, n };
  }
  if (!last) return { segment: 0, files: 0 };
  return { segment: last.n, files: ((await tree.entriesAt([...dayPath, last.name])) ?? []).length };
};

/** The bytes of each message's files, by message id, in the order its `attachments` lists them. */
export type AttachedBytes = ReadonlyMap<string, readonly Uint8Array[]>;

/** A message's author as git names them (the commit gives the time). */
export type Person = { name: string; email: string };

/**
 * Commits `messages` to the channel's repository in one commit, laid out as
 * above, and returns the commit. `author` is one signature for the whole
 * commit, or each message's author (`of`): then the commit's author is the
 * first message's, and every other author of the batch is named in a
 * `Co-authored-by:` trailer, as GitHub reads them. `placed`, when given, is
 * told the segment each message's file went to, by id.
 */
export const commitMessages = (
  store: ChannelStore,
  messages: readonly MessageRecord[],
  author: Signature | { of: (message: MessageRecord) => Person; timestamp: number },
  placed?: Map<string, number>,
  attached?: AttachedBytes,
) => {
  const people = new Map<string, Person>();
  for (const m of messages) {
    const person = "of" in author ? author.of(m) : author;
    people.set(`${person.name} <${person.email}>`, { name: person.name, email: person.email });
  }
  const [first, ...others] = [...people.keys()];
  const trailers = others.map((ident) => `Co-authored-by: ${ident.replace(/[\r\n]/g, "")}`);
  return store.commitFiles(async (tree) => {
    const { files, segments } = await placeMessages(messages, tree, attached);
    for (const [id, segment] of segments) placed?.set(id, segment);
    const message = commitMessageFor(messages);
    return { files, message: trailers.length > 0 ? `${message}\n\n${trailers.join("\n")}` : message };
  }, { ...people.get(first!)!, timestamp: author.timestamp });
};
