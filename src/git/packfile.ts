/**
 * Git's pack format, written and read directly: local packing, the pack a
 * push sends and the pack a fetch receives all go through here, with Bun's
 * native zlib and SHA-1. isomorphic-git's own pack code makes no deltas and
 * hashes in JavaScript, which is where its push and fetch spend their time.
 */
import { deflateSync, inflateSync } from "node:zlib";
import { StoreIntegrityError } from "../errors.ts";
import type { ObjectType } from "./objects.ts";

const TYPE_CODES: Record<ObjectType | "tag", number> = { commit: 1, tree: 2, blob: 3, tag: 4 };
/** Object types by their code in a pack entry's header. */
export const TYPE_NAMES = ["", "commit", "tree", "blob", "tag"] as const;
const OFS_DELTA = 6;
const REF_DELTA = 7;

export type IndexEntry = { oid: string; offset: number; crc: number };

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
  const out = new Uint8Array(varint());
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

const entryHeader = (type: number, size: number) => {
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
          deflateSync(delta, { level: 1 }),
        ]);
      }
    }
    bytes ??= Buffer.concat([Uint8Array.from(entryHeader(TYPE_CODES[type], content.length)), deflateSync(content, { level: 1 })]);
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

/** A version 2 pack index. */
export const buildIndex = (entries: readonly IndexEntry[], packChecksum: Uint8Array) => {
  const sorted = [...entries].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const n = sorted.length;
  const large = sorted.filter((e) => e.offset >= 0x80000000);
  const buf = Buffer.alloc(8 + 1024 + n * 28 + large.length * 8 + 40);
  buf.set([0xff, 0x74, 0x4f, 0x63], 0);
  buf.writeUInt32BE(2, 4);
  const fanout = new Array<number>(256).fill(0);
  for (const e of sorted) fanout[parseInt(e.oid.slice(0, 2), 16)]!++;
  let running = 0;
  for (let i = 0; i < 256; i++) {
    running += fanout[i]!;
    buf.writeUInt32BE(running, 8 + i * 4);
  }
  let at = 8 + 1024;
  for (const e of sorted) {
    buf.write(e.oid, at, "hex");
    at += 20;
  }
  for (const e of sorted) {
    buf.writeUInt32BE(e.crc >>> 0, at);
    at += 4;
  }
  let largeIndex = 0;
  const largeAt = at + n * 4;
  for (const e of sorted) {
    if (e.offset >= 0x80000000) {
      buf.writeUInt32BE((0x80000000 | largeIndex) >>> 0, at);
      buf.writeBigUInt64BE(BigInt(e.offset), largeAt + largeIndex * 8);
      largeIndex++;
    } else {
      buf.writeUInt32BE(e.offset, at);
    }
    at += 4;
  }
  at = largeAt + large.length * 8;
  buf.set(packChecksum, at);
  at += 20;
  buf.set(new Bun.CryptoHasher("sha1").update(buf.subarray(0, at)).digest() as Buffer, at);
  return buf;
};

export type ParsedObject = { oid: string; type: ObjectType | "tag"; content: Uint8Array };

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
export const inflateWithLength = inflateSync as unknown as (input: Uint8Array, options: { info: true; chunkSize?: number }) => Inflated;

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

type Slot = EntryHeader & { end: number; data?: Buffer };

/** How much inflated data parsePack's first pass keeps for its second. */
const KEEP_INFLATED_BYTES = 64 * 1024 * 1024;

/**
 * Reads a whole pack and hands every object (deltas resolved, id computed)
 * to `onObject`, returning the index entries. A first pass finds where each
 * object ends and which objects serve as delta bases; the second keeps a
 * base's content only until its last delta is resolved, so memory follows
 * the live bases, not the size of the pack. `external` resolves a REF_DELTA
 * base outside the pack (a thin pack); none is expected unless asked for.
 */
export const parsePack = (
  pack: Uint8Array,
  onObject: (object: ParsedObject) => void = () => {},
  external: (oid: string) => { type: ObjectType | "tag"; content: Uint8Array } | undefined = () => undefined,
) => {
  const view = Buffer.from(pack.buffer, pack.byteOffset, pack.byteLength);
  if (view.length < 32 || view.toString("latin1", 0, 4) !== "PACK") throw new StoreIntegrityError("not a git pack");
  const version = view.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new StoreIntegrityError(`pack version ${version} is not supported`);
  const count = view.readUInt32BE(8);
  const checksum = new Bun.CryptoHasher("sha1").update(view.subarray(0, view.length - 20)).digest("hex");
  if (checksum !== view.toString("hex", view.length - 20)) throw new StoreIntegrityError("the pack's checksum does not match");

  const slots: Slot[] = [];
  const uses = new Map<number | string, number>();
  // The first pass must inflate every entry to find where it ends; what it
  // inflated is kept for the second, up to a budget, so that a pull of an
  // ordinary size inflates each object once while a huge one stays bounded.
  let kept = 0;
  let at = 12;
  for (let n = 0; n < count; n++) {
    const slot: Slot = { ...readEntryHeader(view, at), end: 0 };
    if (slot.baseOffset !== undefined) uses.set(slot.baseOffset, (uses.get(slot.baseOffset) ?? 0) + 1);
    if (slot.baseOid !== undefined) uses.set(slot.baseOid, (uses.get(slot.baseOid) ?? 0) + 1);
    at = slot.dataAt;
    const inflated = inflateWithLength(view.subarray(at), { info: true, chunkSize: Math.max(64, slot.size + 64) });
    at += inflated.engine.bytesWritten;
    slot.end = at;
    if (kept + inflated.buffer.length <= KEEP_INFLATED_BYTES) {
      slot.data = inflated.buffer;
      kept += inflated.buffer.length;
    }
    slots.push(slot);
  }
  if (at !== view.length - 20) throw new StoreIntegrityError("the pack has bytes after its last object");

  // Resolve in pack order; a REF_DELTA whose base comes later waits for it.
  const live = new Map<number | string, ParsedObject>();
  const entries: IndexEntry[] = [];
  const release = (key: number | string) => {
    const left = (uses.get(key) ?? 0) - 1;
    if (left > 0) uses.set(key, left);
    else live.delete(key);
  };
  const resolve = (slot: Slot, base: { type: ObjectType | "tag"; content: Uint8Array } | undefined) => {
    const data = slot.data ?? inflate(view.subarray(slot.dataAt, slot.end));
    slot.data = undefined;
    if (data.length !== slot.size) throw new StoreIntegrityError(`an object at ${slot.start} has the wrong size`);
    const type = base ? base.type : (TYPE_NAMES[slot.typeCode] as ObjectType | "tag");
    const content = base ? applyDelta(base.content, data) : data;
    const object: ParsedObject = { oid: objectId(type, content), type, content };
    entries.push({ oid: object.oid, offset: slot.start, crc: Bun.hash.crc32(view.subarray(slot.start, slot.end)) });
    if (uses.has(slot.start)) live.set(slot.start, object);
    if (uses.has(object.oid)) live.set(object.oid, object);
    onObject(object);
    return object;
  };
  let waiting: Slot[] = [];
  for (const slot of slots) {
    if (slot.baseOffset !== undefined) {
      const base = live.get(slot.baseOffset);
      if (!base) throw new StoreIntegrityError(`a delta at ${slot.start} names no earlier object of the pack`);
      resolve(slot, base);
      release(slot.baseOffset);
    } else if (slot.baseOid !== undefined) {
      waiting.push(slot);
    } else {
      resolve(slot, undefined);
    }
    // Resolve waiting REF_DELTAs whose bases have appeared.
    while (waiting.length > 0) {
      const ready = waiting.filter((w) => live.has(w.baseOid!) || external(w.baseOid!));
      if (ready.length === 0) break;
      waiting = waiting.filter((w) => !ready.includes(w));
      for (const w of ready) {
        resolve(w, live.get(w.baseOid!) ?? external(w.baseOid!));
        release(w.baseOid!);
      }
    }
  }
  if (waiting.length > 0) throw new StoreIntegrityError(`a delta names ${waiting[0]!.baseOid}, which is neither in the pack nor here`);
  return { entries, count, checksum: Buffer.from(view.subarray(view.length - 20)) };
};
