/**
 * Packs a channel's loose objects, off the send path.
 *
 * isomorphic-git writes one loose file per object and has no repack (#778);
 * its packObjects makes no deltas. Message blobs are small and unique, but
 * every commit rewrites the trees along today's path, so without deltas the
 * day directory's tree is stored again in full at every commit. Here each
 * version of a tree is stored as a delta against an earlier version of the
 * same path; bases are chosen Fenwick-style (version i against i minus its
 * lowest set bit) so that no delta chain is deeper than log2(versions) while
 * each delta holds only a few commits' worth of new entries.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { fsyncOffThread, makeDirectory, syncPathAsync, writeNewFileAsync } from "./durable.ts";
import { objectsAddedBy } from "./history.ts";
import type { ObjectType } from "./objects.ts";
import type { ObjectSource } from "./object-source.ts";
import { buildIndex, PackWriter, type IndexEntry, type ObjectTable } from "./packfile.ts";

export type PackResult = { objects: number; deltas: number; bytes: number; pack: string; folded: string[] };

/** Packs with fewer objects than this are folded into the next background pack (a commit writes one). */
export const SMALL_PACK_OBJECTS = 1000;

/** The small packs of a repository and the ids they hold, read from their indexes. */
export const listSmallPacks = (gitdir: string) => {
  const dir = join(gitdir, "objects", "pack");
  const packs: { name: string; oids: string[] }[] = [];
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return packs;
  }
  for (const file of files) {
    if (!file.endsWith(".idx")) continue;
    const idx = readFileSync(join(dir, file));
    const count = idx.readUInt32BE(8 + 255 * 4);
    if (count >= SMALL_PACK_OBJECTS) continue;
    const oids: string[] = [];
    for (let i = 0; i < count; i++) oids.push(idx.toString("hex", 8 + 1024 + i * 20, 8 + 1024 + i * 20 + 20));
    packs.push({ name: file.slice(0, -4), oids });
  }
  return packs;
};

type Loose = { oid: string; path: string };

const listLoose = (gitdir: string): Map<string, Loose> => {
  const objects = join(gitdir, "objects");
  const found = new Map<string, Loose>();
  for (const dir of readdirSync(objects)) {
    if (!/^[0-9a-f]{2}$/.test(dir)) continue;
    for (const file of readdirSync(join(objects, dir))) {
      if (/^[0-9a-f]{38}$/.test(file)) found.set(dir + file, { oid: dir + file, path: join(objects, dir, file) });
    }
  }
  return found;
};

export const readLooseFile = (path: string) => {
  const raw = inflateSync(readFileSync(path));
  const space = raw.indexOf(0x20);
  const nul = raw.indexOf(0, space);
  const type = raw.toString("latin1", 0, space) as ObjectType;
  return { type, content: raw.subarray(nul + 1) };
};

/**
 * Version chains: for each tree path, the loose versions in the order the
 * commits made them, found by walking back from `head` while commits are loose.
 */
const treeChains = async (store: ObjectSource, head: string | undefined, loose: Set<string>) => {
  const commits: string[] = [];
  for (let commit = head; commit && loose.has(commit); commit = (await store.readCommit(commit)).parent[0]) commits.push(commit);
  const chains = new Map<string, string[]>();
  const claimed = new Set<string>();
  let sinceYield = 0;
  for (const commit of commits.reverse()) {
    // Reads here are synchronous underneath: give requests a turn now and then.
    if (++sinceYield % 16 === 0) await Bun.sleep(0);
    for (const added of await objectsAddedBy(store, commit)) {
      if (added.kind !== "tree" || claimed.has(added.oid) || !loose.has(added.oid)) continue;
      claimed.add(added.oid);
      const chain = chains.get(added.path);
      if (chain) chain.push(added.oid);
      else chains.set(added.path, [added.oid]);
    }
  }
  return chains;
};

/**
 * Writes each chain of versions of one tree path, every version a delta
 * against the version Fenwick-style before it (i against i with its lowest
 * set bit cleared): chains stay log2(versions) deep and deltas small.
 */
export const writeTreeChains = async (
  writer: PackWriter,
  chains: Iterable<string[]>,
  read: (oid: string) => Promise<{ type: ObjectType; content: Uint8Array }>,
) => {
  const done = new Set<string>();
  let sinceYield = 0;
  for (const oids of chains) {
    // Contents of the versions that later versions may use as bases.
    const kept = new Map<number, { oid: string; content: Uint8Array }>();
    for (let i = 0; i < oids.length; i++) {
      const oid = oids[i]!;
      const { type, content } = await read(oid);
      writer.add(oid, type, content, i > 0 ? kept.get(i - (i & -i)) : undefined);
      for (const k of kept.keys()) if ((i & k) !== k) kept.delete(k);
      kept.set(i, { oid, content });
      done.add(oid);
      // Let requests in between: this runs beside the send path.
      if (++sinceYield % 16 === 0) await Bun.sleep(0);
    }
  }
  return done;
};

/**
 * Folds every loose object and every small pack into one new pack, and then
 * removes them. Runs beside commits: it touches no ref, and every object is
 * in a pack or loose at every moment.
 */
export const packLooseObjects = async (store: ObjectSource, sync: boolean): Promise<PackResult | undefined> => {
  const gitdir = store.gitdir;
  // Read the head first: every object it reaches was written before it, so is in the lists.
  const tip = await store.head();
  const loose = listLoose(gitdir);
  const small = listSmallPacks(gitdir);
  const candidates = new Set<string>([...loose.keys(), ...small.flatMap((p) => p.oids)]);
  if (candidates.size === 0 || (loose.size === 0 && small.length < 2)) return undefined;
  const chains = await treeChains(store, tip, candidates);

  const packDir = join(gitdir, "objects", "pack");
  makeDirectory(packDir, sync);
  const tmpPack = join(packDir, `tmp_pack_${process.pid}_${Date.now()}`);
  const fd = openSync(tmpPack, "w", 0o444);
  try {
    // Written in runs of about a megabyte: a system call per object was a tenth of this fold's time.
    let held: Uint8Array[] = [];
    let heldBytes = 0;
    const writeHeld = () => {
      const run = Buffer.concat(held);
      for (let offset = 0; offset < run.length; ) offset += writeSync(fd, run, offset);
      held = [];
      heldBytes = 0;
    };
    const writer = new PackWriter(candidates.size, (bytes) => {
      held.push(bytes);
      if ((heldBytes += bytes.length) >= 1 << 20) writeHeld();
    });
    const done = await writeTreeChains(writer, chains.values(), (oid) => store.readObject(oid));
    let sinceYield = 0;
    for (const oid of candidates) {
      if (done.has(oid)) continue;
      const { type, content } = await store.readObject(oid);
      writer.add(oid, type, content);
      if (++sinceYield % 256 === 0) await Bun.sleep(0);
    }
    const checksum = writer.finish();
    writeHeld();
    if (sync) await fsyncOffThread(fd);
    closeSync(fd);
    const name = await installPack(packDir, tmpPack, writer.entries, checksum, sync);
    // Only now that the new pack is readable (and on the disk) may the old copies go.
    for (const { path } of loose.values()) unlinkSync(path);
    for (const { name: old } of small) {
      if (old === name) continue;
      unlinkSync(join(packDir, `${old}.idx`));
      unlinkSync(join(packDir, `${old}.pack`));
    }
    return { objects: candidates.size, deltas: writer.deltas, bytes: writer.size, pack: name, folded: small.map((p) => p.name).filter((n) => n !== name) };
  } catch (error) {
    try {
      closeSync(fd);
    } catch {}
    if (existsSync(tmpPack)) unlinkSync(tmpPack);
    throw error;
  }
};

let installs = 0;

/**
 * Moves a written (and, with `sync`, already synced) pack into place and
 * writes its index beside it; the pack becomes visible to readers only when
 * the index appears, whole. With `sync`, both names are on the disk when
 * this resolves. `installed` is told the pack's name as soon as both are in
 * place, before the directory's sync: with no await in between, so that no
 * background pack can find (and fold) a pack before the caller registers it.
 */
export const installPack = async (
  packDir: string,
  tmpPack: string,
  entries: readonly IndexEntry[] | ObjectTable,
  checksum: Uint8Array,
  sync: boolean,
  installed?: (name: string) => void,
) => {
  const name = `pack-${Buffer.from(checksum).toString("hex")}`;
  // A name of its own: a background pack and a commit may be installing at once.
  const tmpIdx = join(packDir, `tmp_idx_${process.pid}_${++installs}`);
  // The index is written (and synced) before the pack is renamed: a full disk
  // then leaves only temporaries (removed here and by the caller), never a pack without its index.
  try {
    await writeNewFileAsync(tmpIdx, buildIndex(entries, checksum), sync);
    renameSync(tmpPack, join(packDir, `${name}.pack`));
    renameSync(tmpIdx, join(packDir, `${name}.idx`));
  } catch (error) {
    rmSync(tmpIdx, { force: true });
    throw error;
  }
  installed?.(name);
  await syncPathAsync(packDir, sync);
  return name;
};
