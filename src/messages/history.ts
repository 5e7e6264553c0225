/**
 * A message's text through time: as sent (its file, in the commit that added
 * it: the index holds only the text now) and after each edit that counts (see
 * db/fold.ts), each with who, when and the commit that holds it. For
 * `GET /messages/{id}/history` and the JSON lines export.
 */
import type { MessageDatabase, MessageRow } from "../db/database.ts";
import { mayChange } from "../db/fold.ts";
import { TreeLookup } from "../git/history.ts";
import type { ChannelStore } from "../git/store.ts";
import { storedPath } from "./layout.ts";
import { readMessageFile } from "./rules.ts";

export type MessageVersion = { content: string | null; author: string; at: string; git_hash: string };

/** The versions of `row` (a message of channel `repositoryId`), oldest first; no text once it is deleted. */
export const versionsOf = async (db: MessageDatabase, store: ChannelStore, repositoryId: number, row: MessageRow): Promise<MessageVersion[]> => {
  const edits = db.editsOf(repositoryId, row.id).filter((e) => mayChange(e, row));
  let original: string | null = null;
  if (!row.deleted) {
    const path = storedPath(row);
    const tree = (await store.readCommit(row.git_hash)).tree;
    const oid = await new TreeLookup(store, tree).blobAt(path);
    original = oid === undefined ? null : readMessageFile(await store.readBlob(oid), path).content;
  }
  return [
    { content: original, author: row.author, at: row.created_at, git_hash: row.git_hash },
    ...edits.map((e) => ({ content: row.deleted ? null : e.content, author: e.author, at: e.created_at, git_hash: e.git_hash })),
  ];
};
