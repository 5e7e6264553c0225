import { expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyDelta, buildIndex, encodeDelta, PackWriter } from "../../src/git/packfile.ts";
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
