/**
 * Cheap checks that a channel's repository is whole enough to write on: run
 * at start-up, by `/health` and by `gitchat verify`. They never write. What
 * they find is repaired by `gitchat repair` (repair.ts), never worked around.
 *
 * - Packs: sizes, headers, and that the pack's trailing checksum is the one
 *   its index was made for (a truncated or emptied pack or index fails this
 *   without reading the objects).
 * - The branch: `refs/heads/main` names a commit whose object and root tree
 *   read back, and that contains the last commit the SQLite index recorded.
 * - Writability of the directories a commit writes to.
 */
import { accessSync, closeSync, constants, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { ReadOnlyStorageError, storageFailure } from "../errors.ts";
import { describeRef, readRef, REF } from "./refs.ts";
import { indexCountAt } from "./pack-reader.ts";
import type { ObjectSource } from "./object-source.ts";

export type PackDamage = { file: string; reason: string };

const readAt = (path: string, position: number, length: number) => {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, position);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
};

/** What is wrong with one pack and its index, or undefined. Reads a few hundred bytes of each, whatever their size. */
const inspectPack = (packPath: string, idxPath: string, packSize: number, idxSize: number): PackDamage | undefined => {
  let count: number;
  let recorded: Buffer;
  try {
    // The header and the trailer alone: the rest of the index is not read.
    count = indexCountAt(idxPath, idxSize);
    recorded = readAt(idxPath, idxSize - 40, 20);
  } catch (error) {
    return { file: idxPath, reason: (error as Error).message };
  }
  if (packSize < 32) return { file: packPath, reason: `it is ${packSize} bytes, shorter than any pack` };
  const header = readAt(packPath, 0, 12);
  if (header.toString("latin1", 0, 4) !== "PACK" || ![2, 3].includes(header.readUInt32BE(4))) {
    return { file: packPath, reason: "it does not start with a pack header" };
  }
  if (header.readUInt32BE(8) !== count) {
    return { file: packPath, reason: `it holds ${header.readUInt32BE(8)} objects where its index counts ${count}` };
  }
  if (!readAt(packPath, packSize - 20, 20).equals(recorded)) {
    return { file: packPath, reason: "its trailing checksum is not the one its index records: it was cut short or overwritten" };
  }
  return undefined;
};

/** Results by pack, kept while neither file changes (size, mtime, inode): /health then costs two stats a pack. */
const inspected = new Map<string, { key: string; damage: PackDamage | undefined }>();

/**
 * Every damaged pack or pack index of a repository. A pack without an index
 * is not damage (an install cut short before its index appeared; git ignores
 * it too), but an index without its pack is.
 */
export const inspectPacks = (gitdir: string): PackDamage[] => {
  const dir = join(gitdir, "objects", "pack");
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  const found: PackDamage[] = [];
  // Forget packs that are gone (folded into a larger one).
  for (const known of inspected.keys()) if (known.startsWith(`${dir}/`) && !files.includes(known.slice(dir.length + 1))) inspected.delete(known);
  for (const file of files) {
    if (!file.endsWith(".idx")) continue;
    const idxPath = join(dir, file);
    const packPath = join(dir, `${file.slice(0, -4)}.pack`);
    let idxStat;
    let packStat;
    try {
      idxStat = statSync(idxPath);
      packStat = statSync(packPath);
    } catch {
      found.push({ file: idxPath, reason: `its pack ${packPath} is missing` });
      continue;
    }
    const key = [idxStat.ino, idxStat.size, idxStat.mtimeMs, packStat.ino, packStat.size, packStat.mtimeMs].join(":");
    let known = inspected.get(idxPath);
    if (known?.key !== key) {
      known = { key, damage: inspectPack(packPath, idxPath, packStat.size, idxStat.size) };
      inspected.set(idxPath, known);
    }
    if (known.damage) found.push(known.damage);
  }
  return found;
};

export const describePackDamage = (damage: PackDamage) => `${damage.file} is damaged (${damage.reason})`;

/** Whether the object store holds anything at all (a branch may be missing only from a store that never held a commit). */
export const holdsObjects = (gitdir: string) => {
  const objects = join(gitdir, "objects");
  let dirs: string[];
  try {
    dirs = readdirSync(objects);
  } catch {
    return false;
  }
  return dirs.some((dir) => {
    if (/^[0-9a-f]{2}$/.test(dir)) return readdirSync(join(objects, dir)).some((f) => !f.startsWith("tmp_"));
    if (dir === "pack") return readdirSync(join(objects, dir)).some((f) => f.endsWith(".pack"));
    return false;
  });
};

/**
 * Whether `ancestor` is `head` or one of its ancestors. Exact (no clock-skew
 * cut-off, which could turn a good store away): commits are visited newest
 * first, so a recent ancestor is found after a few reads; only a history that
 * does not contain it is read to the root.
 */
export const contains = async (store: ObjectSource, head: string, ancestor: string) => {
  if (head === ancestor) return true;
  const seen = new Set([head]);
  const queue: { oid: string; time: number }[] = [{ oid: head, time: (await store.readCommit(head)).committer.timestamp }];
  while (queue.length > 0) {
    // Newest first; histories here are walked rarely, so a sorted array is enough.
    queue.sort((a, b) => a.time - b.time);
    const { oid } = queue.pop()!;
    for (const parent of (await store.readCommit(oid)).parent) {
      if (parent === ancestor) return true;
      if (seen.has(parent)) continue;
      seen.add(parent);
      queue.push({ oid: parent, time: (await store.readCommit(parent)).committer.timestamp });
    }
  }
  return false;
};

/**
 * What is wrong with the branch of a repository, given the last commit the
 * index recorded for it (if any), or undefined when it is safe to write on.
 */
export const inspectBranch = async (store: ObjectSource, indexed: string | null | undefined): Promise<string | undefined> => {
  const state = readRef(store.gitdir);
  const ref = `${REF} ${describeRef(state)}`;
  if (state.kind === "empty" || state.kind === "garbled") return ref;
  if (state.kind === "missing") {
    if (indexed) return ref;
    return holdsObjects(store.gitdir) ? `${ref}, but the object store holds objects` : undefined;
  }
  try {
    const commit = await store.readCommit(state.oid);
    await store.readTree(commit.tree);
  } catch (error) {
    return `${ref}, which cannot be read (${(error as Error).message})`;
  }
  if (!indexed || indexed === state.oid) return undefined;
  try {
    if (!(await contains(store, state.oid, indexed))) return `${ref}, which does not contain the last indexed commit`;
  } catch (error) {
    return `${ref}, whose history cannot be read (${(error as Error).message})`;
  }
  return undefined;
};

/** The error for the first of `paths` (that exists) which this process cannot write, or undefined. */
export const firstUnwritable = (paths: readonly string[]): ReadOnlyStorageError | undefined => {
  for (const path of paths) {
    try {
      accessSync(path, constants.W_OK);
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") continue;
      const failure = storageFailure(error, path);
      if (failure instanceof ReadOnlyStorageError) return failure;
      throw error;
    }
  }
  return undefined;
};

/** The directories a commit writes to in a repository. */
export const writtenDirs = (gitdir: string) => [gitdir, join(gitdir, "objects"), join(gitdir, "objects", "pack"), join(gitdir, "refs", "heads")];
