/**
 * Repack: folds a channel's loose objects and small packs into one pack, off
 * the send path, when enough of them piled up (Repacker decides when).
 *
 * Each commit is written as one small pack (objects written outside a
 * commit, loose); isomorphic-git has no repack (#778) and its packObjects
 * makes no deltas. Message blobs are small and unique, but
 * every commit rewrites the trees along today's path, so without deltas the
 * day directory's tree is stored again in full at every commit. Here each
 * version of a tree is stored as a delta against an earlier version of the
 * same path; bases are chosen Fenwick-style (version i against i minus its
 * lowest set bit) so that no delta chain is deeper than log2(versions) while
 * each delta holds only a few commits' worth of new entries.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fsyncOffThread, makeDirectory } from "./durable.ts";
import { objectsAddedBy } from "./history.ts";
import { installPack, type ObjectDatabase } from "./object-db.ts";
import type { ObjectType } from "./objects.ts";
import type { ObjectSource } from "./object-source.ts";
import { indexCountAt, INDEX_HEADER_SIZE } from "./pack-reader.ts";
import { PackWriter } from "./packfile.ts";

export type PackResult = { objects: number; deltas: number; bytes: number; pack: string; folded: string[] };

/** Packs with fewer objects than this are folded into the next background pack (a commit writes one). */
export const SMALL_PACK_OBJECTS = 1000;

/**
 * The repack runs on the JS thread beside the send path, so it gives requests
 * a turn whenever it has run this long: a segment's tree is up to a thousand
 * entries (50 KB), and sixteen of them read, deltified and deflated in one go
 * held every request for tens of milliseconds.
 */
const TURN_MS = 2;

/** Resolves at once, or after giving the event loop a turn when TURN_MS have passed since the last. */
const turns = () => {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < TURN_MS) return;
    await Bun.sleep(0);
    since = performance.now();
  };
};

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
    // The header says how many objects a pack holds: only a small pack's index
    // is read whole, so a fold costs the same however many packs the history has.
    const path = join(dir, file);
    const count = indexCountAt(path, statSync(path).size);
    if (count >= SMALL_PACK_OBJECTS) continue;
    const idx = readFileSync(path);
    const oids: string[] = [];
    for (let i = 0; i < count; i++) oids.push(idx.toString("hex", INDEX_HEADER_SIZE + i * 20, INDEX_HEADER_SIZE + i * 20 + 20));
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

/**
 * Version chains: for each tree path, the loose versions in the order the
 * commits made them, found by walking back from `head` while commits are loose.
 */
const treeChains = async (store: ObjectSource, head: string | undefined, loose: Set<string>) => {
  const commits: string[] = [];
  for (let commit = head; commit && loose.has(commit); commit = (await store.readCommit(commit)).parent[0]) commits.push(commit);
  const chains = new Map<string, string[]>();
  const claimed = new Set<string>();
  const turn = turns();
  for (const commit of commits.reverse()) {
    // Reads here are synchronous underneath: give requests a turn now and then.
    await turn();
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
  const turn = turns();
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
      await turn();
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
    const turn = turns();
    for (const oid of candidates) {
      if (done.has(oid)) continue;
      const { type, content } = await store.readObject(oid);
      writer.add(oid, type, content);
      await turn();
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

/**
 * Starts a background repack once `threshold` objects were written loose or
 * into small packs since the last one; one runs at a time, beside commits.
 */
export class Repacker {
  private packing: Promise<PackResult | undefined> | undefined;

  constructor(
    private readonly source: ObjectSource,
    private readonly objects: ObjectDatabase,
    private readonly threshold: number,
    private readonly onError?: (error: unknown) => void,
  ) {}

  maybePack() {
    if (this.objects.unpacked < this.threshold || this.packing) return;
    queueMicrotask(() => void this.pack().catch((error) => this.onError?.(error)));
  }

  /**
   * Packs every loose object into one new pack (with deltas between versions
   * of the same tree) and removes the loose copies. Runs beside commits: it
   * touches no ref, and an object is always in a pack or loose while it runs.
   */
  pack(): Promise<PackResult | undefined> {
    if (this.packing) return this.packing;
    this.objects.unpacked = 0;
    this.packing = (async () => {
      try {
        const result = await packLooseObjects(this.source, this.objects.sync);
        if (result) {
          this.objects.packsRepacked(result.folded);
        }
        return result;
      } finally {
        this.packing = undefined;
      }
    })();
    return this.packing;
  }

  /** A pack that is running, if any. */
  running() {
    return this.packing;
  }
}
