/**
 * What a 201 promises on power loss: the system calls of a real server
 * process, recorded by strace, show that the commit's pack, its index, the
 * ref and their directories, and the SQLite WAL, were fsynced before the
 * answer was written to the socket.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const strace = Bun.which("strace");

type Call = { line: number; name: string; args: string; result: string };

/** The calls of one strace -f log in the order they finished, with "resumed" halves joined. */
const parseTrace = (text: string): Call[] => {
  const calls: Call[] = [];
  const pending = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const [, pid, rest] = m as unknown as [string, string, string];
    let body = rest;
    if (body.endsWith("<unfinished ...>")) {
      pending.set(pid, body.slice(0, -"<unfinished ...>".length));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(body);
    if (resumed) body = (pending.get(pid) ?? "") + resumed[1];
    const call = /^(\w+)\((.*)\)\s+=\s+(-?\d+.*)$/.exec(body);
    if (call) calls.push({ line: calls.length, name: call[1]!, args: call[2]!, result: call[3]! });
  }
  return calls;
};

/** Runs a server under strace, sends one message, and returns the trace and the answer. */
const traceOneSend = async (env: Record<string, string>) => {
  if (!strace) throw new Error("this test needs strace: apt-get install strace (npm test's pretest installs it when it can)");
  const dataDir = tempDir();
  const log = join(tempDir(), "trace.log");
  const server = await startServer({
    dataDir,
    env,
    command: [strace, "-f", "-qq", "-s", "48", "-o", log, "-e", "trace=openat,fsync,fdatasync,rename,renameat,renameat2,sendto,write,writev", process.execPath, CLI, "serve"],
  });
  let commit = "";
  try {
    const response = await fetch(`${server.url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: "durable" }),
    });
    expect(response.status).toBe(201);
    commit = ((await response.json()) as { git_hash: string }).git_hash;
  } finally {
    // Stop the traced server itself; strace then writes out its log and exits by itself
    // (killing strace instead could lose the end of the log it buffers).
    const children = Bun.spawnSync(["pgrep", "-P", String(server.proc.pid)]).stdout.toString().trim().split("\n").filter(Boolean);
    for (const pid of children) process.kill(Number(pid), "SIGKILL");
    const timer = setTimeout(() => server.proc.kill(9), 10_000);
    await server.proc.exited;
    clearTimeout(timer);
  }
  return { calls: parseTrace(readFileSync(log, "utf8")), commit, dataDir };
};

/** Which path each fsync'd file descriptor was opened for, at the moment of each call. */
const fsyncedPaths = (calls: Call[]) => {
  const open = new Map<string, string>();
  const synced: { line: number; path: string }[] = [];
  for (const c of calls) {
    if (c.name === "openat" && /^\d+/.test(c.result)) open.set(c.result.split(" ")[0]!, /"([^"]*)"/.exec(c.args)![1]!);
    if (c.name === "fsync" || c.name === "fdatasync") synced.push({ line: c.line, path: open.get(c.args) ?? `fd ${c.args}` });
  }
  return synced;
};

const renames = (calls: Call[]) =>
  calls
    .filter((c) => c.name.startsWith("rename"))
    .map((c) => {
      const [from, to] = [...c.args.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
      return { line: c.line, from: from!, to: to! };
    });

test("before a 201 is written, the commit's pack, index, ref and their directories, the WAL and the new repository itself are on the disk", async () => {
  const { calls, commit, dataDir } = await traceOneSend({});
  const answer = calls.find((c) => (c.name === "sendto" || c.name === "write" || c.name === "writev") && c.args.includes("HTTP/1.1 201"));
  expect(answer).toBeDefined();
  const before = (line: number) => line < answer!.line;
  const synced = fsyncedPaths(calls);
  const syncedBetween = (path: string, from: number, to: number) => synced.some((s) => s.path === path && s.line > from && s.line < to);

  const gitdir = join(dataDir, "repos", "local", "general.git");
  const packDir = join(gitdir, "objects", "pack");
  // The last pack published before the answer is the commit's: its index names the commit.
  const packRename = renames(calls).filter((r) => before(r.line) && r.to.endsWith(".pack")).at(-1)!;
  const idxRename = renames(calls).find((r) => r.to === packRename.to.replace(/\.pack$/, ".idx"))!;
  const idx = Bun.spawnSync(["git", "show-index"], { stdin: readFileSync(idxRename.to) }).stdout.toString();
  expect(idx).toContain(commit);
  const refRename = renames(calls).filter((r) => before(r.line) && r.to === join(gitdir, "refs", "heads", "main")).at(-1)!;

  const steps = {
    "pack data synced before its rename": syncedBetween(packRename.from, 0, packRename.line),
    "index data synced before its rename": syncedBetween(idxRename.from, 0, idxRename.line),
    "pack directory synced after both renames, before the ref moves": syncedBetween(packDir, idxRename.line, refRename.line),
    "ref data synced before its rename": syncedBetween(refRename.from, idxRename.line, refRename.line),
    "ref directory synced after its rename, before the answer": syncedBetween(join(gitdir, "refs", "heads"), refRename.line, answer!.line),
    "SQLite WAL synced after the ref, before the answer": syncedBetween(join(dataDir, "gitchat.db-wal"), refRename.line, answer!.line),
    "the new repository synced into its parent, with its HEAD and config, before any answer": [join(dataDir, "repos", "local"), join(gitdir, "HEAD"), join(gitdir, "config")].every(
      (path) => syncedBetween(path, 0, answer!.line),
    ),
  };
  expect(steps).toEqual({
    "pack data synced before its rename": true,
    "index data synced before its rename": true,
    "pack directory synced after both renames, before the ref moves": true,
    "ref data synced before its rename": true,
    "ref directory synced after its rename, before the answer": true,
    "SQLite WAL synced after the ref, before the answer": true,
    "the new repository synced into its parent, with its HEAD and config, before any answer": true,
  });
}, 30_000);

test("DURABILITY=process acknowledges without fsync (what the README says it gives up)", async () => {
  const { calls } = await traceOneSend({ DURABILITY: "process" });
  const answer = calls.findIndex((c) => c.args.includes("HTTP/1.1 201"));
  const gitSyncs = fsyncedPaths(calls.slice(0, answer)).filter((s) => s.path.includes("/repos/"));
  expect(gitSyncs).toEqual([]);
}, 30_000);
