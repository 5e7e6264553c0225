/**
 * A received pack is indexed from its file (src/git/index-pack.ts): the
 * index must be the one git itself writes, and a pack that lies (cut short,
 * changed, sizes or bases that do not add up) is refused with a clear error
 * and leaves nothing in the pack directory.
 */
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { indexPackFile } from "../../src/git/index-pack.ts";
import { buildIndex, entryHeader as headerBytes, PackWriter } from "../../src/git/packfile.ts";
import { hashObject } from "../../src/git/objects.ts";
import { ChannelStore } from "../../src/git/store.ts";
import { runGit } from "../support/git.ts";
import { tempDir } from "../support/tmp.ts";

const ENV = { GIT_AUTHOR_NAME: "a", GIT_AUTHOR_EMAIL: "a@b", GIT_COMMITTER_NAME: "a", GIT_COMMITTER_EMAIL: "a@b" };

/** A work tree whose `log.txt` grows over 40 commits (so git stores most versions as deltas), plus `extra` files. */
const growingHistory = async (extra: (work: string) => void = () => {}) => {
  const work = tempDir();
  await runGit(["init", "-q", "-b", "main", work]);
  extra(work);
  for (let i = 0; i < 40; i++) {
    writeFileSync(join(work, "log.txt"), Array.from({ length: 200 + i * 20 }, (_, n) => `line ${n}\n`).join(""));
    writeFileSync(join(work, `f${i}.txt`), `file ${i}\n`);
    await runGit(["add", "-A"], { cwd: work });
    await runGit(["commit", "-q", "-m", `c${i}`], { cwd: work, env: ENV });
  }
  return work;
};

/** Indexes `packPath` here and with `git index-pack`; returns both indexes and what was seen. */
const indexBothWays = async (packPath: string) => {
  const seen: string[] = [];
  const size = statSync(packPath).size;
  const { table, count } = indexPackFile(packPath, size, (object) => seen.push(object.oid));
  const checksum = readFileSync(packPath).subarray(size - 20);
  const gitIdx = join(tempDir(), "git.idx");
  const indexed = await runGit(["index-pack", "-o", gitIdx, packPath]);
  expect(indexed.code).toBe(0);
  return { ours: Buffer.from(buildIndex(table, checksum)), theirs: readFileSync(gitIdx), seen, count };
};

test("a pack the git CLI made, offset deltas and all, indexes to the very .idx git writes for it", async () => {
  const work = await growingHistory();
  expect((await runGit(["repack", "-adq", "--depth=50", "--window=50"], { cwd: work })).code).toBe(0);
  const packDir = join(work, ".git", "objects", "pack");
  const pack = join(packDir, readdirSync(packDir).find((f) => f.endsWith(".pack"))!);
  const verify = await runGit(["verify-pack", "-v", pack.replace(/\.pack$/, ".idx")]);
  // Deltas in the pack: the test would prove little without them.
  expect(verify.stdout.split("\n").filter((l) => /^[0-9a-f]{40} \w+ +\d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(l)).length).toBeGreaterThan(10);

  const { ours, theirs, seen, count } = await indexBothWays(pack);
  expect(new Set(seen).size).toBe(count);
  expect(ours).toEqual(theirs);
});

test("deltas naming their base by id, and an object larger than the read window, index as git indexes them", async () => {
  // 3 MB of random bytes cannot be compressed: its entry is three times the 1 MB window.
  const big = randomBytes(3 * 1024 * 1024);
  const work = await growingHistory((dir) => writeFileSync(join(dir, "big.bin"), big));
  const objects = (await runGit(["rev-list", "--objects", "--all"], { cwd: work })).stdout;
  const pack = join(tempDir(), "ref-deltas.pack");
  // Without --delta-base-offset, git writes every delta as REF_DELTA.
  const packed = Bun.spawnSync(["git", "pack-objects", "--stdout", "--window=50"], { cwd: work, stdin: Buffer.from(objects) });
  writeFileSync(pack, packed.stdout);
  expect(packed.stdout.length).toBeGreaterThan(big.length);

  const { ours, theirs } = await indexBothWays(pack);
  expect(ours).toEqual(theirs);
});

// --- packs that lie, as a hostile remote could send them (their checksums are right)

const entryHeader = (type: number, size: number) => Uint8Array.from(headerBytes(type, size));

/** A pack of `entries` (header bytes and data), saying it holds `count`, with a right checksum. */
const craftPack = (entries: Uint8Array[], count = entries.length) => {
  const head = Buffer.from([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2, 0, 0, 0, 0]);
  head.writeUInt32BE(count, 8);
  const body = Buffer.concat([head, ...entries]);
  return Buffer.concat([body, new Bun.CryptoHasher("sha1").update(body).digest() as Buffer]);
};

const blob = (content: string, declared = Buffer.byteLength(content)) =>
  Buffer.concat([entryHeader(3, declared), deflateSync(Buffer.from(content))]);
const missing = "1234567890abcdef1234567890abcdef12345678";

const lies: [string, Buffer, string][] = [
  ["an object longer than its header says", craftPack([blob("twelve bytes", 5)]), "the object at 12 in the pack has the wrong size"],
  ["an object shorter than its header says", craftPack([blob("hello, world"), blob("short", 50)]), `the object at ${12 + blob("hello, world").length} in the pack has the wrong size`],
  [
    "a delta whose base is not in the pack (a thin pack)",
    craftPack([Buffer.concat([entryHeader(7, 4), Buffer.from(missing, "hex"), deflateSync(Buffer.from([5, 5, 0x90, 5]))])]),
    `a delta names ${missing}, which is neither in the pack nor here`,
  ],
  [
    "an offset delta pointing before the first object",
    craftPack([Buffer.concat([entryHeader(6, 3), Buffer.from([0x40]), deflateSync(Buffer.from([0, 0, 0]))])]),
    "a delta at 12 names no earlier object of the pack",
  ],
  ["fewer objects than the header counts", craftPack([blob("the first object of this pack"), blob("the second object of this pack")], 3), "the pack ends after 2 of the 3 objects it says it holds"],
  ["bytes after the last object", craftPack([blob("one"), Buffer.from("trailing")], 1), "the pack has bytes after its last object"],
  ["an entry that is not zlib data", craftPack([Buffer.concat([entryHeader(3, 5), Buffer.from("not zlib at all")])]), "the object at 12 in the pack cannot be inflated"],
  [
    "an object declared larger than GitHub allows a file (100 MiB)",
    craftPack([blob("tiny", 200 * 1024 * 1024)]),
    "the object at 12 in the pack is 209715200 bytes, more than the 100 MiB a file may have on GitHub",
  ],
  ["a count no pack of its size can hold", craftPack([blob("one")], 0xffffffff), "the pack says it holds 4294967295 objects"],
];

/** A good pack of a few objects, written by gitchat's own writer. */
const goodPack = () => {
  const chunks: Uint8Array[] = [];
  const writer = new PackWriter(20, (bytes) => chunks.push(bytes));
  for (let i = 0; i < 20; i++) {
    const content = Buffer.from(`message ${i} `.repeat(50));
    writer.add(hashObject("blob", content).oid, "blob", content);
  }
  writer.finish();
  return Buffer.concat(chunks);
};

const changed = (pack: Buffer) => {
  const copy = Buffer.from(pack);
  copy[copy.length >> 1]! ^= 0x20;
  return copy;
};

const broken: [string, Buffer, string][] = [
  ["cut short", goodPack().subarray(0, -50), "the pack's checksum does not match (it was cut short or changed on the way)"],
  ["with a byte changed", changed(goodPack()), "the pack's checksum does not match (it was cut short or changed on the way)"],
  ["of a dozen bytes", goodPack().subarray(0, 12), "the pack is 12 bytes long, shorter than any pack"],
  ...lies,
];

for (const [what, pack, error] of broken) {
  test(`a received pack ${what.startsWith("cut") || what.startsWith("with") || what.startsWith("of") ? what : `with ${what}`} is refused ("${error}") and leaves nothing in the pack directory`, async () => {
    const gitdir = join(tempDir(), "c.git");
    const store = await ChannelStore.open(gitdir);
    // Handed over in small pieces, as a network would.
    const receiving = store.receivePack(async (sink) => {
      for (let at = 0; at < pack.length; at += 7) sink(pack.subarray(at, at + 7));
      return true;
    });
    await expect(receiving).rejects.toThrow(error);
    expect(readdirSync(join(gitdir, "objects", "pack"))).toEqual([]);
  });
}

test("a received pack goes in as one more pack that git verify-pack accepts, and its objects read back", async () => {
  const gitdir = join(tempDir(), "c.git");
  const store = await ChannelStore.open(gitdir);
  const pack = goodPack();
  const seen: string[] = [];
  const received = await store.receivePack(
    async (sink) => {
      for (let at = 0; at < pack.length; at += 1000) sink(pack.subarray(at, at + 1000));
      return true;
    },
    (object) => seen.push(object.oid),
  );
  expect(received).toEqual({ objects: 20, bytes: pack.length });
  const files = readdirSync(join(gitdir, "objects", "pack")).sort();
  expect(files).toHaveLength(2);
  expect((await runGit(["verify-pack", join(gitdir, "objects", "pack", files[0]!)])).code).toBe(0);
  const contents = await Promise.all(seen.map(async (oid) => Buffer.from((await store.readObject(oid)).content).toString()));
  expect(contents.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `message ${i} `.repeat(50)).sort());
});
