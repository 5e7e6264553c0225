/**
 * Commits, trees and blobs read by id from the object database, parsed and
 * checked for their type, with small caches: the trees along today's path
 * (which every commit rewrites and the next one reads again) and the last
 * 16,384 commits (which walks revisit).
 */
import { StoreIntegrityError } from "../errors.ts";
import type { ObjectDatabase } from "./object-db.ts";
import { compareEntries, parseCommit, parseTree, type ParsedCommit, type TreeEntry } from "./objects.ts";

/** The entry of a raw tree that starts at `start` and whose name ends at `nul`. */
const entryAt = (raw: Buffer, start: number, nul: number): TreeEntry => {
  const space = raw.indexOf(0x20, start);
  return { mode: raw.toString("latin1", start, space), name: raw.toString("utf8", space + 1, nul), oid: raw.toString("hex", nul + 1, nul + 21) };
};

/**
 * The entries of a tree that its one parent does not have with the same id,
 * found by stepping through both trees' bytes side by side (both are sorted):
 * an entry whose bytes equal the parent's is skipped without being decoded,
 * so a directory where one entry changed (a day in a month, a month in a
 * year) costs a byte comparison per entry, not a parse of both trees.
 */
const changedRawEntries = (tree: Uint8Array, parent: Uint8Array) => {
  const a = Buffer.from(tree.buffer, tree.byteOffset, tree.byteLength);
  const b = Buffer.from(parent.buffer, parent.byteOffset, parent.byteLength);
  const changed: { entry: TreeEntry; same: TreeEntry[] }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length) {
    const aNul = a.indexOf(0, i);
    const aEnd = aNul + 21;
    if (j >= b.length) {
      changed.push({ entry: entryAt(a, i, aNul), same: [] });
      i = aEnd;
      continue;
    }
    const bNul = b.indexOf(0, j);
    const bEnd = bNul + 21;
    if (aEnd - i === bEnd - j && a.compare(b, j, bEnd, i, aEnd) === 0) {
      i = aEnd;
      j = bEnd;
      continue;
    }
    const entry = entryAt(a, i, aNul);
    const before = entryAt(b, j, bNul);
    if (entry.name === before.name) {
      changed.push({ entry, same: [before] });
      i = aEnd;
      j = bEnd;
    } else if (compareEntries(entry, before) > 0) {
      // The parent's entry is not in this tree (never so for messages): step past it.
      j = bEnd;
    } else {
      changed.push({ entry, same: [] });
      i = aEnd;
    }
  }
  return changed;
};

export const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

export class ObjectReader {
  private readonly treeCache = new Map<string, { entries?: TreeEntry[]; raw?: Uint8Array }>();
  private readonly commitCache = new Map<string, ParsedCommit>();

  constructor(private readonly objects: ObjectDatabase) {}

  /** Keeps a tree's entries or bytes (or both) for the next read: the commit builder remembers the trees it writes. */
  remember(oid: string, entries: TreeEntry[] | undefined, raw: Uint8Array | undefined) {
    const known = this.treeCache.get(oid);
    this.treeCache.delete(oid);
    this.treeCache.set(oid, { entries: entries ?? known?.entries, raw: raw ?? known?.raw });
    // Only the trees along today's path are hot; keep a handful.
    if (this.treeCache.size > 16) this.treeCache.delete(this.treeCache.keys().next().value!);
  }

  /** Keeps a commit just written, parsed, for the walks that read it next. */
  rememberCommit(oid: string, commit: ParsedCommit) {
    this.commitCache.set(oid, commit);
  }

  /** A tree's bytes as stored. */
  async treeRaw(oid: string): Promise<Uint8Array> {
    if (oid === EMPTY_TREE) return new Uint8Array(0);
    const cached = this.treeCache.get(oid)?.raw;
    if (cached) return cached;
    const { type, content } = await this.objects.readObject(oid);
    if (type !== "tree") throw new StoreIntegrityError(`object ${oid} should be a tree but is a ${type}`);
    this.remember(oid, undefined, content);
    return content;
  }

  /**
   * The entries of `tree` that none of `parents` has with the same id, each
   * with the same-named entries the parents do have. When the tree is its
   * single parent's bytes with entries after them (how message files are
   * added), only those new bytes are read: the cost follows the change, not
   * the size of the directory.
   */
  async changedEntries(tree: string, parents: string[]): Promise<{ entry: TreeEntry; same: TreeEntry[] }[]> {
    if (parents.includes(tree)) return [];
    if (parents.length === 1) {
      const [raw, parentRaw] = await Promise.all([this.treeRaw(tree), this.treeRaw(parents[0]!)]);
      if (raw.length > parentRaw.length && Buffer.from(raw.buffer, raw.byteOffset, parentRaw.length).equals(parentRaw)) {
        return parseTree(raw.subarray(parentRaw.length)).map((entry) => ({ entry, same: [] }));
      }
      return changedRawEntries(raw, parentRaw);
    }
    const entries = await this.readTree(tree);
    const maps = await Promise.all(parents.map(async (p) => new Map((await this.readTree(p)).map((e) => [e.name, e]))));
    const changed: { entry: TreeEntry; same: TreeEntry[] }[] = [];
    for (const entry of entries) {
      const same = maps.map((m) => m.get(entry.name)).filter((e): e is TreeEntry => e !== undefined);
      if (!same.some((e) => e.oid === entry.oid)) changed.push({ entry, same });
    }
    return changed;
  }

  async readTree(oid: string): Promise<TreeEntry[]> {
    if (oid === EMPTY_TREE) return [];
    const cached = this.treeCache.get(oid)?.entries;
    if (cached) return cached;
    const entries = parseTree(await this.treeRaw(oid));
    this.remember(oid, entries, undefined);
    return entries;
  }

  async readCommit(oid: string): Promise<ParsedCommit> {
    const known = this.commitCache.get(oid);
    if (known) return known;
    const { type, content } = await this.objects.readObject(oid);
    if (type !== "commit") throw new StoreIntegrityError(`object ${oid} should be a commit but is a ${type}`);
    const commit = parseCommit(content);
    this.commitCache.set(oid, commit);
    // Commits are small, and a push or a pull reads each twice (the walk that finds them, then their trees): keep 16,384, a few MB.
    if (this.commitCache.size > 16384) this.commitCache.delete(this.commitCache.keys().next().value!);
    return commit;
  }

  async commitTree(oid: string) {
    return (await this.readCommit(oid)).tree;
  }

  async readBlob(oid: string): Promise<Uint8Array> {
    const { type, content } = await this.objects.readObject(oid);
    if (type !== "blob") throw new StoreIntegrityError(`object ${oid} should be a blob but is a ${type}`);
    return content;
  }
}
