/**
 * `gitchat verify`: git and the index hold the same messages, and every file
 * in git reads back. Read-only: the index is opened read-only and the
 * repositories for reading, no channel is created, nothing is indexed or
 * packed, and no file is written. So it takes no lock, and runs beside a
 * server: it compares git at the commit the index recorded, in one snapshot
 * of the index, which a server's later commits do not change.
 */
import { existsSync } from "node:fs";
import type { Config } from "../config.ts";
import { openDatabase, type MessageDatabase } from "../db/database.ts";
import { readBranch } from "../git/branch.ts";
import { decodeMessage, idFromPath } from "../git/message-file.ts";
import type { ChannelStore } from "../git/store.ts";
import { databasePath } from "../gitchat.ts";
import { RepositoryService, type InspectedRepository } from "../repositories/service.ts";

/** How long a head ahead of the index may stay so (a running server records a commit within moments). */
const CATCH_UP_MS = 3000;

/** The message files of `commit` against the index's rows of the channel. */
const compare = async (store: ChannelStore, db: MessageDatabase, repositoryId: number, commit: string | undefined) => {
  const problems: string[] = [];
  const files = commit ? await store.listFiles(commit) : [];
  for (const file of files) {
    const id = idFromPath(file.path)!;
    const stored = db.getMessage(repositoryId, id);
    if (!stored) {
      problems.push(`${file.path} is in git but not in the index`);
      continue;
    }
    try {
      const message = decodeMessage(await store.readBlob(file.oid), file.path);
      if (message.content !== stored.content || message.author !== stored.author || message.created_at !== stored.created_at) {
        problems.push(`${file.path} differs between git and the index`);
      }
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const count = db.countMessages(repositoryId);
  if (count !== files.length) problems.push(`the index holds ${count} message(s), git ${files.length}`);
  return { files: files.length, count, problems };
};

type Report = { line: string; problems: string[] };

const verifyRepository = async (db: MessageDatabase, repository: InspectedRepository): Promise<Report> => {
  const { fullName, row, store, damage } = repository;
  // The damage line names the channel and its directory already.
  if (damage || !store) return { line: damage ?? `${fullName}: cannot be read`, problems: [damage ?? "cannot be read"] };
  if (!row) return { line: `${fullName} is on disk but not in the index: start gitchat (or run \`gitchat rebuild\`) to index it`, problems: ["not indexed"] };
  // Only a running server moves the head on (it keeps SQLite's -wal open); otherwise nothing is waited for.
  const until = existsSync(`${db.path}-wal`) ? Date.now() + CATCH_UP_MS : 0;
  for (;;) {
    db.sqlite.run("BEGIN");
    try {
      // What the index recorded, in the same snapshot as the rows compared with it.
      const indexed = db.listRepositories().find((r) => r.id === row.id)?.indexed_commit ?? undefined;
      const branch = readBranch(store.gitdir);
      const head = branch.kind === "ok" ? branch.oid : undefined;
      if (head === indexed || Date.now() >= until) {
        const { files, count, problems } = await compare(store, db, row.id, indexed);
        if (head !== indexed) problems.push(`git's head ${head} is newer than the last indexed commit ${indexed ?? "(none)"}: start gitchat to index it`);
        return { line: `${fullName}: ${files} message(s) in git, ${count} indexed${problems.length ? "" : ", consistent"}`, problems };
      }
    } catch (error) {
      return { line: `${fullName}: ${(error as Error).message}`, problems: [(error as Error).message] };
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
      const { line, problems } = await verifyRepository(db, repository);
      print(line);
      const details = problems.filter((p) => !line.endsWith(p));
      for (const problem of details.slice(0, 20)) print(`  ${problem}`);
      if (details.length > 20) print(`  ... and ${details.length - 20} more`);
      ok &&= problems.length === 0;
    }
    return ok;
  } finally {
    db.close();
  }
};
