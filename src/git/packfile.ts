/**
 * Git's pack format, written and read directly: local packing, the pack a
 * push sends and the pack a fetch receives all go through here, with Bun's
 * native zlib and SHA-1. isomorphic-git's own pack code makes no deltas and
 * hashes in JavaScript, which is where its push and fetch spend their time.
 */
import { inflateSync } from "node:zlib";
import { StoreIntegrityError } from "../errors.ts";
import type { ObjectType } from "./objects.ts";

const TYPE_CODES: Record<ObjectType | "tag", number> = { commit: 1, tree: 2, blob: 3, tag: 4 };
/** Object types by their code in a pack entry's header. */
export const TYPE_NAMES = ["", "commit", "tree", "blob", "tag"] as const;
const OFS_DELTA = 6;
const REF_DELTA = 7;

export type IndexEntry = { oid: string; offset: number; crc: number };

/**
 * A zlib stream of `data` at level 1 (what git reads in a pack entry): Bun's
 * raw deflate inside the two-byte zlib header and the Adler-32 trailer. Half
 * the cost of node:zlib's deflateSync, which sets up a stream object per call.
 */
export const zlibDeflate = (data: Uint8Array) => {
  const raw = Bun.deflateSync(data as Uint8Array<ArrayBuffer>, { level: 1 });
  const out = Buffer.allocUnsafe(raw.length + 6);
  // CMF 0x78: deflate with a 32 KB window; FLG 0x01: the fastest level, and (CMF * 256 + FLG) % 31 === 0.
  out[0] = 0x78;
  out[1] = 0x01;
  out.set(raw, 2);
  out.writeUInt32BE(Bun.hash.adler32(data) >>> 0, raw.length + 2);
  return out;
};

/** Git's size varint: 7 bits a byte, least significant first. */
const sizeVarint = (n: number) => {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
};

/**
 * Whether the delta instructions from `at` only copy the base's first `size`
 * bytes, in order (git writes a long copy as several of at most 64 KB).
 */
const prefixCopy = (delta: Uint8Array, at: number, size: number) => {
  let copied = 0;
  for (let i = at; i < delta.length; ) {
    const op = delta[i++]!;
    if (!(op & 0x80)) return false;
    let offset = 0;
    let length = 0;
    for (let b = 0; b < 4; b++) if (op & (1 << b)) offset |= delta[i++]! << (8 * b);
    for (let b = 0; b < 3; b++) if (op & (0x10 << b)) length |= delta[i++]! << (8 * b);
    if (length === 0) length = 0x10000;
    if (offset >>> 0 !== copied) return false;
    copied += length;
  }
  return copied === size;
};

/**
 * A git delta that rebuilds `target` from `source`: copy the common prefix,
 * insert what differs, copy the common suffix. Trees of message files change
 * by entries appended in time order, which this captures exactly.
 */
export const encodeDelta = (source: Uint8Array, target: Uint8Array): Uint8Array => {
  const max = Math.min(source.length, target.length);
  const a = Buffer.from(source.buffer, source.byteOffset, source.length);
  const b = Buffer.from(target.buffer, target.byteOffset, target.length);
  // Whole chunks compared natively, then byte by byte: tree versions share hundreds of KB.
  const CHUNK = 4096;
  let prefix = 0;
  while (prefix + CHUNK <= max && a.compare(b, prefix, prefix + CHUNK, prefix, prefix + CHUNK) === 0) prefix += CHUNK;
  while (prefix < max && source[prefix] === target[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix + CHUNK <= max - prefix &&
    a.compare(b, b.length - suffix - CHUNK, b.length - suffix, a.length - suffix - CHUNK, a.length - suffix) === 0
  ) {
    suffix += CHUNK;
  }
  while (suffix < max - prefix && source[source.length - 1 - suffix] === target[target.length - 1 - suffix]) suffix++;
  const out: number[] = [...sizeVarint(source.length), ...sizeVarint(target.length)];
  const copy = (offset: number, length: number) => {
    while (length > 0) {
      const size = Math.min(length, 0x10000);
      let op = 0x80;
      const args: number[] = [];
      for (let i = 0; i < 4; i++) {
        const byte = (offset >>> (8 * i)) & 0xff;
        if (byte) {
          op |= 1 << i;
          args.push(byte);
        }
      }
      // A size of 0x10000 is written as no size bytes at all.
      if (size !== 0x10000) {
        for (let i = 0; i < 3; i++) {
          const byte = (size >>> (8 * i)) & 0xff;
          if (byte) {
            op |= 0x10 << i;
            args.push(byte);
          }
        }
      }
      out.push(op, ...args);
      offset += size;
      length -= size;
    }
  };
  copy(0, prefix);
  for (let i = prefix; i < target.length - suffix; i += 127) {
    const chunk = target.subarray(i, Math.min(i + 127, target.length - suffix));
    out.push(chunk.length);
    for (const b of chunk) out.push(b);
  }
  copy(source.length - suffix, suffix);
  return Uint8Array.from(out);
};

export const applyDelta = (base: Uint8Array, delta: Uint8Array): Uint8Array => {
  let i = 0;
  const varint = () => {
    let n = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = delta[i++]!;
      n += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return n;
  };
  const sourceSize = varint();
  if (sourceSize !== base.length) throw new StoreIntegrityError("a delta does not fit its base object");
  const size = varint();
  // Only copies of the base's first bytes: the object is a prefix of its
  // base. git stores the older versions of a tree that only grows (a day's
  // segment of messages, after a `git gc` or a host's repacking) so, as
  // deltas of the newer one; a view of the base costs nothing, where a copy
  // costs the whole tree's size for every version read.
  const whole = prefixCopy(delta, i, size);
  if (whole && size <= base.length) return base.subarray(0, size);
  const out = new Uint8Array(size);
  let at = 0;
  while (i < delta.length) {
    const op = delta[i++]!;
    if (op & 0x80) {
      let offset = 0;
      let size = 0;
      for (let b = 0; b < 4; b++) if (op & (1 << b)) offset |= delta[i++]! << (8 * b);
      for (let b = 0; b < 3; b++) if (op & (0x10 << b)) size |= delta[i++]! << (8 * b);
      if (size === 0) size = 0x10000;
      offset >>>= 0;
      out.set(base.subarray(offset, offset + size), at);
      at += size;
    } else if (op > 0) {
      out.set(delta.subarray(i, i + op), at);
      at += op;
      i += op;
    } else {
      throw new StoreIntegrityError("a delta holds a reserved instruction");
    }
  }
  if (at !== out.length) throw new StoreIntegrityError("a delta does not produce its declared size");
  return out;
};

/** A pack entry's header: its type code and its (inflated) size. */
export const entryHeader = (type: number, size: number) => {
  const out = [(type << 4) | (size & 0x0f)];
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    out[out.length - 1]! |= 0x80;
    out.push(rest & 0x7f);
    rest = Math.floor(rest / 128);
  }
  return out;
};

/** The distance back to an OFS_DELTA base, in git's offset encoding. */
const ofsVarint = (distance: number) => {
  const out = [distance & 0x7f];
  let n = Math.floor(distance / 128);
  while (n > 0) {
    n -= 1;
    out.unshift(0x80 | (n & 0x7f));
    n = Math.floor(n / 128);
  }
  return out;
};

/**
 * Writes a pack object by object to `sink`. An object may name an earlier
 * object of the same pack as its delta base; the delta is kept only when it
 * is clearly smaller than the object.
 */
export class PackWriter {
  readonly entries: IndexEntry[] = [];
  private readonly offsets = new Map<string, number>();
  private readonly hasher = new Bun.CryptoHasher("sha1");
  private offset = 0;
  deltas = 0;

  constructor(count: number, private readonly sink: (bytes: Uint8Array) => void) {
    const header = new Uint8Array(12);
    header.set([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2]);
    new DataView(header.buffer).setUint32(8, count);
    this.write(header);
  }

  private write(bytes: Uint8Array) {
    this.hasher.update(bytes);
    this.sink(bytes);
    this.offset += bytes.length;
  }

  get size() {
    return this.offset;
  }

  add(oid: string, type: ObjectType, content: Uint8Array, base?: { oid: string; content: Uint8Array }) {
    const at = this.offset;
    const baseOffset = base && this.offsets.get(base.oid);
    let bytes: Uint8Array | undefined;
    if (base && baseOffset !== undefined) {
      const delta = encodeDelta(base.content, content);
      if (delta.length < content.length / 2) {
        this.deltas++;
        bytes = Buffer.concat([
          Uint8Array.from(entryHeader(OFS_DELTA, delta.length)),
          Uint8Array.from(ofsVarint(at - baseOffset)),
          zlibDeflate(delta),
        ]);
      }
    }
    bytes ??= Buffer.concat([Uint8Array.from(entryHeader(TYPE_CODES[type], content.length)), zlibDeflate(content)]);
    this.entries.push({ oid, offset: at, crc: Bun.hash.crc32(bytes) });
    this.offsets.set(oid, at);
    this.write(bytes);
  }

  /** Whether this pack already holds `oid` (so it can serve as a delta base). */
  holds(oid: string) {
    return this.offsets.has(oid);
  }

  /**
   * Copies an entry from another pack without inflating it: a whole object
   * as it is, or a delta whose base this pack already holds (with the
   * distance to that base rewritten). Returns false when it cannot.
   */
  addStored(oid: string, bytes: Uint8Array, header: EntryHeader, baseOid: string | undefined) {
    const at = this.offset;
    let entry: Uint8Array;
    if (header.typeCode >= 1 && header.typeCode <= 4) {
      entry = bytes;
    } else {
      const baseOffset = baseOid === undefined ? undefined : this.offsets.get(baseOid);
      if (baseOffset === undefined) return false;
      this.deltas++;
      entry = Buffer.concat([
        Uint8Array.from(entryHeader(OFS_DELTA, header.size)),
        Uint8Array.from(ofsVarint(at - baseOffset)),
        bytes.subarray(header.dataAt),
      ]);
    }
    this.entries.push({ oid, offset: at, crc: Bun.hash.crc32(entry) });
    this.offsets.set(oid, at);
    this.write(entry);
    return true;
  }

  /** Writes the trailing checksum and returns it. */
  finish(): Buffer {
    const checksum = this.hasher.digest() as Buffer;
    this.sink(checksum);
    this.offset += 20;
    return checksum;
  }
}

/**
 * What a pack index records of each object, column by column: ids back to
 * back (20 bytes each), offsets and CRC-32s, in pack order. A million
 * objects take 32 MB this way, where an object per entry took ten times that.
 */
export type ObjectTable = { count: number; oids: Uint8Array; offsets: Float64Array; crcs: Uint32Array };

const tableOf = (entries: readonly IndexEntry[]): ObjectTable => {
  const count = entries.length;
  const oids = Buffer.alloc(count * 20);
  const offsets = new Float64Array(count);
  const crcs = new Uint32Array(count);
  entries.forEach((e, i) => {
    oids.write(e.oid, i * 20, "hex");
    offsets[i] = e.offset;
    crcs[i] = e.crc >>> 0;
  });
  return { count, oids, offsets, crcs };
};

/** A version 2 pack index. */
export const buildIndex = (objects: readonly IndexEntry[] | ObjectTable, packChecksum: Uint8Array) => {
  const { count: n, oids: rawOids, offsets, crcs } = Array.isArray(objects) ? tableOf(objects as readonly IndexEntry[]) : (objects as ObjectTable);
  const oids = Buffer.from(rawOids.buffer, rawOids.byteOffset, rawOids.byteLength);
  // Sorted by id: the first four bytes as a number, the whole id where those agree.
  const prefixes = new Uint32Array(n);
  for (let i = 0; i < n; i++) prefixes[i] = oids.readUInt32BE(i * 20);
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => prefixes[a]! - prefixes[b]! || oids.compare(oids, b * 20, b * 20 + 20, a * 20, a * 20 + 20));
  let large = 0;
  for (let i = 0; i < n; i++) if (offsets[i]! >= 0x80000000) large++;
  const buf = Buffer.alloc(8 + 1024 + n * 28 + large * 8 + 40);
  buf.set([0xff, 0x74, 0x4f, 0x63], 0);
  buf.writeUInt32BE(2, 4);
  const fanout = new Uint32Array(256);
  for (let i = 0; i < n; i++) fanout[oids[i * 20]!]!++;
  let running = 0;
  for (let i = 0; i < 256; i++) {
    running += fanout[i]!;
    buf.writeUInt32BE(running, 8 + i * 4);
  }
  let at = 8 + 1024;
  for (const i of order) {
    oids.copy(buf, at, i * 20, i * 20 + 20);
    at += 20;
  }
  for (const i of order) {
    buf.writeUInt32BE(crcs[i]! >>> 0, at);
    at += 4;
  }
  let largeIndex = 0;
  const largeAt = at + n * 4;
  for (const i of order) {
    const offset = offsets[i]!;
    if (offset >= 0x80000000) {
      buf.writeUInt32BE((0x80000000 | largeIndex) >>> 0, at);
      buf.writeBigUInt64BE(BigInt(offset), largeAt + largeIndex * 8);
      largeIndex++;
    } else {
      buf.writeUInt32BE(offset, at);
    }
    at += 4;
  }
  at = largeAt + large * 8;
  buf.set(packChecksum, at);
  at += 20;
  buf.set(new Bun.CryptoHasher("sha1").update(buf.subarray(0, at)).digest() as Buffer, at);
  return buf;
};

export const objectId = (type: string, content: Uint8Array) =>
  new Bun.CryptoHasher("sha1").update(`${type} ${content.length}\0`).update(content).digest("hex");

/**
 * Inflates a whole zlib stream (git's loose objects and pack entries). Bun's
 * own inflate costs about a quarter of node:zlib's per call here, which shows
 * when a push or a pull reads tens of thousands of small objects.
 */
export const inflate = (input: Uint8Array) => {
  const out = Bun.inflateSync(input as Uint8Array<ArrayBuffer>, { windowBits: 15 } as Parameters<typeof Bun.inflateSync>[1]);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
};

type Inflated = { buffer: Buffer; engine: { bytesWritten: number } };
/** Inflates one zlib stream at the start of `input`; `engine.bytesWritten` is how many input bytes it took. */
export const inflateWithLength = inflateSync as unknown as (
  input: Uint8Array,
  options: { info: true; chunkSize?: number; maxOutputLength?: number },
) => Inflated;

/** Where one packed object's parts are: its type, size, delta base, and where its compressed data starts. */
export type EntryHeader = { start: number; dataAt: number; typeCode: number; size: number; baseOffset?: number; baseOid?: string };

export const readEntryHeader = (data: Buffer, start: number): EntryHeader => {
  let at = start;
  let byte = data[at++]!;
  const typeCode = (byte >> 4) & 7;
  let size = byte & 0x0f;
  let shift = 4;
  while (byte & 0x80) {
    byte = data[at++]!;
    size += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  }
  const header: EntryHeader = { start, dataAt: 0, typeCode, size };
  if (typeCode === OFS_DELTA) {
    byte = data[at++]!;
    let distance = byte & 0x7f;
    while (byte & 0x80) {
      byte = data[at++]!;
      distance = (distance + 1) * 128 + (byte & 0x7f);
    }
    header.baseOffset = start - distance;
  } else if (typeCode === REF_DELTA) {
    header.baseOid = data.toString("hex", at, at + 20);
    at += 20;
  } else if (!TYPE_NAMES[typeCode]) {
    throw new StoreIntegrityError(`unknown object type ${typeCode} in a pack`);
  }
  header.dataAt = at;
  return header;
};
