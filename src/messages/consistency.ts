/**
 * Whether a channel's index is what its git head says it should be: every
 * valid message file of the head's tree indexed as it is written, nothing
 * indexed that the tree lacks, and what the rules keep out (quarantined files,
 * kept conflict copies) kept out. `gitchat verify` prints this, one report a
 * channel, from the repositories as RepositoryService.inspect finds them.
 *
 * Read-only, and beside a running server: git is compared at the commit the
 * index recorded, in one snapshot of the index, which the server's later
 * commits do not change. It also checks that every commit on `main` is
 * signed by a key that the head's tree lists (checkSignatures).
 */
import { existsSync } from "node:fs";
import type { MessageDatabase } from "../db/database.ts";
import { filesNotIn, TreeLookup } from "../git/history.ts";
import { signersIn, unprovenCommits } from "../git/signed-commits.ts";
import { SIGNERS_DIR } from "../git/signing-key.ts";
import { conflictCopyOf, idFromPath, storedPath } from "./layout.ts";
import type { ChannelStore } from "../git/store.ts";
import type { InspectedRepository } from "../repositories/service.ts";
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
  const check: ChannelCheck = { files: 0, indexed: db.countRecords(repositoryId), problems: [], notes: [] };
  // Indexed files that break the rules: reported here, and again below as not in git (they are not what the index says).
  const broken = new Set<string>();
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
        if (storedAt === file.path) {
          check.problems.push(`${file.path} is indexed but breaks the message rules: ${reason}`);
          broken.add(id);
        }
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
      // The index holds a message's current text (its edits folded in: db/fold.ts), and no text
      // for a deleted message or the edits of one: the file's text is compared only where it stands.
      const changed = stored.edited_at !== null || stored.deleted || (message.type === "edit" && stored.content === "");
      const same =
        (changed || message.content === stored.content) &&
        (message.target ?? null) === stored.target &&
        (message.reply_to ?? null) === stored.reply_to &&
        message.author === stored.author &&
        (message.author_id ?? null) === stored.author_id &&
        (message.bot === true) === stored.bot &&
        message.type === stored.type &&
        message.created_at === stored.created_at;
      if (!same) check.problems.push(`${file.path} differs between git and the index`);
    }
  }
  // Each message file counted above is a distinct indexed id at its stored path, so when
  // as many were found as are indexed, none is missing. Otherwise the indexed ids are
  // streamed and looked up in the tree by path: no set of every id is held (a million
  // ids would cost about 100 MB).
  if (check.files < check.indexed) {
    const lookup = tree ? new TreeLookup(store, tree) : undefined;
    for (const id of db.messageIds(repositoryId)) {
      const place = db.messagePlace(repositoryId, id);
      const path = place && storedPath(place);
      const found = path !== undefined && idFromPath(path) === id && !broken.has(id) && (await lookup?.blobAt(path)) !== undefined;
      if (!found) check.problems.push(`message ${id} is indexed but not in git's head`);
    }
  }
  return check;
};

/**
 * The signature of every commit `head` reaches, against the keys its tree
 * lists (git/signed-commits.ts): a part of the channel's line, and a problem
 * naming each commit that is unsigned or signed by a key not listed (pushed
 * around gitchat) or changed after it was signed.
 */
const checkSignatures = async (
  store: ChannelStore,
  head: string,
  fullName: string,
  progressFor?: (what: string, unit?: string) => ProgressSink | undefined,
) => {
  const allowed = await signersIn(store, (await store.readCommit(head)).tree);
  const progress = progressFor?.(`${fullName}: checking signatures of`, "commits");
  const { checked, unproven, beforeSigning } = await unprovenCommits(store, head, allowed, (n) => progress?.update(n, undefined)).finally(() =>
    progress?.end(),
  );
  const where = `a key in ${SIGNERS_DIR.join("/")}/`;
  const before = beforeSigning > 0 ? `, and ${beforeSigning} unsigned from before signing began (under the signed commit that began it)` : "";
  return {
    line:
      unproven.length === 0
        ? `; ${checked - beforeSigning} commit(s), each signed by ${where}${before}`
        : `; ${unproven.length} of ${checked} commit(s) not signed by ${where}${before}`,
    problems: unproven.map(({ commit, subject, problem }) => `commit ${commit} ${JSON.stringify(subject)}: ${problem}`),
  };
};

/** How long a head ahead of the index may stay so (a running server records a commit within moments). */
const CATCH_UP_MS = 3000;

export type RepositoryReport = { line: string; problems: string[]; notes: string[] };

/**
 * One channel's report for `gitchat verify`: its damage, or how its index
 * compares with git at the commit the index recorded (checkChannel). A head
 * ahead of that commit is waited for a few moments while a server runs, then
 * reported.
 */
export const verifyRepository = async (
  db: MessageDatabase,
  repository: InspectedRepository,
  progressFor?: (what: string, unit?: string) => ProgressSink | undefined,
): Promise<RepositoryReport> => {
  const { fullName, row, store, damage } = repository;
  // The damage line names the channel and its directory already.
  if (damage || !store) return { line: damage ?? `${fullName}: cannot be read`, problems: [damage ?? "cannot be read"], notes: [] };
  if (!row) {
    return { line: `${fullName} is on disk but not in the index: start gitchat (or run \`gitchat rebuild\`) to index it`, problems: ["not indexed"], notes: [] };
  }
  // Only a running server moves the head on (it keeps SQLite's -wal open); otherwise nothing is waited for.
  const until = existsSync(`${db.path}-wal`) ? Date.now() + CATCH_UP_MS : 0;
  for (;;) {
    db.sqlite.run("BEGIN");
    try {
      // What the index recorded, in the same snapshot as the rows compared with it.
      const indexed = db.indexedCommit(row.id) ?? undefined;
      const head = store.headOnDisk();
      if (head === indexed || Date.now() >= until) {
        const progress = progressFor?.(`${fullName}: checking`);
        const { files, indexed: count, problems, notes } = await checkChannel(db, store, row.id, indexed, progress).finally(() => progress?.end());
        if (head !== indexed) problems.push(`git's head ${head} is newer than the last indexed commit ${indexed ?? "(none)"}: start gitchat to index it`);
        const verdict = problems.length ? `, ${problems.length} difference(s)` : ", consistent";
        const signatures = head ? await checkSignatures(store, head, fullName, progressFor) : { line: "", problems: [] };
        return {
          line: `${fullName}: ${files} message(s) in git, ${count} indexed${verdict}${notes.length ? `, ${notes.length} note(s)` : ""}${signatures.line}`,
          problems: [...problems, ...signatures.problems],
          notes,
        };
      }
    } catch (error) {
      return { line: `${fullName}: ${(error as Error).message}`, problems: [(error as Error).message], notes: [] };
    } finally {
      db.sqlite.run("COMMIT");
    }
    await Bun.sleep(100);
  }
};
