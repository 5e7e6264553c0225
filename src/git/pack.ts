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
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { deflateSync, inflateSync } from "node:zlib";
import type { TreeEntry } from "./objects.ts";

const TYPE_CODES = { commit: 1, tree: 2, blob: 3, tag: 4 } as const;
const OFS_DELTA = 6;

export type PackResult = { objects: number; deltas: number; bytes: number; pack: string };

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

const readLoose = (path: string) => {
  const raw = inflateSync(readFileSync(path));
  const space = raw.indexOf(0x20);
  const nul = raw.indexOf(0, space);
  const type = raw.toString("latin1", 0, space) as keyof typeof TYPE_CODES;
  return { type, content: raw.subarray(nul + 1) };
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
 * A git delta that rebuilds `target` from `source`: copy the common prefix,
 * insert what differs, copy the common suffix. Trees of message files change
 * by entries appended in time order, which this captures exactly.
 */
export const encodeDelta = (source: Uint8Array, target: Uint8Array): Uint8Array => {
  const max = Math.min(source.length, target.length);
  let prefix = 0;
  while (prefix < max && source[prefix] === target[prefix]) prefix++;
  let suffix = 0;
  while (suffix < max - prefix && source[source.length - 1 - suffix] === target[target.length - 1 - suffix]) suffix++;
  const out: number[] = [...sizeVarint(source.length), ...sizeVarint(target.length)];
  const copy = (offset: number, length: number) => {
    while (length > 0) {
      const size = Math.min(length, 0x10000);
      let op = 0x80;
      const args: number[] = [];
      for (let i = 0; i < 4; i++) {
        const byte = (offset >>> (8 * i)) & 0xff;
        if (byte) { op |= 1 << i; args.push(byte); }
      }
      // A size of 0x10000 is written as no size bytes at all.
      if (size !== 0x10000) {
        for (let i = 0; i < 3; i++) {
          const byte = (size >>> (8 * i)) & 0xff;
          if (byte) { op |= 0x10 << i; args.push(byte); }
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
 * Version chains: for each tree path, the loose versions in the order the
 * commits made them, found by walking back from `head` while commits are loose.
 */
const treeChains = async (
  head: string | undefined,
  loose: Map<string, Loose>,
  readTree: (oid: string) => Promise<TreeEntry[]>,
  readCommit: (oid: string) => Promise<{ tree: string; parent: string[] }>,
) => {
  const chains = new Map<string, string[]>(); // path -> oids, newest first
  const claimed = new Set<string>();
  const add = (path: string, oid: string) => {
    if (claimed.has(oid) || !loose.has(oid)) return false;
    claimed.add(oid);
    chains.set(path, [...(chains.get(path) ?? []), oid]);
    return true;
  };
  const walk = async (tree: string, parentTree: string | undefined, path: string): Promise<void> => {
    if (!add(path, tree)) return;
    const parentEntries = parentTree ? new Map((await readTree(parentTree)).map((e) => [e.name, e.oid])) : new Map();
    for (const entry of await readTree(tree)) {
      if (entry.mode !== "40000") continue;
      const before = parentEntries.get(entry.name);
      if (before !== entry.oid) await walk(entry.oid, before, `${path}/${entry.name}`);
    }
  };
  let commit = head;
  while (commit && loose.has(commit)) {
    const { tree, parent } = await readCommit(commit);
    const parentTree = parent[0] ? (await readCommit(parent[0])).tree : undefined;
    await walk(tree, parentTree, "");
    commit = parent[0];
  }
  for (const [path, oids] of chains) chains.set(path, oids.reverse());
  return chains;
};

export const packLooseObjects = async (
  gitdir: string,
  head: () => Promise<string | undefined>,
  readTree: (oid: string) => Promise<TreeEntry[]>,
  readCommit: (oid: string) => Promise<{ tree: string; parent: string[] }>,
): Promise<PackResult | undefined> => {
  // Read the head first: every object it reaches was written before it, so is in the list.
  const tip = await head();
  const loose = listLoose(gitdir);
  if (loose.size === 0) return undefined;
  const chains = await treeChains(tip, loose, readTree, readCommit);

  const packDir = join(gitdir, "objects", "pack");
  mkdirSync(packDir, { recursive: true });
  const tmpPack = join(packDir, `tmp_pack_${process.pid}_${Date.now()}`);
  const fd = openSync(tmpPack, "w", 0o444);
  const hasher = new Bun.CryptoHasher("sha1");
  const index: { oid: string; offset: number; crc: number }[] = [];
  let offset = 0;
  let deltas = 0;
  const emit = (oid: string, bytes: Uint8Array) => {
    index.push({ oid, offset, crc: Bun.hash.crc32(bytes) });
    hasher.update(bytes);
    writeSync(fd, bytes);
    offset += bytes.length;
  };
  const header = new Uint8Array(12);
  header.set([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2]);
  new DataView(header.buffer).setUint32(8, loose.size);
  hasher.update(header);
  writeSync(fd, header);
  offset = 12;

  const writeWhole = (oid: string, type: keyof typeof TYPE_CODES, content: Uint8Array) =>
    emit(oid, Buffer.concat([Uint8Array.from(entryHeader(TYPE_CODES[type], content.length)), deflateSync(content)]));

  try {
    const done = new Set<string>();
    let sinceYield = 0;
    for (const oids of chains.values()) {
      // Contents and offsets of the versions that later versions may use as bases.
      const kept = new Map<number, { content: Uint8Array; offset: number }>();
      for (let i = 0; i < oids.length; i++) {
        const oid = oids[i]!;
        const { type, content } = readLoose(loose.get(oid)!.path);
        const at = offset;
        const baseIndex = i - (i & -i);
        const base = i > 0 ? kept.get(baseIndex) : undefined;
        const delta = base ? encodeDelta(base.content, content) : undefined;
        if (base && delta && delta.length < content.length / 2) {
          deltas++;
          emit(oid, Buffer.concat([
            Uint8Array.from(entryHeader(OFS_DELTA, delta.length)),
            Uint8Array.from(ofsVarint(at - base.offset)),
            deflateSync(delta),
          ]));
        } else {
          writeWhole(oid, type, content);
        }
        // Later versions only ever use i, or a version on i's chain of bases.
        for (const k of kept.keys()) if ((i & k) !== k || k > i) kept.delete(k);
        kept.set(i, { content, offset: at });
        done.add(oid);
        if (++sinceYield % 64 === 0) await Bun.sleep(0);
      }
    }
    for (const { oid, path } of loose.values()) {
      if (done.has(oid)) continue;
      const { type, content } = readLoose(path);
      writeWhole(oid, type, content);
      if (++sinceYield % 256 === 0) await Bun.sleep(0);
    }
    const checksum = hasher.digest() as Buffer;
    writeSync(fd, checksum);
    offset += 20;
    closeSync(fd);

    const name = `pack-${checksum.toString("hex")}`;
    const idx = buildIndex(index, checksum);
    renameSync(tmpPack, join(packDir, `${name}.pack`));
    const tmpIdx = join(packDir, `tmp_idx_${process.pid}_${Date.now()}`);
    await Bun.write(tmpIdx, idx);
    renameSync(tmpIdx, join(packDir, `${name}.idx`));
    // Only now that the pack is readable may the loose copies go.
    for (const { path } of loose.values()) unlinkSync(path);
    return { objects: loose.size, deltas, bytes: offset, pack: name };
  } catch (error) {
    try { closeSync(fd); } catch {}
    if (existsSync(tmpPack)) unlinkSync(tmpPack);
    throw error;
  }
};

/** A version 2 pack index. */
const buildIndex = (entries: { oid: string; offset: number; crc: number }[], packChecksum: Uint8Array) => {
  const sorted = [...entries].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const n = sorted.length;
  const large = sorted.filter((e) => e.offset >= 0x80000000);
  const size = 8 + 1024 + n * 28 + large.length * 8 + 40;
  const buf = Buffer.alloc(size);
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
  for (const e of sorted) { buf.write(e.oid, at, "hex"); at += 20; }
  for (const e of sorted) { buf.writeUInt32BE(e.crc >>> 0, at); at += 4; }
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
