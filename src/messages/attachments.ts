/**
 * A message's files in git (issue 12): found beside its message file where
 * the file lists them, and held to the rules there too. One check for every
 * reader of a channel (the index walk, a pull, `gitchat rebuild`, `gitchat
 * verify`), so that a file a remote put in git is indexed, and served, only
 * when the API would have taken it.
 */
import { InvalidInputError } from "../errors.ts";
import type { TreeLookup } from "../git/history.ts";
import { hashObject } from "../git/objects.ts";
import type { IndexedAttachment } from "../db/database.ts";
import { attachmentRepositoryPath, type MessageRecord } from "./layout.ts";
import { checkAttachment } from "./rules.ts";

/** A regular file's modes in a git tree: never a link, which could point anywhere. */
const FILE_MODES = new Set(["100644", "100755"]);

/**
 * The blob of each file `message` (read from its file at `path`) lists, in
 * the tree `lookup` reads: each must be there, a plain file, and as its
 * message file says (size, and an image's first bytes). Throws
 * InvalidInputError naming the first that is not.
 */
export const findAttachments = async (
  store: { readBlob(oid: string): Promise<Uint8Array> },
  lookup: TreeLookup,
  path: string,
  message: MessageRecord,
): Promise<IndexedAttachment[]> => {
  const found: IndexedAttachment[] = [];
  for (const file of message.attachments ?? []) {
    const entry = await lookup.fileAt(attachmentRepositoryPath(path, file.path));
    if (!entry) throw new InvalidInputError(`its file ${file.path} is not in git beside it`);
    if (!FILE_MODES.has(entry.mode)) throw new InvalidInputError(`its file ${file.path} is not a plain file (mode ${entry.mode})`);
    checkAttachment(file, await store.readBlob(entry.oid));
    found.push({ ...file, blob: entry.oid });
  }
  return found;
};

/** The id git gives a file of these bytes (its blob): what the index records for a file sent here. */
export const blobIdOf = (bytes: Uint8Array) => hashObject("blob", bytes).oid;
