/**
 * What the benches share: BENCH_SCALE, statistics, the git CLI, memory of a
 * process, and where raw figures go (bench/out/<name>.json).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SCALE = (() => {
  const raw = process.env.BENCH_SCALE;
  const value = raw === undefined || raw === "" ? 1 : Number(raw);
  if (!(value > 0 && value <= 1)) throw new Error(`BENCH_SCALE=${raw} is not valid: use a number in (0, 1]`);
  return value;
})();
export const scaled = (n: number, min = 1) => Math.max(min, Math.round(n * SCALE));

export const GIT_ENV: Record<string, string | undefined> = {
  ...process.env,
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@localhost",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@localhost",
  // Nobody's own git settings (signing, hooks, gc) may change what is measured.
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_TERMINAL_PROMPT: "0",
};

export const run = async (cmd: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}) => {
  const proc = Bun.spawn(cmd, { cwd: options.cwd, env: options.env ?? process.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
};

export const git = async (args: string[], cwd?: string) => {
  const result = await run(["git", ...args], { cwd, env: GIT_ENV });
  if (result.code !== 0) throw new Error(`git ${args.join(" ")} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
};

/** A message file in either layout (with or without the segment level), as the git CLI lists it. */
export const MESSAGE_FILE = /^messages\/\d{4}\/\d{2}\/\d{2}\/(?:\d{3,}\/)?[0-9a-f-]{36}\.json$/;

/** Message files in the tree of `main`, counted by the git CLI. */
export const countMessageFiles = async (gitdir: string) => {
  const names = await git([`--git-dir=${gitdir}`, "ls-tree", "-r", "--name-only", "main"]);
  return names.split("\n").filter((n) => MESSAGE_FILE.test(n)).length;
};

/** Nearest-rank percentile of sorted values. */
export const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
export const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
export const median = (values: readonly number[]) => percentile(sorted(values), 50);
export const round = (n: number, digits = 3) => Number(n.toFixed(digits));

/** Resident memory of a process, from /proc. */
export const rssOf = (pid: number) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
};
export const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);

const started = performance.now();
export const progress = (line: string) =>
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

/** Load averages: other work on this shared machine skews every figure, so each result says how busy it was. */
export const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);

export const writeOut = (name: string, results: unknown) => {
  const file = join(import.meta.dir, "out", `${name}.json`);
  mkdirSync(join(import.meta.dir, "out"), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ benchmark: name, finishedAt: new Date().toISOString(), scale: SCALE, results }, null, 1)}\n`);
  return file;
};

// The message layout and the commit under test, imported in this one place.
export { commitMessageFor, commitMessages, encodeMessage, messagePath, SEGMENT_FILES, type MessageRecord } from "../src/messages/layout.ts";
