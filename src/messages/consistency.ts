/**
 * Whether a channel's index is what its git head says it should be: every
 * valid message file of the head's tree indexed as it is written, nothing
 * indexed that the tree lacks, and what the rules keep out (quarantined files,
 * kept conflict copies) kept out. `gitchat verify` prints this.
 */
import type { MessageDatabase } from "../db/database.ts";
import { filesNotIn } from "../git/history.ts";
import { conflictCopyOf, idFromPath, storedPath } from "./layout.ts";
import type { ChannelStore } from "../git/store.ts";
import { readMessageFile } from "./rules.ts";
import type { ProgressSink } from "./service.ts";

export type ChannelCheck = {
  /** Message files in the head's tree that the index should hold. */
  files: number;
  indexed: number;
  /** Real inconsistencies: the index is wrong, `gitchat rebuild` fixes it. */
  problems: string[];
  /** What is as it should be but worth knowing: quarantined files, kept copies. */
  notes: string[];
};

/** Checks the channel's index (`repositoryId`) against the tree of `commit` (the head, or the commit the index recorded). */
export const checkChannel = async (
  db: MessageDatabase,
  store: ChannelStore,
  repositoryId: number,
  commit: string | undefined,
  progress?: ProgressSink,
): Promise<ChannelCheck> => {
  const head = commit;
  const check: ChannelCheck = { files: 0, indexed: db.countMessages(repositoryId), problems: [], notes: [] };
  const inGit = new Set<string>();
  const tree = head ? (await store.readCommit(head)).tree : undefined;
  if (tree) {
    for await (const file of filesNotIn(store, tree, undefined)) {
      const id = idFromPath(file.path);
      if (!id) {
        const original = conflictCopyOf(file.path);
        if (original) {
          check.notes.push(`${file.path} is another version of ${original}, changed by a commit; both are kept, the original is served`);
        }
        continue;
      }
      const stored = db.getMessage(repositoryId, id);
      const storedAt = stored && storedPath(stored);
      let reason: string | undefined;
      let message;
      try {
        message = readMessageFile(await store.readBlob(file.oid), file.path);
      } catch (error) {
        reason = (error as Error).message;
      }
      if (!message) {
        if (storedAt === file.path) check.problems.push(`${file.path} is indexed but breaks the message rules: ${reason}`);
        else check.notes.push(`${file.path} is quarantined: ${reason}`);
        continue;
      }
      if (!stored) {
        check.problems.push(`${file.path} is in git but not in the index`);
        continue;
      }
      if (storedAt !== file.path) {
        check.notes.push(`${file.path} is quarantined: the id is already held by ${storedAt}`);
        continue;
      }
      check.files++;
      progress?.update(check.files, check.indexed);
      inGit.add(id);
      const same =
        message.content === stored.content &&
        message.author === stored.author &&
        message.type === stored.type &&
        message.created_at === stored.created_at;
      if (!same) check.problems.push(`${file.path} differs between git and the index`);
    }
  }
  for (const id of db.messageIds(repositoryId)) {
    if (!inGit.has(id)) check.problems.push(`message ${id} is indexed but not in git's head`);
  }
  return check;
};
