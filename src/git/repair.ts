/**
 * Bringing a damaged repository back (`gitchat repair`, with no server
 * running): move damaged packs aside, keep what can still be read of them,
 * find the newest intact commit in the object store and point the branch at
 * it. Nothing is deleted: what is set aside goes to `<gitdir>/damaged/`.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { inspectPacks } from "./integrity.ts";
import type { ObjectType, ParsedCommit } from "./objects.ts";
import { installPack, readLooseFile } from "./object-db.ts";
import { parsePackIndex } from "./pack-reader.ts";
import { applyDelta, inflateWithLength, objectId, PackWriter, readEntryHeader, TYPE_NAMES } from "./packfile.ts";
import type { ChannelStore } from "./store.ts";

const COMMIT = 1;

type StoredObject = { type: ObjectType | "tag"; content: Uint8Array };
type Salvaged = StoredObject & { oid: string; base?: { oid: string; content: Uint8Array } };

/** Resolved objects kept as possible delta bases while a pack is read, at most this many bytes. */
const BASE_BUDGET = 256 * 1024 * 1024;

/**
 * Reads a pack's entries from the start, in order, for as long as they read:
 * the intact part of a pack that was cut short. A delta whose base is lost
 * is skipped; the first entry that cannot be read ends the scan.
 */
const readLeadingEntries = async (
  data: Buffer,
  external: (oid: string) => Promise<StoredObject | undefined>,
  onObject: (object: Salvaged) => void,
) => {
  if (data.length < 12 || data.toString("latin1", 0, 4) !== "PACK") return;
  const count = data.readUInt32BE(8);
  const byOffset = new Map<number, Salvaged>();
  let kept = 0;
  let at = 12;
  for (let n = 0; n < count && at < data.length; n++) {
    const start = at;
    let header;
    let inflated: Buffer;
    try {
      header = readEntryHeader(data, start);
      if (header.dataAt >= data.length) return;
      const result = inflateWithLength(data.subarray(header.dataAt), { info: true });
      inflated = result.buffer;
      at = header.dataAt + result.engine.bytesWritten;
    } catch {
      return;
    }
    if (inflated.length !== header.size) return;
    let base: Salvaged | StoredObject | undefined;
    let baseOid: string | undefined;
    if (header.baseOffset !== undefined) {
      base = byOffset.get(header.baseOffset);
      baseOid = base && (base as Salvaged).oid;
    } else if (header.baseOid !== undefined) {
      baseOid = header.baseOid;
      base = [...byOffset.values()].find((o) => o.oid === baseOid) ?? (await external(baseOid).catch(() => undefined));
    }
    const isDelta = header.baseOffset !== undefined || header.baseOid !== undefined;
    if (isDelta && !base) continue;
    let object: Salvaged;
    try {
      const type = base ? base.type : TYPE_NAMES[header.typeCode];
      if (!type) return;
      const content = base ? applyDelta(base.content, inflated) : inflated;
      object = { oid: objectId(type, content), type, content, base: base && baseOid ? { oid: baseOid, content: base.content } : undefined };
    } catch {
      continue;
    }
    byOffset.set(start, object);
    kept += object.content.length;
    for (const [offset, old] of byOffset) {
      if (kept <= BASE_BUDGET) break;
      byOffset.delete(offset);
      kept -= old.content.length;
    }
    onObject(object);
  }
};

export type MovedPack = { name: string; files: string[]; reason: string };

const uniqueIn = (dir: string, file: string) => {
  let name = file;
  for (let n = 1; existsSync(join(dir, name)); n++) name = `${file}.${n}`;
  return join(dir, name);
};

/**
 * Moves every damaged pack and pack index (see integrity.ts), and every pack
 * without an index, into `<gitdir>/damaged/`, never deleting them; returns
 * what went. Afterwards the repository's packs all read.
 */
export const moveDamagedPacks = (gitdir: string): MovedPack[] => {
  const dir = join(gitdir, "objects", "pack");
  if (!existsSync(dir)) return [];
  const reasons = new Map<string, string>();
  for (const damage of inspectPacks(gitdir)) reasons.set(damage.file.replace(/\.(pack|idx)$/, ""), damage.reason);
  const files = readdirSync(dir);
  for (const file of files) {
    if (file.endsWith(".pack") && !files.includes(`${file.slice(0, -5)}.idx`)) reasons.set(join(dir, file.slice(0, -5)), "it has no index");
  }
  const moved: MovedPack[] = [];
  if (reasons.size === 0) return moved;
  const aside = join(gitdir, "damaged");
  mkdirSync(aside, { recursive: true });
  for (const [stem, reason] of reasons) {
    const name = stem.slice(dir.length + 1);
    const went: string[] = [];
    for (const file of files.filter((f) => f.startsWith(`${name}.`))) {
      const target = uniqueIn(aside, file);
      renameSync(join(dir, file), target);
      went.push(target);
    }
    moved.push({ name, files: went, reason });
  }
  return moved;
};

/**
 * Writes what can still be read of a damaged pack (set aside at `packPath`)
 * into a new pack of the repository: the leading entries of a pack cut
 * short, all of them when only its index was lost. Objects are checked by
 * their ids as they are read. Returns how many were kept and the new pack.
 */
export const salvagePack = async (store: ChannelStore, packPath: string) => {
  if (!existsSync(packPath)) return { kept: 0, pack: undefined };
  const data = readFileSync(packPath);
  const external = async (oid: string) => ((await store.hasObject(oid)) ? store.readObject(oid) : undefined);
  // Once to count (a pack's header says how many objects follow), once to write.
  let count = 0;
  await readLeadingEntries(data, external, (o) => void (o.type !== "tag" && count++));
  if (count === 0) return { kept: 0, pack: undefined };
  const packDir = join(store.gitdir, "objects", "pack");
  const tmp = join(packDir, `tmp_pack_${process.pid}_salvage`);
  const fd = openSync(tmp, "w", 0o444);
  let name: string;
  try {
    const writer = new PackWriter(count, (bytes) => writeSync(fd, bytes));
    await readLeadingEntries(data, external, (o) => {
      if (o.type === "tag") return;
      writer.add(o.oid, o.type, o.content, o.base && writer.holds(o.base.oid) ? o.base : undefined);
    });
    const checksum = writer.finish();
    // Repair is rare and moves the damaged pack aside next: always on the disk first.
    fsyncSync(fd);
    closeSync(fd);
    name = await installPack(packDir, tmp, writer.entries, checksum, true);
  } catch (error) {
    try {
      closeSync(fd);
    } catch {}
    throw error;
  }
  return { kept: count, pack: name };
};

/**
 * Every commit the object store holds, loose or packed, that reads: the ref
 * may never have pointed at some (a commit whose ref update was lost, a
 * fetched commit not merged yet).
 */
export const listCommits = async (store: ChannelStore) => {
  const commits = new Map<string, ParsedCommit>();
  const consider = async (oid: string) => {
    try {
      commits.set(oid, await store.readCommit(oid));
    } catch {
      // Not a commit, or unreadable: not a candidate.
    }
  };
  const objects = join(store.gitdir, "objects");
  for (const dir of readdirSync(objects).filter((d) => /^[0-9a-f]{2}$/.test(d))) {
    for (const file of readdirSync(join(objects, dir)).filter((f) => /^[0-9a-f]{38}$/.test(f))) {
      try {
        if (readLooseFile(join(objects, dir, file)).type === "commit") await consider(dir + file);
      } catch {}
    }
  }
  const packDir = join(objects, "pack");
  for (const file of existsSync(packDir) ? readdirSync(packDir).filter((f) => f.endsWith(".idx")) : []) {
    const { count, oids } = parsePackIndex(readFileSync(join(packDir, file)));
    for (let i = 0; i < count; i++) {
      const oid = oids.toString("hex", i * 20, i * 20 + 20);
      const entry = store.storedEntry(oid);
      // Whole commits say so in their entry header; a delta (rare for commits) is resolved to see.
      if (entry && (entry.header.typeCode === COMMIT || entry.header.typeCode > 4)) await consider(oid);
    }
  }
  return commits;
};

/**
 * Whether commits are intact: the commit, its tree and every tree and blob
 * it reaches read back, and so do all its ancestors (what `git fsck` asks of
 * a branch). Results are remembered, so checking many commits of one
 * history reads each object once.
 */
export class IntactCheck {
  private readonly results = new Map<string, boolean>();

  constructor(
    private readonly store: ChannelStore,
    private readonly commits: Map<string, ParsedCommit>,
  ) {}

  private async object(oid: string, type: ObjectType) {
    try {
      return (await this.store.readObject(oid)).type === type;
    } catch {
      return false;
    }
  }

  private async tree(oid: string): Promise<boolean> {
    const known = this.results.get(oid);
    if (known !== undefined) return known;
    let ok = await this.object(oid, "tree");
    if (ok) {
      for (const entry of await this.store.readTree(oid)) {
        if (entry.mode === "160000") continue;
        const whole = entry.mode === "40000" ? await this.tree(entry.oid) : await this.blob(entry.oid);
        if (!whole) {
          ok = false;
          break;
        }
      }
    }
    this.results.set(oid, ok);
    return ok;
  }

  private async blob(oid: string) {
    const known = this.results.get(oid);
    if (known !== undefined) return known;
    const ok = await this.object(oid, "blob");
    this.results.set(oid, ok);
    return ok;
  }

  async commit(oid: string): Promise<boolean> {
    // Ancestors first, without recursion: histories can be long.
    const stack: [string, boolean][] = [[oid, false]];
    while (stack.length > 0) {
      const [current, expanded] = stack.pop()!;
      if (this.results.has(current)) continue;
      const info = this.commits.get(current);
      if (!info) {
        this.results.set(current, false);
        continue;
      }
      if (!expanded) {
        stack.push([current, true]);
        for (const parent of info.parent) if (!this.results.has(parent)) stack.push([parent, false]);
        continue;
      }
      const ok = info.parent.every((p) => this.results.get(p) === true) && (await this.tree(info.tree));
      this.results.set(current, ok);
    }
    return this.results.get(oid)!;
  }
}

/** `ancestor` and every commit of `commits` that descends from it. */
export const descendantsOf = (commits: Map<string, ParsedCommit>, ancestor: string) => {
  const children = new Map<string, string[]>();
  for (const [oid, commit] of commits) {
    for (const parent of commit.parent) children.set(parent, [...(children.get(parent) ?? []), oid]);
  }
  const found = new Set([ancestor]);
  const queue = [ancestor];
  while (queue.length > 0) {
    for (const child of children.get(queue.pop()!) ?? []) {
      if (found.has(child)) continue;
      found.add(child);
      queue.push(child);
    }
  }
  return found;
};

/**
 * The commit to restore the branch to: among the intact commits that descend
 * from the last indexed one (or among all intact commits, when it is unknown
 * or itself lost), the newest tip — one that no other candidate builds on —
 * by committer time. Undefined when no commit is intact.
 */
export const chooseHead = async (commits: Map<string, ParsedCommit>, check: IntactCheck, indexed: string | undefined) => {
  const intact: string[] = [];
  for (const oid of commits.keys()) if (await check.commit(oid)) intact.push(oid);
  const descendants = indexed && intact.includes(indexed) ? descendantsOf(commits, indexed) : undefined;
  const pool = descendants ? intact.filter((oid) => descendants.has(oid)) : intact;
  const parents = new Set(pool.flatMap((oid) => commits.get(oid)!.parent));
  const tips = pool.filter((oid) => !parents.has(oid));
  tips.sort((a, b) => commits.get(b)!.committer.timestamp - commits.get(a)!.committer.timestamp || (a < b ? -1 : 1));
  return tips[0];
};
