/**
 * A pack received from a remote, written to a file as it arrives and then
 * indexed from that file, as git's own `index-pack` does: the pack is never
 * held in memory whole, and what is kept per object is a few typed-array
 * slots (offset, CRC-32, id, type, base), not an object per entry. A first
 * sequential pass inflates each entry to find where it ends (and hashes the
 * objects that are not deltas); a second resolves the deltas depth first from
 * their bases, reading each delta back from the file and keeping only the
 * bases on the current chain, within a byte budget.
 */
import { constants } from "node:buffer";
import { closeSync, fsyncSync, openSync, readSync, writeSync } from "node:fs";
import { StoreIntegrityError } from "../errors.ts";
import type { ObjectType } from "./objects.ts";
import { applyDelta, inflate, inflateWithLength, readEntryHeader, TYPE_NAMES, type ObjectTable } from "./packfile.ts";

const OFS_DELTA = 6;
const REF_DELTA = 7;
/** The smallest entry there can be: a one-byte header and an empty zlib stream (8 bytes). */
const MIN_ENTRY_BYTES = 9;
/** The longest entry header: a size varint of a 64-bit size, then a 20-byte base id. */
const MAX_HEADER_BYTES = 11 + 20;
/** How much of the file the first pass reads at a time (it grows for an entry that does not fit). */
const WINDOW_BYTES = 1 << 20;
/**
 * The largest object a received pack may hold: GitHub refuses files over
 * 100 MiB, and messages and trees are far smaller. A hostile remote could
 * otherwise declare (and inflate to) gigabytes for one object.
 */
export const MAX_OBJECT_BYTES = 100 * 1024 * 1024;
/** How many bytes of delta bases the second pass keeps on its chain before it re-reads them from the file. */
const BASE_BUDGET_BYTES = 32 * 1024 * 1024;

/**
 * Writes a pack to `path` as its bytes arrive, hashing all but the last 20
 * (the trailer, checked against that hash in `finish`).
 */
export class PackFileWriter {
  private readonly fd: number;
  private readonly hasher = new Bun.CryptoHasher("sha1");
  /** The last (up to) 20 bytes seen, not yet hashed: they may be the trailer. */
  private tail = Buffer.alloc(0);
  private closed = false;
  size = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, "w", 0o444);
  }

  write(bytes: Uint8Array) {
    for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at);
    this.size += bytes.length;
    if (bytes.length >= 20) {
      this.hasher.update(this.tail);
      this.hasher.update(bytes.subarray(0, bytes.length - 20));
      this.tail = Buffer.from(bytes.subarray(bytes.length - 20));
    } else {
      const joined = Buffer.concat([this.tail, bytes]);
      this.hasher.update(joined.subarray(0, Math.max(0, joined.length - 20)));
      this.tail = joined.subarray(Math.max(0, joined.length - 20));
    }
  }

  /** Checks the trailer and returns it (the pack's checksum, which names it). */
  checksum(): Buffer {
    if (this.size < 32) throw new StoreIntegrityError(`the pack is ${this.size} bytes long, shorter than any pack`);
    const expected = this.hasher.digest() as Buffer;
    if (!expected.equals(this.tail)) throw new StoreIntegrityError("the pack's checksum does not match (it was cut short or changed on the way)");
    return expected;
  }

  /** Makes the file's data durable (with `sync`) and closes it. */
  close(sync: boolean) {
    if (this.closed) return;
    this.closed = true;
    try {
      if (sync) fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}

/** A part of the file in memory, moved and grown on demand. */
class FileWindow {
  private buffer = Buffer.allocUnsafe(WINDOW_BYTES);
  /** File offset of buffer[0], and how many bytes of the buffer are valid. */
  start = 0;
  length = 0;

  constructor(private readonly fd: number, private readonly end: number) {}

  /** The buffer holding at least [offset, offset + bytes) of the file, or up to `end`, starting at `offset - this.start`. */
  at(offset: number, bytes: number) {
    const want = Math.min(bytes, this.end - offset);
    if (offset >= this.start && offset + want <= this.start + this.length) return this.buffer;
    if (want > this.buffer.length) this.buffer = Buffer.allocUnsafe(Math.max(want, this.buffer.length * 2));
    const length = Math.min(this.buffer.length, this.end - offset);
    let read = 0;
    while (read < length) {
      const n = readSync(this.fd, this.buffer, read, length - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    this.start = offset;
    this.length = read;
    return this.buffer;
  }

  /** How many bytes from `offset` are in the window. */
  available(offset: number) {
    return this.start + this.length - offset;
  }

  /** Whether the window reaches the end of the region it reads. */
  get atEnd() {
    return this.start + this.length >= this.end;
  }
}

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

const wrongSize = (offset: number) => new StoreIntegrityError(`the object at ${offset} in the pack has the wrong size`);

/** Inflates an entry's data, refusing more than its header declared (a zlib stream can expand a thousandfold). */
const inflateExactly = (data: Uint8Array, size: number, offset: number) => {
  try {
    return inflateWithLength(data, { info: true, chunkSize: Math.min(Math.max(64, size + 64), 1 << 24), maxOutputLength: Math.min(size + 1, constants.MAX_LENGTH) });
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw wrongSize(offset);
    throw error;
  }
};

export type IndexedPack = { table: ObjectTable; count: number };

/**
 * Indexes the pack at `path` (`size` bytes, trailer already checked):
 * every object's id, offset and CRC-32, each object handed to `onObject`
 * once its id is known. Refuses a pack whose entries do not add up, an
 * object of the wrong size, and a delta whose base is not in the pack
 * (a thin pack: gitchat never asks for one).
 */
export const indexPackFile = (
  path: string,
  size: number,
  onObject: (object: { oid: string; type: ObjectType | "tag" }) => void = () => {},
): IndexedPack => {
  const fd = openSync(path, "r");
  try {
    return indexOpenPack(fd, size, onObject);
  } finally {
    closeSync(fd);
  }
};

const indexOpenPack = (fd: number, size: number, onObject: (object: { oid: string; type: ObjectType | "tag" }) => void): IndexedPack => {
  const dataEnd = size - 20;
  const head = Buffer.alloc(12);
  readSync(fd, head, 0, 12, 0);
  if (head.toString("latin1", 0, 4) !== "PACK") throw new StoreIntegrityError("not a git pack");
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new StoreIntegrityError(`pack version ${version} is not supported`);
  const count = head.readUInt32BE(8);
  if (count * MIN_ENTRY_BYTES > dataEnd - 12) {
    throw new StoreIntegrityError(`the pack says it holds ${count} objects, more than its ${size} bytes can`);
  }

  // Per object: where it starts (and, one past the last, where the entries end), its CRC-32,
  // its id once known, its type code (a delta's becomes its base's when resolved), and its
  // base: the base's index for an offset delta, -2 for a delta naming its base by id, -1 for none.
  const offsets = new Float64Array(count + 1);
  const crcs = new Uint32Array(count);
  const oids = new Uint8Array(count * 20);
  const types = new Uint8Array(count);
  const bases = new Int32Array(count).fill(-1);
  /** The base ids of deltas that name them (rare: git sends offset deltas when asked to). */
  const refBases = new Map<number, Buffer>();
  let resolved = 0;

  const hashInto = (index: number, type: ObjectType | "tag", content: Uint8Array) => {
    const digest = new Bun.CryptoHasher("sha1").update(`${type} ${content.length}\0`).update(content).digest() as Buffer;
    oids.set(digest, index * 20);
    resolved++;
    onObject({ oid: digest.toString("hex"), type });
  };

  /** Index of the entry starting at `offset` among the first `before` entries, or -1. */
  const entryAt = (offset: number, before: number) => {
    let lo = 0;
    let hi = before - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const start = offsets[mid]!;
      if (start === offset) return mid;
      if (start < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  };

  // First pass: each entry's end, CRC-32 and base; the objects that are not deltas hashed.
  const window = new FileWindow(fd, dataEnd);
  let at = 12;
  for (let i = 0; i < count; i++) {
    if (at >= dataEnd) throw new StoreIntegrityError(`the pack ends after ${i} of the ${count} objects it says it holds`);
    offsets[i] = at;
    let buffer = window.at(at, MAX_HEADER_BYTES);
    const header = readEntryHeader(buffer, at - window.start);
    const dataAt = header.dataAt + window.start;
    if (dataAt >= dataEnd) throw new StoreIntegrityError(`the object at ${at} in the pack runs past its end`);
    if (header.size > MAX_OBJECT_BYTES) {
      throw new StoreIntegrityError(`the object at ${at} in the pack is ${header.size} bytes, more than the 100 MiB a file may have on GitHub`);
    }
    types[i] = header.typeCode;
    if (header.typeCode === OFS_DELTA) {
      const base = entryAt(header.baseOffset! + window.start, i);
      if (base < 0) throw new StoreIntegrityError(`a delta at ${at} names no earlier object of the pack`);
      bases[i] = base;
    } else if (header.typeCode === REF_DELTA) {
      bases[i] = -2;
      refBases.set(i, Buffer.from(header.baseOid!, "hex"));
    }
    // Inflate what the window holds; a stream that runs past it is tried again with more.
    let inflated: ReturnType<typeof inflateWithLength>;
    for (;;) {
      buffer = window.at(dataAt, 1);
      try {
        inflated = inflateExactly(buffer.subarray(dataAt - window.start, window.length), header.size, at);
        break;
      } catch (error) {
        if ((error as { code?: string }).code !== "Z_BUF_ERROR") {
          if (error instanceof StoreIntegrityError) throw error;
          throw new StoreIntegrityError(`the object at ${at} in the pack cannot be inflated (${(error as Error).message})`);
        }
        if (window.atEnd) throw new StoreIntegrityError(`the object at ${at} in the pack runs past its end`);
        window.at(dataAt, window.available(dataAt) * 2);
      }
    }
    if (inflated.buffer.length !== header.size) throw wrongSize(at);
    const end = dataAt + inflated.engine.bytesWritten;
    buffer = window.at(at, end - at);
    crcs[i] = Bun.hash.crc32(buffer.subarray(at - window.start, end - window.start));
    if (bases[i] === -1) hashInto(i, TYPE_NAMES[header.typeCode] as ObjectType | "tag", inflated.buffer);
    at = end;
  }
  if (at !== dataEnd) throw new StoreIntegrityError("the pack has bytes after its last object");
  offsets[count] = dataEnd;

  if (resolved < count) resolveDeltas(fd, { count, offsets, oids, types, bases, refBases, hashInto });
  if (resolved < count) {
    const [, missing] = [...refBases].find(([i]) => types[i] === REF_DELTA) ?? [undefined, undefined];
    throw new StoreIntegrityError(
      missing ? `a delta names ${missing.toString("hex")}, which is neither in the pack nor here` : "a delta of the pack could not be resolved",
    );
  }
  return { table: { count, oids, offsets: offsets.subarray(0, count), crcs }, count };
};

type Objects = {
  count: number;
  offsets: Float64Array;
  oids: Uint8Array;
  types: Uint8Array;
  bases: Int32Array;
  refBases: Map<number, Buffer>;
  hashInto: (index: number, type: ObjectType | "tag", content: Uint8Array) => void;
};

/**
 * Second pass: every delta, resolved depth first from the object it builds
 * on. The contents on the current chain are kept while they fit the budget;
 * past it the oldest are dropped and rebuilt from the file if needed again.
 */
const resolveDeltas = (fd: number, objects: Objects) => {
  const { count, offsets, oids, types, bases, refBases, hashInto } = objects;
  // Offset deltas by base, as ranges of one array (children of b: list[first[b] .. first[b + 1])).
  const first = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) if (bases[i]! >= 0) first[bases[i]! + 1]!++;
  for (let i = 0; i < count; i++) first[i + 1]! += first[i]!;
  const list = new Uint32Array(first[count]!);
  const filled = first.slice(0, count);
  for (let i = 0; i < count; i++) if (bases[i]! >= 0) list[filled[bases[i]!]!++] = i;
  // Deltas naming their base by id, sorted by that id, found by binary search once an object's id is known.
  const byId = [...refBases.keys()].sort((a, b) => Buffer.compare(refBases.get(a)!, refBases.get(b)!));
  const refChildren = (index: number) => {
    if (byId.length === 0) return [];
    const oid = Buffer.from(oids.buffer, oids.byteOffset + index * 20, 20);
    let lo = 0;
    let hi = byId.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (Buffer.compare(refBases.get(byId[mid]!)!, oid) < 0) lo = mid + 1;
      else hi = mid;
    }
    const found: number[] = [];
    for (let k = lo; k < byId.length && refBases.get(byId[k]!)!.equals(oid); k++) found.push(byId[k]!);
    return found;
  };

  const readEntry = (index: number) => {
    const start = offsets[index]!;
    const bytes = Buffer.allocUnsafe(offsets[index + 1]! - start);
    for (let read = 0; read < bytes.length; ) read += readSync(fd, bytes, read, bytes.length - read, start + read);
    const header = readEntryHeader(bytes, 0);
    const data = inflate(bytes.subarray(header.dataAt));
    if (data.length !== header.size) throw wrongSize(start);
    return data;
  };

  type Frame = { index: number; content: Buffer | undefined; children: number[]; next: number };
  const childrenOf = (index: number) => {
    const ofs = Array.from(list.subarray(first[index]!, first[index + 1]!));
    const ref = refChildren(index);
    return ref.length === 0 ? ofs : ofs.concat(ref);
  };

  for (let root = 0; root < count; root++) {
    if (bases[root] !== -1) continue;
    const rootChildren = childrenOf(root);
    if (rootChildren.length === 0) continue;
    const stack: Frame[] = [{ index: root, content: readEntry(root), children: rootChildren, next: 0 }];
    let held = stack[0]!.content!.length;
    const type = TYPE_NAMES[types[root]!] as ObjectType | "tag";
    /** The content at stack[depth], rebuilt from the nearest one still held (or the root, from the file). */
    const contentAt = (depth: number): Buffer => {
      const frame = stack[depth]!;
      if (frame.content) return frame.content;
      let from = depth;
      while (from > 0 && !stack[from]!.content) from--;
      let content = stack[from]!.content ?? readEntry(stack[0]!.index);
      for (let d = from + 1; d <= depth; d++) content = asBuffer(applyDelta(content, readEntry(stack[d]!.index)));
      frame.content = content;
      held += content.length;
      return content;
    };
    while (stack.length > 0) {
      const depth = stack.length - 1;
      const frame = stack[depth]!;
      if (frame.next >= frame.children.length) {
        if (frame.content) held -= frame.content.length;
        stack.pop();
        continue;
      }
      const child = frame.children[frame.next++]!;
      // Two copies of one base in the pack would name the same delta twice.
      if (types[child] !== OFS_DELTA && types[child] !== REF_DELTA) continue;
      const content = asBuffer(applyDelta(contentAt(depth), readEntry(child)));
      types[child] = types[root]!;
      hashInto(child, type, content);
      const children = childrenOf(child);
      if (children.length === 0) continue;
      stack.push({ index: child, content, children, next: 0 });
      held += content.length;
      // Past the budget, drop the oldest contents on the chain (never the two newest).
      for (let d = 0; held > BASE_BUDGET_BYTES && d < stack.length - 2; d++) {
        const old = stack[d]!;
        if (!old.content) continue;
        held -= old.content.length;
        old.content = undefined;
      }
    }
  }
};
