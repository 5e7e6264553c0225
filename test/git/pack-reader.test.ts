import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { truncateSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { DamagedStoreError } from "../../src/errors.ts";
import { hashObject } from "../../src/git/objects.ts";
import { PackReader } from "../../src/git/pack-reader.ts";
import { runGit } from "../support/git.ts";
import { tempDir } from "../support/tmp.ts";

test("every object of a pack with long delta chains, as git gc writes it, reads back whole", async () => {
  const work = tempDir();
  await runGit(["init", "-q", "-b", "main", work]);
  const env = { GIT_AUTHOR_NAME: "a", GIT_AUTHOR_EMAIL: "a@b", GIT_COMMITTER_NAME: "a", GIT_COMMITTER_EMAIL: "a@b" };
  // One file changed a line at a time over 60 commits: each version is best
  // stored as a delta of the next, so git makes one long chain.
  for (let i = 0; i < 60; i++) {
    writeFileSync(join(work, "log.txt"), Array.from({ length: 2000 }, (_, n) => (n < i * 30 ? `changed line ${n}\n` : `line ${n}\n`)).join(""));
    await runGit(["add", "-A"], { cwd: work });
    await runGit(["commit", "-q", "-m", `c${i}`], { cwd: work, env });
  }
  expect((await runGit(["repack", "-adfq", "--depth=60", "--window=60"], { cwd: work })).code).toBe(0);
  const gitdir = join(work, ".git");
  const listed = await runGit(["cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype) %(deltabase)"], { cwd: work });
  const objects = listed.stdout.trim().split("\n").map((line) => line.split(" "));
  // The pack really holds long chains (verify-pack's histogram: "chain length = N: M objects").
  const idx = (await runGit(["rev-parse", "--git-path", "objects/pack"], { cwd: work })).stdout.trim();
  const packs = (await runGit(["count-objects", "-v"], { cwd: work })).stdout;
  expect(packs).toContain("packs: 1");
  const histogram = (await runGit(["verify-pack", "-v", ...(await Array.fromAsync(new Bun.Glob("*.idx").scan({ cwd: join(work, idx), absolute: true })))])).stdout;
  const chains = [...histogram.matchAll(/chain length = (\d+):/g)].map((m) => Number(m[1]));
  expect(Math.max(...chains)).toBeGreaterThan(20);
  // Read cold, each from a new reader: every chain is walked to its end from the first read.
  for (const [oid, type] of objects) {
    const object = new PackReader(gitdir).read(oid!);
    expect(object?.type).toBe(type as "blob");
    expect(hashObject(object!.type as "blob", object!.content).oid).toBe(oid!);
  }
});

test("a file that only grew, repacked by git (each older version stored as the start of a newer one), reads back whole in every version", async () => {
  const work = tempDir();
  await runGit(["init", "-q", "-b", "main", work]);
  const env = { GIT_AUTHOR_NAME: "a", GIT_AUTHOR_EMAIL: "a@b", GIT_COMMITTER_NAME: "a", GIT_COMMITTER_EMAIL: "a@b" };
  // Lines only appended, past 64 KB (git splits a long copy into several), as a day's
  // segment of messages grows: git stores the older versions as deltas that copy the
  // first bytes of the newer ones, which the reader answers with a view of the base.
  let text = "";
  for (let i = 0; i < 40; i++) {
    text += Array.from({ length: 100 }, (_, n) => `message ${i}-${n} with some ordinary chat text\n`).join("");
    writeFileSync(join(work, "log.txt"), text);
    await runGit(["add", "-A"], { cwd: work });
    await runGit(["commit", "-q", "-m", `c${i}`], { cwd: work, env });
  }
  expect(text.length).toBeGreaterThan(2 * 65536);
  expect((await runGit(["repack", "-adfq", "--depth=50", "--window=50"], { cwd: work })).code).toBe(0);
  const gitdir = join(work, ".git");
  const listed = await runGit(["rev-list", "--objects", "--all"], { cwd: work });
  const blobs = listed.stdout.trim().split("\n").filter((line) => line.endsWith(" log.txt")).map((line) => line.split(" ")[0]!);
  expect(blobs).toHaveLength(40);
  // Most versions are deltas (each a prefix of the next): verify-pack names a base for them.
  const packDir = join(gitdir, "objects", "pack");
  const verified = (await runGit(["verify-pack", "-v", ...(await Array.fromAsync(new Bun.Glob("*.idx").scan({ cwd: packDir, absolute: true })))])).stdout;
  const deltas = blobs.filter((oid) => new RegExp(`^${oid} blob .* [0-9a-f]{40}$`, "m").test(verified));
  expect(deltas.length).toBeGreaterThan(30);
  // One reader for all, newest first: the bases are cached and every older version is a view of one.
  const reader = new PackReader(gitdir);
  for (const oid of blobs) {
    const object = reader.read(oid);
    expect(object?.type).toBe("blob");
    expect(hashObject("blob", object!.content).oid).toBe(oid);
  }
});

test("a pack cut short: an object past the cut is refused as damage naming the pack and gitchat repair", async () => {
  const work = tempDir();
  await runGit(["init", "-q", "-b", "main", work]);
  const env = { GIT_AUTHOR_NAME: "a", GIT_AUTHOR_EMAIL: "a@b", GIT_COMMITTER_NAME: "a", GIT_COMMITTER_EMAIL: "a@b" };
  // Files of random text (incompressible), so that the pack spans several 64 KB blocks.
  for (let i = 0; i < 8; i++) {
    writeFileSync(join(work, `file${i}.txt`), randomBytes(30_000).toString("base64"));
    await runGit(["add", "-A"], { cwd: work });
    await runGit(["commit", "-q", "-m", `c${i}`], { cwd: work, env });
  }
  expect((await runGit(["repack", "-adq"], { cwd: work })).code).toBe(0);
  const packDir = join(work, ".git", "objects", "pack");
  const [idx] = await Array.fromAsync(new Bun.Glob("*.idx").scan({ cwd: packDir, absolute: true }));
  const pack = idx!.replace(/\.idx$/, ".pack");
  // The object stored last in the pack, and where it starts.
  const entries = (await runGit(["verify-pack", "-v", idx!])).stdout
    .split("\n")
    .map((line) => line.split(/\s+/))
    .filter((f) => /^[0-9a-f]{40}$/.test(f[0]!) && f.length >= 5)
    .map((f) => ({ oid: f[0]!, offset: Number(f[4]) }));
  const last = entries.reduce((a, b) => (b.offset > a.offset ? b : a));
  const first = entries.reduce((a, b) => (b.offset < a.offset ? b : a));
  expect(last.offset).toBeGreaterThan(2 * 65536);
  // A reader that has read from the pack before the cut (it knows the pack's old size), and one opened after it.
  const before = new PackReader(join(work, ".git"));
  expect(before.read(first.oid)).toBeDefined();
  truncateSync(pack, last.offset + 10);
  const truncated = new RegExp(`${basename(pack)} is truncated: .*gitchat repair`);
  for (const reader of [before, new PackReader(join(work, ".git"))]) {
    expect(() => reader.read(last.oid)).toThrow(DamagedStoreError);
    expect(() => reader.read(last.oid)).toThrow(truncated);
  }
});
