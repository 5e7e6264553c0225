/**
 * `gitchat repair`, channel by channel (the caller holds the data directory's
 * lock, so no server writes meanwhile): damaged packs are set aside and what
 * can be read of them kept (git/repair.ts); the branch is restored to the
 * newest intact commit when it is damaged; messages that only the index
 * still holds (git lost the commits) are committed again, byte for byte the
 * same files; and a channel whose branch no longer contains the indexed
 * commit is marked for indexing from scratch. Running it again finds nothing to do.
 */
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { basename, join } from "node:path";
import type { MessageDatabase, RepositoryRow } from "../db/database.ts";
import { describeRef, readRef, REF } from "../git/refs.ts";
import { idFromPath, commitMessages, isMessagePath } from "../messages/layout.ts";
import { chooseHead, descendantsOf, IntactCheck, listCommits, moveDamagedPacks, salvagePack } from "../git/repair.ts";
import { ChannelStore, type CommitSigner } from "../git/store.ts";
import { gitdirFor, gitdirsUnder } from "./service.ts";

/** What repair did to one channel: nothing (`actions` empty) when it was consistent. */
export type ChannelRepair = { name: string; actions: string[] };

const repairOne = async (gitdir: string, row: RepositoryRow | undefined, db: MessageDatabase | undefined, now: () => number, signer: CommitSigner) => {
  const actions: string[] = [];
  const moved = moveDamagedPacks(gitdir);
  // Messages committed again are signed like every other commit.
  const store = await ChannelStore.open(gitdir, { signer });
  const name = row ? `${row.owner}/${row.name}` : `${await store.getConfig("gitchat.owner")}/${await store.getConfig("gitchat.name")}`;
  for (const { files, reason } of moved) {
    const pack = files.find((f) => /\.pack(\.\d+)?$/.test(f));
    const { kept, pack: into } = pack ? await salvagePack(store, pack) : { kept: 0, pack: undefined };
    const what = `moved ${files.map((f) => basename(f)).join(" and ")} to ${join(gitdir, "damaged")}/ (${reason})`;
    actions.push(kept > 0 ? `${what}, keeping the ${kept} object(s) that still read in ${into}.pack` : what);
  }

  const indexed = row?.indexed_commit ?? undefined;
  const branch = readRef(gitdir);
  const current = branch.kind === "ok" ? branch.oid : undefined;
  const commits = await listCommits(store);
  const check = new IntactCheck(store, commits);
  const contains = async (head: string | undefined) =>
    indexed === undefined || (head !== undefined && (await check.commit(indexed)) && descendantsOf(commits, indexed).has(head));
  const empty = current === undefined && commits.size === 0 && indexed === undefined && branch.kind === "missing";
  let head = current;
  if (!empty && !(current !== undefined && (await check.commit(current)) && (await contains(current)))) {
    head = await chooseHead(commits, check, indexed);
    if (head) {
      await store.restoreHead(head);
      actions.push(`restored ${REF} to ${head}, the newest intact commit (the ref ${describeRef(branch)})`);
    } else if (branch.kind !== "missing") {
      const aside = join(gitdir, "damaged");
      mkdirSync(aside, { recursive: true });
      renameSync(join(gitdir, REF), join(aside, `${basename(REF)}.${now()}`));
      actions.push(`no intact commit is left: moved ${REF} (it ${describeRef(branch)}) to ${aside}/`);
    } else {
      actions.push("no intact commit is left");
    }
  }

  // Git lost commits the index recorded: put back, from the index, every message the restored branch lacks.
  if (db && row && !(await contains(head))) {
    const present = new Set(head ? (await store.listFiles(head, isMessagePath)).map((f) => idFromPath(f.path)) : []);
    const missing = db.channelMessages(row.id).filter((m) => !present.has(m.id));
    if (missing.length > 0) {
      const records = missing.map(({ id, author, content, type, created_at }) => ({ id, author, content, type, created_at }));
      const commit = await commitMessages(store, records, { name: "gitchat", email: "gitchat@localhost", timestamp: now() });
      actions.push(`committed again ${missing.length} message(s) that git had lost and the index still held (${commit})`);
    }
    db.forgetChannel(row.id);
    actions.push("indexed the channel again from git");
  }
  await store.idle();
  return { name, actions };
};

/**
 * Repairs every channel of a data directory: those the index knows (even
 * when their repository is gone: their messages are committed again from
 * the index) and those found on disk. `db` is undefined when the index
 * itself cannot be read; the caller rebuilds it afterwards.
 */
export const repairRepositories = async (
  dataDir: string,
  db: MessageDatabase | undefined,
  signer: CommitSigner,
  now = Date.now,
): Promise<ChannelRepair[]> => {
  const rows = new Map((db?.listRepositories() ?? []).map((row) => [gitdirFor(dataDir, row.owner, row.name), row]));
  const gitdirs = new Set([...rows.keys(), ...gitdirsUnder(join(dataDir, "repos"))]);
  const results: ChannelRepair[] = [];
  for (const gitdir of gitdirs) {
    if (!rows.has(gitdir) && !existsSync(join(gitdir, "HEAD"))) continue;
    results.push(await repairOne(gitdir, rows.get(gitdir), db, now, signer));
  }
  return results;
};
