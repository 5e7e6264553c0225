/**
 * A data directory that cannot be written: at start-up one line and exit
 * code 2; while serving, 503 with a code of its own, and /health 503.
 * Real read-only mounts (a read-only bind mount): as root only, since
 * chmod does not stop root. Skipped, saying so, when not root.
 */
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { hasStackTrace, post, sendMany } from "../support/damage.ts";
import { runCli, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

setDefaultTimeout(60_000);

const root = process.getuid?.() === 0;
if (!root) console.log("read-only.test.ts: skipped, mounting a read-only file system needs root (run the tests as root to include them)");
const rootTest = root ? test : test.skip;

const mounted: string[] = [];
afterEach(async () => {
  // Lazily, newest first: a server may still hold a file open under one.
  for (const path of mounted.splice(0).reverse()) await run(["umount", "-l", path]);
});

const run = async (command: string[]) => {
  const proc = Bun.spawn(command, { stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${command.join(" ")} failed: ${stderr}`);
};

/** Makes `path` read-only in place: a bind mount of itself, remounted read-only. */
const makeReadOnly = async (source: string, target = source) => {
  await run(["mount", "--bind", source, target]);
  mounted.push(target);
  await run(["mount", "-o", "remount,ro,bind", target]);
};

const dataDirWith = async (count: number) => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  await sendMany(server.url, count);
  expect(await server.stop()).toBe(0);
  return dataDir;
};

rootTest("a read-only data directory at start-up: one line naming it, and exit code 2", async () => {
  const dataDir = await dataDirWith(2);
  const readOnly = tempDir();
  await makeReadOnly(dataDir, readOnly);
  const started = await runCli(["serve"], { dataDir: readOnly, timeoutMs: 20_000 });
  expect(started.code).toBe(2);
  const lines = started.stderr.trim().split("\n");
  expect(lines).toEqual([`gitchat: ${readOnly} cannot be written (it is read-only); remount it read-write or give gitchat write access to it, then try again`]);
  expect(hasStackTrace(started.stderr)).toBe(false);
});

rootTest("a new data directory inside a read-only mount: one line naming where it cannot be made, and exit code 2", async () => {
  const readOnly = tempDir();
  await makeReadOnly(readOnly);
  const started = await runCli(["serve"], { dataDir: join(readOnly, "data"), timeoutMs: 20_000 });
  expect(started.code).toBe(2);
  expect(started.stderr.trim().split("\n")).toEqual([
    `gitchat: ${readOnly} cannot be written (it is read-only); remount it read-write or give gitchat write access to it, then try again`,
  ]);
});

rootTest("a read-only repository at start-up is named, with exit code 2", async () => {
  const dataDir = await dataDirWith(1);
  const gitdir = join(dataDir, "repos", "local", "general.git");
  await makeReadOnly(gitdir);
  const started = await runCli(["serve"], { dataDir, timeoutMs: 20_000 });
  expect(started.code).toBe(2);
  expect(started.stderr).toContain(`gitchat: ${gitdir} cannot be written (it is read-only)`);
});

rootTest("repositories that turn read-only while serving: sends get 503 storage_read_only, /health 503, and both recover", async () => {
  const dataDir = tempDir();
  mkdirSync(join(dataDir, "repos"), { recursive: true });
  const server = await startServer({ dataDir });
  try {
    await sendMany(server.url, 2);
    await makeReadOnly(join(dataDir, "repos"));

    const refused = await post(server.url, "onto a read-only disk");
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("storage_read_only");
    expect(refused.body.error.message).toContain("read-only");
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(503);
    const body = (await health.json()) as { git: { ok: boolean; error?: string } };
    expect(body.git.ok).toBe(false);
    expect(body.git.error).toContain("read-only");
    expect(server.output()).not.toContain("internal error");

    await run(["umount", "-l", mounted.pop()!]);
    expect((await post(server.url, "writable again")).status).toBe(201);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  } finally {
    await server.stop();
  }
});
