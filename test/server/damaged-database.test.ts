/** A damaged SQLite index: refused at start-up, seen by /health, and `gitchat rebuild` recreates it from git. */
import { expect, setDefaultTimeout, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { hasStackTrace, listAll, post, sendMany } from "../support/damage.ts";
import { healthOnceItIs, runCli, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

setDefaultTimeout(60_000);

/** Writes random bytes over `length` bytes of the file from `offset` (4096-byte pages: page 1 is the header and schema). */
const overwrite = (path: string, offset: number, length: number) => {
  const fd = openSync(path, "r+");
  writeSync(fd, randomBytes(length), 0, length, offset);
  closeSync(fd);
};

const sha1 = (path: string) => createHash("sha1").update(readFileSync(path)).digest("hex");

const indexWith = async (count: number) => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  const sent = await sendMany(server.url, count);
  expect(await server.stop()).toBe(0);
  return { dataDir, sent, db: join(dataDir, "gitchat.db") };
};

const damages: [string, (db: string) => void][] = [
  ["garbage over its first pages", (db) => overwrite(db, 0, 3 * 4096)],
  ["garbage over the pages after its header", (db) => overwrite(db, 4096, 4 * 4096)],
];

for (const [what, damage] of damages) {
  test(`an index with ${what}: start-up refuses with one line pointing at gitchat rebuild`, async () => {
    const { dataDir, db } = await indexWith(3);
    damage(db);
    const started = await runCli(["serve"], { dataDir, timeoutMs: 20_000 });
    expect(started.code).toBe(1);
    const lines = started.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(db);
    expect(lines[0]).toContain("gitchat rebuild");
    expect(hasStackTrace(started.stderr)).toBe(false);
  });

  test(`gitchat rebuild works on an index with ${what}: it is moved aside, and every message comes back from git`, async () => {
    const { dataDir, sent, db } = await indexWith(5);
    damage(db);
    const damagedSum = sha1(db);

    const rebuilt = await runCli(["rebuild"], { dataDir });
    expect(rebuilt.stderr).toBe("");
    expect(rebuilt.code).toBe(0);
    const aside = readdirSync(dataDir).filter((f) => /^gitchat\.db\.damaged-[0-9T-]+Z$/.test(f));
    expect(aside).toHaveLength(1);
    expect(rebuilt.stdout).toContain(`moved it aside to ${join(dataDir, aside[0]!)}`);
    // Moved, not deleted, not changed: the damaged file is there as it was.
    expect(sha1(join(dataDir, aside[0]!))).toBe(damagedSum);
    expect(rebuilt.stdout).toContain("5 message(s)");

    const server = await startServer({ dataDir });
    try {
      expect(new Map(sent.map((m) => [m.id, m.content]))).toEqual(await listAll(server.url));
      expect((await post(server.url, "after the rebuild")).status).toBe(201);
    } finally {
      await server.stop();
    }
  });
}

test("gitchat rebuild of a whole index deletes it and moves nothing aside", async () => {
  const { dataDir } = await indexWith(2);
  const rebuilt = await runCli(["rebuild"], { dataDir });
  expect(rebuilt.code).toBe(0);
  expect(rebuilt.stdout).not.toContain("aside");
  expect(readdirSync(dataDir).filter((f) => f.includes("damaged"))).toEqual([]);
});

test("an index overwritten under a running server: /health answers 503 instead of ok from the page cache", async () => {
  const { dataDir, db } = await indexWith(20);
  const server = await startServer({ dataDir });
  try {
    // Warm the server's page cache: the old probe (a count) answered from it.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await listAll(server.url)).size).toBe(20);
    overwrite(db, 0, 4 * 4096);
    const body = (await healthOnceItIs(server.url, 503)) as { status: string; database: { ok: boolean; error?: string } };
    expect(body.status).toBe("degraded");
    expect(body.database.ok).toBe(false);
    expect(existsSync(db)).toBe(true);
  } finally {
    await server.kill9();
  }
});
