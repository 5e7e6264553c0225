/**
 * A message's files in git (issue 12): found beside its message file where
 * the file lists them, and held to the rules there too. One check for every
 * reader of a channel (the index walk, a pull, `gitchat rebuild`, `gitchat
 * verify`), so that a file a remote put in git is indexed, and served, only
 * when the API would have taken it.
 */
import { imageSize } from "image-size";
import { InvalidInputError } from "../errors.ts";
import type { TreeLookup } from "../git/history.ts";
import { hashObject } from "../git/objects.ts";
import type { IndexedAttachment } from "../db/database.ts";
import { attachmentRepositoryPath, type AttachmentRecord, type MessageRecord } from "./layout.ts";
import { checkAttachment, isImageType } from "./rules.ts";

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
    const bytes = await store.readBlob(entry.oid);
    checkAttachment(file, bytes);
    found.push(indexedAttachment(file, entry.oid, bytes));
  }
  return found;
};

/** The id git gives a file of these bytes (its blob): what the index records for a file sent here. */
export const blobIdOf = (bytes: Uint8Array) => hashObject("blob", bytes).oid;

/**
 * A file as the index keeps it: as its message file lists it, its blob, and
 * for an image its width and height in pixels (read from its bytes, so a
 * rebuild finds the same; the page reserves the room before it loads). The
 * same for a file sent here and one read from git.
 */
export const indexedAttachment = (file: AttachmentRecord, blob: string, bytes: Uint8Array): IndexedAttachment => {
  const indexed: IndexedAttachment = { name: file.name, type: file.type, size: file.size, path: file.path, blob };
  if (isImageType(file.type)) {
    try {
      const { width, height } = imageSize(bytes);
      if (width > 0 && height > 0) Object.assign(indexed, { width, height });
    } catch {
      // A header image-size cannot read (the rules checked only its first bytes): shown without its size known.
    }
  }
  return indexed;
};
