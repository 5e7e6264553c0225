/** How one message is laid out in git: `messages/YYYY/MM/DD/<id>.json`, stable key order. */
import { StoreIntegrityError } from "../errors.ts";

export type MessageRecord = {
  id: string;
  author: string;
  content: string;
  type: string;
  created_at: string;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PATH = /^messages\/\d{4}\/\d{2}\/\d{2}\/([0-9a-f-]{36})\.json$/;

export const isMessageId = (value: string) => UUID.test(value);

/** The day directory of a message, from its UTC creation time. */
export const messageDir = (createdAt: string) => {
  const d = new Date(createdAt);
  const pad = (n: number) => String(n).padStart(2, "0");
  return ["messages", String(d.getUTCFullYear()), pad(d.getUTCMonth() + 1), pad(d.getUTCDate())];
};

export const messagePath = (m: Pick<MessageRecord, "id" | "created_at">) =>
  [...messageDir(m.created_at), `${m.id}.json`].join("/");

/** The message id a path names, or undefined when the path is not a message file. */
export const idFromPath = (path: string) => PATH.exec(path)?.[1];

/**
 * The message path that `path` is a kept copy of: where a merge found the
 * same path with other content on the remote, it kept ours at the path and
 * theirs beside it as `<id>.conflict-<first 12 of its blob id>.json`
 * (history.ts `unionTrees`). Undefined for any other path.
 */
export const conflictCopyOf = (path: string) => {
  const match = /^(messages\/\d{4}\/\d{2}\/\d{2}\/[0-9a-f-]{36})\.conflict-[0-9a-f]{12}\.json$/.exec(path);
  return match ? `${match[1]}.json` : undefined;
};

export const encodeMessage = (m: MessageRecord) =>
  new TextEncoder().encode(
    `${JSON.stringify(
      { id: m.id, author: m.author, content: m.content, type: m.type, created_at: m.created_at },
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
  const record = Object.fromEntries(fields.map((f) => [f, v[f] as string])) as MessageRecord;
  if (idFromPath(path) !== record.id || Number.isNaN(Date.parse(record.created_at))) {
    throw new StoreIntegrityError("the path does not match the message's id and time");
  }
  return record;
};
