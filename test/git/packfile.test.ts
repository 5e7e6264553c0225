import { expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyDelta, buildIndex, encodeDelta, PackWriter, parsePack } from "../../src/git/packfile.ts";
import { hashObject } from "../../src/git/objects.ts";
import { runGit } from "../support/git.ts";
import { tempDir } from "../support/tmp.ts";

test("a delta rebuilds its target from its base, whatever changed where", () => {
  const base = new TextEncoder().encode("a".repeat(70_000) + "middle" + "z".repeat(300));
  const targets = [
    "a".repeat(70_000) + "middle" + "z".repeat(300) + "appended",
    "prepended" + "a".repeat(70_000) + "middle" + "z".repeat(300),
    "a".repeat(70_000) + "MIDDLE!" + "z".repeat(300),
    "",
    "x".repeat(1000),
  ].map((t) => new TextEncoder().encode(t));
  for (const target of targets) expect(applyDelta(base, encodeDelta(base, target))).toEqual(target);
});

test("a pack the git CLI made, deltas and all, reads back with the index git itself writes", async () => {
  const work = tempDir();
  await runGit(["init", "-q", "-b", "main", work]);
  const env = { GIT_AUTHOR_NAME: "a", GIT_AUTHOR_EMAIL: "a@b", GIT_COMMITTER_NAME: "a", GIT_COMMITTER_EMAIL: "a@b" };
  // Growing files, so git stores most versions as deltas.
  for (let i = 0; i < 40; i++) {
    writeFileSync(join(work, "log.txt"), Array.from({ length: 200 + i * 20 }, (_, n) => `line ${n}\n`).join(""));
    writeFileSync(join(work, `f${i}.txt`), `file ${i}\n`);
    await runGit(["add", "-A"], { cwd: work });
    await runGit(["commit", "-q", "-m", `c${i}`], { cwd: work, env });
  }
  expect((await runGit(["repack", "-adq", "--depth=50", "--window=50"], { cwd: work })).code).toBe(0);
  const packDir = join(work, ".git", "objects", "pack");
  const name = readdirSync(packDir).find((f) => f.endsWith(".pack"))!;
  const pack = readFileSync(join(packDir, name));
  const gitIndex = readFileSync(join(packDir, name.replace(".pack", ".idx")));

  let deltas = 0;
  const seen: string[] = [];
  const { entries, checksum, count } = parsePack(pack, (object) => {
    expect(hashObject(object.type as "blob", object.content).oid).toBe(object.oid);
    seen.push(object.oid);
  });
  const verify = await runGit(["verify-pack", "-v", join(packDir, name.replace(".pack", ".idx"))]);
  deltas = verify.stdout.split("\n").filter((l) => /^[0-9a-f]{40} \w+ +\d+ \d+ \d+ \d+ [0-9a-f]{40}$/.test(l)).length;
  expect(deltas).toBeGreaterThan(10);
  expect(seen).toHaveLength(count);
  expect(Buffer.from(buildIndex(entries, checksum))).toEqual(gitIndex);
});

test("a pack written here is accepted by git index-pack, with its deltas", async () => {
  const dir = tempDir();
  const chunks: Uint8Array[] = [];
  const contents = Array.from({ length: 30 }, (_, i) => new TextEncoder().encode(Array.from({ length: 100 + i }, (_, n) => `entry ${n}\n`).join("")));
  const writer = new PackWriter(contents.length, (b) => chunks.push(b));
  let previous: { oid: string; content: Uint8Array } | undefined;
  for (const content of contents) {
    const { oid } = hashObject("blob", content);
    writer.add(oid, "blob", content, previous);
    previous = { oid, content };
  }
  const checksum = writer.finish();
  expect(writer.deltas).toBe(29);
  const packPath = join(dir, "p.pack");
  writeFileSync(packPath, Buffer.concat(chunks));
  const indexed = await runGit(["index-pack", "-o", join(dir, "git.idx"), packPath]);
  expect(indexed.stderr).toBe("");
  expect(indexed.code).toBe(0);
  expect(Buffer.from(buildIndex(writer.entries, checksum))).toEqual(readFileSync(join(dir, "git.idx")));
});
