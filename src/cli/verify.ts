/**
 * `gitchat verify`: git and the index hold the same messages, and every file
 * in git reads back. Exits 1 only for a real inconsistency; what the rules
 * keep out of the index (quarantined files, kept conflict copies) is listed
 * as a note. Read-only: the index is opened read-only and the
 * repositories for reading, no channel is created, nothing is indexed or
 * packed, and no file is written. So it takes no lock, and runs beside a
 * server: it compares git at the commit the index recorded, in one snapshot
 * of the index, which a server's later commits do not change.
 */
import { existsSync } from "node:fs";
import type { Config } from "../config.ts";
import { openDatabase, type MessageDatabase } from "../db/database.ts";
import { readRef } from "../git/refs.ts";
import { databasePath } from "../gitchat.ts";
import { checkChannel } from "../messages/consistency.ts";
import { RepositoryService, type InspectedRepository } from "../repositories/service.ts";
import { terminalProgress } from "./progress.ts";

/** How long a head ahead of the index may stay so (a running server records a commit within moments). */
const CATCH_UP_MS = 3000;

const printSome = (print: (line: string) => void, lines: string[], prefix: string) => {
  for (const line of lines.slice(0, 20)) print(`  ${prefix}${line}`);
  if (lines.length > 20) print(`  ... and ${lines.length - 20} more`);
};

type Report = { line: string; problems: string[]; notes: string[] };

const verifyRepository = async (db: MessageDatabase, repository: InspectedRepository): Promise<Report> => {
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
      const branch = readRef(store.gitdir);
      const head = branch.kind === "ok" ? branch.oid : undefined;
      if (head === indexed || Date.now() >= until) {
        const progress = terminalProgress(`${fullName}: checking`);
        const { files, indexed: count, problems, notes } = await checkChannel(db, store, row.id, indexed, progress).finally(() => progress?.end());
        if (head !== indexed) problems.push(`git's head ${head} is newer than the last indexed commit ${indexed ?? "(none)"}: start gitchat to index it`);
        const verdict = problems.length ? `, ${problems.length} difference(s)` : ", consistent";
        return { line: `${fullName}: ${files} message(s) in git, ${count} indexed${verdict}${notes.length ? `, ${notes.length} note(s)` : ""}`, problems, notes };
      }
    } catch (error) {
      return { line: `${fullName}: ${(error as Error).message}`, problems: [(error as Error).message], notes: [] };
    } finally {
      db.sqlite.run("COMMIT");
    }
    await Bun.sleep(100);
  }
};

export const verifyGitchat = async (config: Config, print: (line: string) => void = console.log) => {
  const db = openDatabase(databasePath(config.dataDir), { readonly: true });
  try {
    let ok = true;
    for (const repository of await RepositoryService.inspect(db, config.dataDir)) {
      const { line, problems, notes } = await verifyRepository(db, repository);
      print(line);
      printSome(print, problems.filter((p) => !line.endsWith(p)), "");
      printSome(print, notes, "note: ");
      ok &&= problems.length === 0;
    }
    return ok;
  } finally {
    db.close();
  }
};
