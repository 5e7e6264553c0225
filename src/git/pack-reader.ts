/**
 * Reads objects out of a repository's packs: index lookup by binary search,
 * deltas resolved with a cache of recently resolved objects. isomorphic-git
 * resolves every delta chain from scratch on every read, which makes walking
 * a history of tree versions quadratic; here each version costs one inflate
 * and one delta application once its base is cached.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { DamagedStoreError, StoreIntegrityError } from "../errors.ts";
import type { ObjectType } from "./objects.ts";
import { applyDelta, inflate, readEntryHeader, TYPE_NAMES, type IndexEntry } from "./packfile.ts";

export type StoredObject = { type: ObjectType | "tag"; content: Uint8Array };

type Pack = {
  name: string;
  /** A number for this pack, unique in the process: the high part of its objects' cache keys. */
  serial: number;
  path: string;
  /**
   * Every entry's start, sorted, then the end of the last entry: an entry
   * ends where the next one starts. Found on first use (8 bytes an object; a
   * Map of a million was ten times that). Entries are read in blocks of
   * BLOCK_BYTES (see readEntry), so no pack is ever held in memory whole (the
   * OS caches the file).
   */
  bounds?: Float64Array;
  /** The object at each offset, for naming a delta's base; found on first use. */
  oidAt?: Map<number, string>;
  /** Sorted 20-byte ids, back to back. */
  oids: Buffer;
  /** Each id's first four bytes as a number, for the binary search; found on first use. */
  prefixes?: Uint32Array;
  offsets: Float64Array;
  count: number;
};

export const INDEX_HEADER_SIZE = 8 + 1024;

/**
 * Checks a version 2 pack index's header (its first INDEX_HEADER_SIZE
 * bytes: magic, version, fan-out) against the file's size, and returns the
 * object count. Throws, saying why, when they cannot be one index (a
 * truncated or overwritten file).
 */
const checkIndexHeader = (head: Buffer, size: number) => {
  if (size < INDEX_HEADER_SIZE + 40 || head.length < INDEX_HEADER_SIZE) {
    throw new StoreIntegrityError(`it is ${size} bytes, shorter than any pack index`);
  }
  if (head.readUInt32BE(0) !== 0xff744f63 || head.readUInt32BE(4) !== 2) throw new StoreIntegrityError("it is not a version 2 pack index");
  const count = head.readUInt32BE(8 + 255 * 4);
  const large = size - 40 - (INDEX_HEADER_SIZE + count * 28);
  if (large < 0 || large % 8 !== 0) {
    throw new StoreIntegrityError(`it is ${size} bytes, which cannot index the ${count} objects it counts`);
  }
  return count;
};

/** The object count of the pack index at `path` (`size` bytes long), read from its header alone and checked as checkIndexHeader checks it. */
export const indexCountAt = (path: string, size: number) => {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(INDEX_HEADER_SIZE);
    return checkIndexHeader(head.subarray(0, readSync(fd, head, 0, INDEX_HEADER_SIZE, 0)), size);
  } finally {
    closeSync(fd);
  }
};

/** A version 2 pack index: its sorted ids back to back, each one's offset in the pack, and the checksum of the pack it indexes. */
export const parsePackIndex = (idx: Buffer) => {
  const count = checkIndexHeader(idx, idx.length);
  const oidsAt = INDEX_HEADER_SIZE;
  const offsetsAt = oidsAt + count * 24;
  const largeAt = offsetsAt + count * 4;
  const offsets = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const raw = idx.readUInt32BE(offsetsAt + i * 4);
    if (raw & 0x80000000) {
      const at = largeAt + (raw & 0x7fffffff) * 8;
      if (at + 8 > idx.length - 40) throw new StoreIntegrityError("a large offset points past its table");
      offsets[i] = Number(idx.readBigUInt64BE(at));
    } else {
      offsets[i] = raw;
    }
  }
  const packChecksum = idx.subarray(idx.length - 40, idx.length - 20);
  return { count, oids: idx.subarray(oidsAt, oidsAt + count * 20), offsets, packChecksum };
};

const loadPack = (dir: string, name: string): Pack => {
  let parsed: ReturnType<typeof parsePackIndex>;
  try {
    parsed = parsePackIndex(readFileSync(join(dir, `${name}.idx`)));
  } catch (error) {
    throw new DamagedStoreError(`${join(dir, `${name}.idx`)} is damaged: ${(error as Error).message}; stop gitchat and run \`gitchat repair\``);
  }
  const { count, oids, offsets } = parsed;
  return { name, serial: nextSerial++, path: join(dir, `${name}.pack`), oids, offsets, count };
};

let nextSerial = 1;
/** Offsets below this (1 TB) fit beside a pack's serial in one exact number. */
const OFFSET_SPAN = 2 ** 40;
/** A cached object's key: its pack's serial and its offset, as one number (no string per read). */
const cacheKey = (pack: Pack, offset: number) => pack.serial * OFFSET_SPAN + offset;

/** Where the entry starting at `offset` ends, or undefined when no entry starts there. */
const entryEnd = (pack: Pack, offset: number) => {
  if (!pack.bounds) {
    const bounds = new Float64Array(pack.offsets.length + 1);
    bounds.set(pack.offsets);
    bounds.subarray(0, pack.offsets.length).sort();
    bounds[pack.offsets.length] = statSync(pack.path).size - 20;
    pack.bounds = bounds;
  }
  const bounds = pack.bounds;
  let low = 0;
  let high = bounds.length - 2;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const start = bounds[middle]!;
    if (start === offset) return bounds[middle + 1];
    if (start < offset) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
};

/** What a cached object costs beyond its content (its key, the record, the array): counted against the cache's bound. */
const ENTRY_OVERHEAD = 200;

/** Open pack files, the most recently used last; a few dozen at most. */
const openFiles = new Map<string, number>();
const MAX_OPEN = 48;

const fileOf = (path: string) => {
  let fd = openFiles.get(path);
  if (fd === undefined) {
    fd = openSync(path, "r");
    if (openFiles.size >= MAX_OPEN) {
      const [oldest, oldFd] = openFiles.entries().next().value!;
      openFiles.delete(oldest);
      closeSync(oldFd);
    }
  } else {
    openFiles.delete(path);
  }
  openFiles.set(path, fd);
  return fd;
};

/** Closes a pack's file, if open (its pack was folded into another and removed). */
const closeFile = (path: string) => {
  const fd = openFiles.get(path);
  if (fd === undefined) return;
  openFiles.delete(path);
  closeSync(fd);
};

/**
 * Buffers that entries being resolved are read into, one per depth of a delta
 * chain: reading a whole history allocates no buffer per object for its
 * compressed bytes (garbage that made a rebuild's memory grow).
 */
const scratch: Buffer[] = [];

/**
 * Packs are read in aligned blocks of BLOCK_BYTES, the last BLOCKS of them
 * kept (half a megabyte in all): a walk of a history reads objects that sit
 * near each other in a pack (a commit's trees and blob, the next commit's
 * beside them, git's packs and ours alike), and one pread per object was the
 * largest single item in a CPU profile of indexing a pulled history (80,000
 * reads for 10,000 one-message commits). An entry that does not fit in one
 * block is read by itself. A pack's bytes never change once it is in place,
 * so a block is never stale; blocks are keyed by their pack's serial, which
 * no other pack gets.
 */
const BLOCK_BYTES = 64 * 1024;
const BLOCKS = 8;
/** Blocks by cacheKey(pack, block start), the most recently used last. */
const blocks = new Map<number, Buffer>();

/** The block of `pack` starting at `start`, read whole (shorter at the end of the file). */
const blockOf = (pack: Pack, start: number) => {
  const key = cacheKey(pack, start);
  let block = blocks.get(key);
  if (block) {
    blocks.delete(key);
  } else {
    // The oldest block's buffer is reused (unless it was a short one, from the end of a file).
    let buffer: Buffer | undefined;
    if (blocks.size >= BLOCKS) {
      const oldest = blocks.keys().next().value!;
      buffer = blocks.get(oldest);
      blocks.delete(oldest);
    }
    if (!buffer || buffer.length < BLOCK_BYTES) buffer = Buffer.allocUnsafe(BLOCK_BYTES);
    let read = 0;
    while (read < BLOCK_BYTES) {
      const n = readSync(fileOf(pack.path), buffer, read, BLOCK_BYTES - read, start + read);
      if (n === 0) break;
      read += n;
    }
    block = buffer.subarray(0, read);
  }
  blocks.set(key, block);
  return block;
};

/** Forgets the blocks of packs that are gone (folded into another), so that none is kept past its file. */
const forgetBlocks = (serials: ReadonlySet<number>) => {
  for (const key of [...blocks.keys()]) if (serials.has(Math.floor(key / OFFSET_SPAN))) blocks.delete(key);
};

const truncated = (pack: Pack, offset: number) =>
  new DamagedStoreError(`${pack.path} is truncated: the object at ${offset} runs past its end; stop gitchat and run \`gitchat repair\``);

/**
 * The bytes of one packed entry (header, delta base, compressed data): in a
 * new buffer, or, with `depth`, in that depth's scratch buffer, valid until
 * the next read at the same depth (so reading a delta's base, one depth
 * down, never overwrites the delta). Most entries come from a cached block
 * (a copy of a few hundred bytes); one larger than a block is read by itself.
 */
const readEntry = (pack: Pack, offset: number, depth?: number) => {
  const end = entryEnd(pack, offset);
  if (end === undefined) throw new StoreIntegrityError(`no entry starts at ${offset} in ${pack.name}`);
  // The file ends before this entry does (it was cut short before its size was read).
  if (end <= offset) throw truncated(pack, offset);
  let buffer: Buffer;
  if (depth === undefined) buffer = Buffer.allocUnsafe(end - offset);
  else {
    let held = scratch[depth];
    if (!held || held.length < end - offset) scratch[depth] = held = Buffer.allocUnsafe(Math.max(4096, 2 * (end - offset)));
    buffer = held.subarray(0, end - offset);
  }
  const start = offset - (offset % BLOCK_BYTES);
  if (end - start <= BLOCK_BYTES) {
    const block = blockOf(pack, start);
    if (block.length < end - start) throw truncated(pack, offset);
    block.copy(buffer, 0, offset - start, end - start);
    return buffer;
  }
  const read = readSync(fileOf(pack.path), buffer, 0, buffer.length, offset);
  if (read < buffer.length) throw truncated(pack, offset);
  return buffer;
};

/**
 * Where `oid` (hex) is in the pack, or undefined. The binary search compares
 * numbers (each id's first four bytes) and looks at whole ids only where those
 * agree: a lookup is a few dozen integer comparisons, not a Buffer comparison
 * per step (which cost most of a push's time). `prefix` is the id's first
 * four bytes, parsed once by the caller for all the packs it searches.
 */
const find = (pack: Pack, oid: string, prefix: number) => {
  let prefixes = pack.prefixes;
  if (!prefixes) {
    prefixes = new Uint32Array(pack.count);
    for (let i = 0; i < pack.count; i++) prefixes[i] = pack.oids.readUInt32BE(i * 20);
    pack.prefixes = prefixes;
  }
  let lo = 0;
  let hi = pack.count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (prefixes[mid]! < prefix) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < pack.count && prefixes[i] === prefix; i++) {
    if (pack.oids.toString("hex", i * 20, i * 20 + 20) === oid) return pack.offsets[i]!;
  }
  return undefined;
};

/**
 * The delta-base cache's bound. A tree version (a segment of a thousand
 * files) is about 50 KB, so this holds a few hundred bases. A larger cache
 * made a rebuild bigger and no faster: the collector lets garbage pile up in
 * proportion to the live heap, which the cache dominated (peak 1.1 GB with
 * 64 MB against 600 MB with 16, for a million messages).
 */
const CACHE_BYTES = 16 * 1024 * 1024;

export class PackReader {
  private packs: Pack[] = [];
  private known = new Set<string>();
  /** Delta bases, by cacheKey; the most recently used last. */
  private readonly cache = new Map<number, StoredObject>();
  private cachedBytes = 0;

  constructor(
    private readonly gitdir: string,
    private readonly maxCacheBytes = CACHE_BYTES,
  ) {}

  /** Picks up packs that appeared since the last look (packing, fetches). */
  refresh() {
    const dir = join(this.gitdir, "objects", "pack");
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => f.endsWith(".idx")).map((f) => f.slice(0, -4));
    } catch {
      return;
    }
    for (const name of names) {
      if (this.known.has(name)) continue;
      this.packs.push(loadPack(dir, name));
      this.known.add(name);
    }
  }

  /** Where `oid` is: in the packs already open, or else in one that appeared since (found by refresh). */
  private locateAnywhere(oid: string) {
    const found = this.locate(oid);
    if (found) return found;
    this.refresh();
    return this.locate(oid);
  }

  /** The pack that held the last object found: a walk reads runs of objects from one pack, so it is searched first. */
  private lastHit: Pack | undefined;

  private locate(oid: string) {
    const key = oid.toLowerCase();
    const prefix = parseInt(key.slice(0, 8), 16);
    const last = this.lastHit;
    if (last) {
      const offset = find(last, key, prefix);
      if (offset !== undefined) return { pack: last, offset };
    }
    for (const pack of this.packs) {
      if (pack === last) continue;
      const offset = find(pack, key, prefix);
      if (offset !== undefined) {
        this.lastHit = pack;
        return { pack, offset };
      }
    }
    return undefined;
  }

  /** Registers a pack this process just wrote, without reading its index back from disk. */
  add(name: string, path: string, entries: readonly IndexEntry[]) {
    if (this.known.has(name)) return;
    const sorted = [...entries].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
    const oids = Buffer.alloc(sorted.length * 20);
    const offsets = new Float64Array(sorted.length);
    sorted.forEach((e, i) => {
      oids.write(e.oid, i * 20, "hex");
      offsets[i] = e.offset;
    });
    this.packs.push({ name, serial: nextSerial++, path, oids, offsets, count: sorted.length });
    this.known.add(name);
  }

  /** Drops packs that were folded into a larger one (their objects are there too). */
  forget(names: readonly string[]) {
    const gone = new Set(names);
    const goneSerials = new Set<number>();
    for (const pack of this.packs) {
      if (!gone.has(pack.name)) continue;
      closeFile(pack.path);
      goneSerials.add(pack.serial);
    }
    this.packs = this.packs.filter((p) => !gone.has(p.name));
    if (this.lastHit && gone.has(this.lastHit.name)) this.lastHit = undefined;
    forgetBlocks(goneSerials);
    for (const name of names) this.known.delete(name);
    for (const [key, object] of [...this.cache]) {
      if (!goneSerials.has(Math.floor(key / OFFSET_SPAN))) continue;
      this.cache.delete(key);
      this.cachedBytes -= object.content.length + ENTRY_OVERHEAD;
    }
  }

  /**
   * An object's entry as stored, to copy into another pack without inflating
   * it: the raw bytes, their parsed header, and the id of its delta base if
   * it is a delta. The pack's order is kept in `order` (bases come first).
   */
  storedEntry(oid: string, lookForNewPacks = true) {
    const found = lookForNewPacks ? this.locateAnywhere(oid) : this.locate(oid);
    if (!found) return undefined;
    const { pack, offset } = found;
    const bytes = readEntry(pack, offset);
    const header = readEntryHeader(bytes, 0);
    let baseOid = header.baseOid;
    if (header.baseOffset !== undefined) {
      if (!pack.oidAt) {
        pack.oidAt = new Map();
        for (let i = 0; i < pack.count; i++) pack.oidAt.set(pack.offsets[i]!, pack.oids.toString("hex", i * 20, i * 20 + 20));
      }
      baseOid = pack.oidAt.get(offset + header.baseOffset);
    }
    return { bytes, header, baseOid, order: [this.packs.indexOf(pack), offset] as const };
  }

  has(oid: string) {
    return this.locateAnywhere(oid) !== undefined;
  }

  /** The object from the packs already open, without looking for new ones: undefined when none of them holds it. */
  readKnown(oid: string): StoredObject | undefined {
    const found = this.locate(oid);
    return found && this.readAt(found.pack, found.offset);
  }

  /** The object, or undefined when no pack holds it. */
  read(oid: string): StoredObject | undefined {
    const found = this.locateAnywhere(oid);
    return found && this.readAt(found.pack, found.offset);
  }

  private remember(key: number, object: StoredObject) {
    this.cache.set(key, object);
    this.cachedBytes += object.content.length + ENTRY_OVERHEAD;
    while (this.cachedBytes > this.maxCacheBytes && this.cache.size > 1) {
      const [oldest, value] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      this.cachedBytes -= value.content.length + ENTRY_OVERHEAD;
    }
  }

  /**
   * Only delta bases are kept: reading every blob of a history (a rebuild)
   * once would otherwise fill the cache with objects never asked for again,
   * and push out the bases that are.
   */
  private readAt(pack: Pack, offset: number, depth = 0): StoredObject {
    const key = cacheKey(pack, offset);
    const cached = this.cache.get(key);
    if (cached) {
      // Most recently used last.
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const entry = readEntry(pack, offset, depth);
    const header = readEntryHeader(entry, 0);
    if (header.baseOffset !== undefined) header.baseOffset += offset;
    let inflated: Buffer;
    try {
      inflated = inflate(entry.subarray(header.dataAt));
    } catch (error) {
      throw new DamagedStoreError(
        `${pack.path}: the object at ${offset} cannot be read (${(error as Error).message}); stop gitchat and run \`gitchat repair\``,
      );
    }
    let base: StoredObject | undefined;
    if (header.baseOffset !== undefined) {
      base = this.readAt(pack, header.baseOffset, depth + 1);
    } else if (header.baseOid !== undefined) {
      const found = this.locateAnywhere(header.baseOid);
      base = found && this.readAt(found.pack, found.offset, depth + 1);
      if (!base) throw new StoreIntegrityError(`a delta in ${pack.name} names ${header.baseOid}, which is missing`);
    }
    const object: StoredObject = base
      ? { type: base.type, content: applyDelta(base.content, inflated) }
      : { type: TYPE_NAMES[header.typeCode] as ObjectType, content: inflated };
    if (depth > 0) this.remember(key, object);
    return object;
  }
}
