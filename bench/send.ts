#!/usr/bin/env bun
/**
 * The send path, measured: `npm run bench` (bun bench/send.ts).
 *
 * 1. POST /messages against a real `gitchat serve` process on 127.0.0.1, once
 *    with DURABILITY=full (the default: fsync before every answer) and once
 *    with DURABILITY=process (no fsync), to show what durability costs:
 *    1 sequential client, then 50 concurrent clients (keep-alive fetch).
 * 2. The naive way for comparison: one JSON file per message in a normal git
 *    work tree, `git add` + `git commit` with the git CLI behind a mutex.
 * 3. Commit cost against history size: a ChannelStore with ~100 messages and
 *    with ~100,000 (100 days of 1,000), and against the size of today's
 *    directory (the one tree that grows with every commit); measured as the
 *    history grows, then again with the cases interleaved (against a small
 *    control repository), because this disk's speed drifts within seconds.
 * 4. Bytes per message on disk, and `git fsck --strict` of what gitchat wrote.
 *
 * Prints a report on stdout (progress on stderr) and writes the raw figures to
 * bench/out/send.json. Every temporary directory is removed and the server is
 * killed at the end, also on failure or Ctrl-C. BENCH_SCALE=0.1 shrinks every
 * count, for a quick smoke run (the report then says so).
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, relative } from "node:path";
import { encodeMessage, idFromPath, messagePath, type MessageRecord, commitMessages } from "../src/messages/layout.ts";
import { writeLooseObject, type Signature } from "../src/git/objects.ts";
import { ChannelStore } from "../src/git/store.ts";
import { startServer, type RunningServer } from "../test/support/server.ts";
import { GIT_ENV } from "./lib.ts";

// ---------------------------------------------------------------- settings

const SCALE = (() => {
  const raw = process.env.BENCH_SCALE;
  const value = raw === undefined || raw === "" ? 1 : Number(raw);
  if (!(value > 0 && value <= 1)) throw new Error(`BENCH_SCALE=${raw} is not valid: use a number in (0, 1]`);
  return value;
})();
const scaled = (n: number, min = 1) => Math.max(min, Math.round(n * SCALE));

const SETTINGS = {
  scale: SCALE,
  server: {
    warmup: scaled(100),
    sequential: scaled(1000),
    concurrent: scaled(10_000),
    clients: 50,
    packThreshold: 4000,
  },
  naive: { warmup: 5, sequential: scaled(200), concurrent: scaled(500), clients: 50 },
  history: {
    seed: 100,
    days: scaled(100),
    perDay: 1000,
    perCommit: 100,
    singles: 200,
    packThreshold: 4000,
    /** Sizes of today's directory at which single commits are measured again. */
    busyDay: [...new Set([1000, scaled(10_000, 1000)])],
  },
};

const OUT_FILE = join(import.meta.dir, "out", "send.json");
const DAY_MS = 86_400_000;

/** Chat-length lines (55 to 65 characters), used in turn. */
const LINES = [
  "Pushed the fix for the login redirect, can someone review it?",
  "Standup moved to 10:30 today, the room upstairs is booked again",
  "Has anyone seen the flaky test in the payments suite this week?",
  "Lunch at the Thai place around the corner at 12:15, who's in?",
  "Deploy went out fine, error rate is back to normal on the graph",
  "I'll be offline this afternoon, ping me on the phone if urgent",
  "The staging database is being restored, please don't touch it",
  "Thanks! That did it, the build is green again on the main branch",
  "Can we push the design review to Thursday? Two people are out",
  "Reminder: the certificate on the old API host expires on Friday",
];
const contentFor = (i: number) => LINES[i % LINES.length]!;


// ---------------------------------------------------------------- housekeeping

const started = performance.now();
const progress = (line: string) =>
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

const temps: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};

let server: RunningServer | undefined;
let interrupted = false;

const cleanup = async () => {
  const running = server;
  server = undefined;
  if (running && running.proc.exitCode === null && running.proc.signalCode === null) {
    running.proc.kill("SIGKILL");
    await running.proc.exited;
  }
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
};

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    interrupted = true;
    progress(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

type RunResult = { code: number; stdout: string; stderr: string };

const run = async (cmd: string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<RunResult> => {
  const proc = Bun.spawn(cmd, { cwd: options.cwd, env: options.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
};

const git = async (args: string[], cwd?: string) => {
  const result = await run(["git", ...args], { cwd, env: GIT_ENV });
  if (result.code !== 0) throw new Error(`git ${args.join(" ")} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
};

// ---------------------------------------------------------------- statistics

type Summary = {
  messages: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
};

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

const summarize = (latencies: readonly number[], seconds: number): Summary => {
  const sorted = [...latencies].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    messages: sorted.length,
    seconds: round(seconds),
    perSecond: round(sorted.length / seconds, 1),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    meanMs: round(sum / sorted.length),
    maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
  };
};

/**
 * `clients` callers, each sending one message at a time until `total` have
 * been sent; a message's latency runs from its call to its answer (so it
 * includes any queueing inside `send`). Stops everyone at the first failure.
 */
const drive = async (total: number, clients: number, send: (i: number) => Promise<void>) => {
  const latencies: number[] = new Array<number>(total).fill(0);
  let next = 0;
  let failed = false;
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(clients, total) }, async () => {
      while (next < total && !failed) {
        const i = next++;
        const t0 = performance.now();
        try {
          await send(i);
        } catch (error) {
          failed = true;
          throw error;
        }
        latencies[i] = performance.now() - t0;
      }
    }),
  );
  const seconds = (performance.now() - begin) / 1000;
  return { summary: summarize(latencies, seconds), latencies };
};

// ---------------------------------------------------------------- disk

type DiskUsage = { bytes: number; allocatedBytes: number; files: number; looseObjects: number; packs: number };

/** Sum of file sizes (st_size, not blocks) under `dir`; allocated blocks alongside. */
const diskUsage = (dir: string): DiskUsage => {
  const usage: DiskUsage = { bytes: 0, allocatedBytes: 0, files: 0, looseObjects: 0, packs: 0 };
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const stat = lstatSync(full);
      if (stat.isDirectory()) {
        walk(full);
        continue;
      }
      usage.bytes += stat.size;
      usage.allocatedBytes += stat.blocks * 512;
      usage.files++;
      const rel = relative(dir, full);
      if (/(^|\/)objects\/[0-9a-f]{2}\/[0-9a-f]{38}$/.test(rel)) usage.looseObjects++;
      if (/(^|\/)objects\/pack\/pack-[0-9a-f]{40}\.pack$/.test(rel)) usage.packs++;
    }
  };
  walk(dir);
  return usage;
};

/** Loose objects and packs in a git directory, by listing objects/. */
const countObjects = (gitdir: string) => {
  const objects = join(gitdir, "objects");
  let loose = 0;
  for (const dir of readdirSync(objects)) {
    if (/^[0-9a-f]{2}$/.test(dir)) loose += readdirSync(join(objects, dir)).filter((f) => /^[0-9a-f]{38}$/.test(f)).length;
  }
  const packDir = join(objects, "pack");
  if (!existsSync(packDir)) return { loose, packs: 0 };
  const packs = readdirSync(packDir, { withFileTypes: true }).filter((e) => /^pack-[0-9a-f]{40}\.pack$/.test(e.name)).length;
  return { loose, packs };
};

/** Mean st_size of the objects/xx directories: ext4 never shrinks a directory that once held many loose objects. */
const objectDirBytes = (gitdir: string) => {
  const objects = join(gitdir, "objects");
  const sizes = readdirSync(objects)
    .filter((d) => /^[0-9a-f]{2}$/.test(d))
    .map((d) => lstatSync(join(objects, d)).size);
  return { dirs: sizes.length, meanBytes: round(sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length), 0) };
};

/** The bare repositories under a gitchat data directory: repos/<owner>/<name>.git. */
const channelGitdirs = (dataDir: string) => {
  const repos = join(dataDir, "repos");
  return readdirSync(repos).flatMap((owner) =>
    readdirSync(join(repos, owner))
      .filter((name) => name.endsWith(".git"))
      .map((name) => join(repos, owner, name)),
  );
};

/** Waits for running writes and packs, then packs until no loose object is left. */
const packAll = async (store: ChannelStore) => {
  const begin = performance.now();
  let objects = 0;
  for (;;) {
    await store.idle();
    const result = await store.pack();
    if (!result) break;
    objects += result.objects;
  }
  return { objects, seconds: round((performance.now() - begin) / 1000) };
};

type Fsck = { ok: boolean; exitCode: number; seconds: number; output: string };

const fsck = async (gitdir: string): Promise<Fsck> => {
  const begin = performance.now();
  const result = await run(["git", `--git-dir=${gitdir}`, "fsck", "--strict", "--no-progress"], { env: GIT_ENV });
  const output = `${result.stdout}${result.stderr}`.trim();
  return { ok: result.code === 0, exitCode: result.code, seconds: round((performance.now() - begin) / 1000), output };
};

/** Message files in the tree of `main`, as the git CLI sees them. */
const countMessageFiles = async (gitdir: string) => {
  const names = await git([`--git-dir=${gitdir}`, "ls-tree", "-r", "--name-only", "main"]);
  return names.split("\n").filter((n) => idFromPath(n) !== undefined).length;
};

const countCommits = async (gitdir: string) =>
  Number((await git([`--git-dir=${gitdir}`, "rev-list", "--count", "main"])).trim());

// ---------------------------------------------------------------- machine

/**
 * Times `count` writes of a new loose object into the repository at `gitdir`
 * (the objects are removed again, so the repository is left as it was).
 */
const looseObjectTimes = (gitdir: string, count: number) => {
  const times: number[] = [];
  const written: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const content = new TextEncoder().encode(`probe ${Bun.randomUUIDv7()} ${contentFor(i)}`.padEnd(200, "."));
      const t0 = performance.now();
      const oid = writeLooseObject(gitdir, "blob", content, false);
      times.push(performance.now() - t0);
      written.push(join(gitdir, "objects", oid.slice(0, 2), oid.slice(2)));
    }
  } finally {
    for (const path of written) rmSync(path, { force: true });
  }
  return times;
};

/**
 * Writes `count` loose objects of a message's size with gitchat's own
 * writeLooseObject into a scratch directory under `parent`: microseconds per
 * object. Every commit writes ~7 of them (1 blob, 5 trees, 1 commit), and on
 * this kind of virtual disk their cost drifts by several times within seconds.
 */
const looseObjectProbe = (parent: string, count = 100) => {
  const dir = mkdtempSync(join(parent, "probe-"));
  try {
    const times = looseObjectTimes(dir, count).sort((a, b) => a - b);
    return { p50: round(percentile(times, 50) * 1000, 1), p99: round(percentile(times, 99) * 1000, 1) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const machine = async () => {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const nproc = Number((await run(["nproc"])).stdout.trim());
  const gitVersion = (await git(["--version"])).trim();
  const repo = join(import.meta.dir, "..");
  const head = (await run(["git", "rev-parse", "--short", "HEAD"], { cwd: repo, env: GIT_ENV })).stdout.trim() || "unknown";
  const dirty = (await run(["git", "status", "--porcelain", "--", "src"], { cwd: repo, env: GIT_ENV })).stdout.trim() !== "";
  const probe = looseObjectProbe(tmpdir(), 300);
  return {
    nproc,
    cpuModel: model,
    totalMemoryBytes: totalmem(),
    bunVersion: Bun.version,
    gitVersion,
    platform: `${process.platform} ${process.arch}`,
    tmpdir: tmpdir(),
    gitchatRevision: dirty ? `${head} + uncommitted changes in src/` : head,
    looseObjectWriteUs: probe,
    /** 1, 5 and 15 minute load averages before the run: anything else busy on the machine skews every figure. */
    loadAverageAtStart: loadavg().map((x) => round(x, 2)),
  };
};

// ---------------------------------------------------------------- 1. the server

/** `durability`: DURABILITY=full (fsync before every answer, the default) or process (no fsync), to show what the fsync costs. */
const benchServer = async (durability: "full" | "process") => {
  const s = SETTINGS.server;
  const dataDir = tempDir("gitchat-bench-server-");
  progress(`starting gitchat serve (DATA_DIR=${dataDir}, DURABILITY=${durability})`);
  server = await startServer({ dataDir, env: { PACK_THRESHOLD: String(s.packThreshold), DURABILITY: durability } });
  const url = server.url;
  if (!url.startsWith("http://127.0.0.1:")) throw new Error(`the server listens on ${url}, not on 127.0.0.1`);

  const hashes = new Set<string>();
  const post = async (i: number) => {
    const response = await fetch(`${url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: contentFor(i) }),
      keepalive: true,
    });
    const text = await response.text();
    if (response.status !== 201) throw new Error(`POST /messages answered ${response.status}, not 201: ${text.slice(0, 300)}`);
    const hash = (JSON.parse(text) as { git_hash?: unknown }).git_hash;
    if (typeof hash !== "string" || !/^[0-9a-f]{40}$/.test(hash)) throw new Error(`POST /messages answered without a git_hash: ${text.slice(0, 300)}`);
    hashes.add(hash);
  };

  // Every second, how many loose objects and packs the channel has: does
  // background packing keep up with the send path?
  const serverStart = performance.now();
  let phase = "warm-up";
  const objectTimeline: { seconds: number; phase: string; loose: number; packs: number }[] = [];
  const sample = () => {
    let loose = 0;
    let packs = 0;
    for (const gitdir of channelGitdirs(dataDir)) {
      const objects = countObjects(gitdir);
      loose += objects.loose;
      packs += objects.packs;
    }
    objectTimeline.push({ seconds: round((performance.now() - serverStart) / 1000, 1), phase, loose, packs });
  };
  const sampler = setInterval(sample, 1000);
  let sequential: Awaited<ReturnType<typeof drive>>;
  let concurrent: Awaited<ReturnType<typeof drive>>;
  let sequentialCommits: number;
  let concurrentCommits: number;
  try {
    progress(`server: ${s.warmup} warm-up messages`);
    await drive(s.warmup, 1, post);

    progress(`server: ${s.sequential} messages from 1 client`);
    phase = "1 client";
    hashes.clear();
    sequential = await drive(s.sequential, 1, post);
    sequentialCommits = hashes.size;

    progress(`server: ${s.concurrent} messages from ${s.clients} concurrent clients`);
    phase = `${s.clients} clients`;
    hashes.clear();
    concurrent = await drive(s.concurrent, s.clients, post);
    concurrentCommits = hashes.size;
    phase = "end of load";
    sample();
  } finally {
    clearInterval(sampler);
  }
  const atEndOfLoad = objectTimeline[objectTimeline.length - 1]!;
  const peakLoose = Math.max(...objectTimeline.map((o) => o.loose));

  progress("server: SIGTERM (it finishes writes and packing)");
  const stopBegin = performance.now();
  const exitCode = await server.stop();
  const stopSeconds = round((performance.now() - stopBegin) / 1000);
  server = undefined;
  if (exitCode !== 0) throw new Error(`gitchat exited with ${exitCode} after SIGTERM`);

  const sent = s.warmup + s.sequential + s.concurrent;
  const repositories = [];
  for (const gitdir of channelGitdirs(dataDir)) {
    progress(`server: packing what is left loose in ${relative(dataDir, gitdir)}`);
    const looseBefore = diskUsage(gitdir).looseObjects;
    const store = await ChannelStore.open(gitdir, { packThreshold: Number.MAX_SAFE_INTEGER });
    const packed = await packAll(store);
    const disk = diskUsage(gitdir);
    const messages = await countMessageFiles(gitdir);
    const commits = await countCommits(gitdir);
    progress(`server: git fsck --strict ${relative(dataDir, gitdir)}`);
    const check = await fsck(gitdir);
    repositories.push({
      path: relative(dataDir, gitdir),
      messages,
      commits,
      looseObjectsAfterStop: looseBefore,
      finalPack: packed,
      disk,
      bytesPerMessage: round(disk.bytes / Math.max(1, messages), 1),
      fsck: check,
    });
  }
  const totalMessages = repositories.reduce((a, r) => a + r.messages, 0);
  if (totalMessages !== sent) throw new Error(`sent ${sent} messages but git holds ${totalMessages}`);
  const database = diskUsage(dataDir).bytes - repositories.reduce((a, r) => a + r.disk.bytes, 0);

  return {
    settings: s,
    durability,
    sequential: { ...sequential.summary, commits: sequentialCommits, messagesPerCommit: round(s.sequential / sequentialCommits, 2) },
    concurrent: { ...concurrent.summary, commits: concurrentCommits, messagesPerCommit: round(s.concurrent / concurrentCommits, 2) },
    stop: { exitCode, seconds: stopSeconds },
    objects: { atEndOfLoad, peakLoose, timeline: objectTimeline },
    sent,
    repositories,
    otherDataDirBytes: database,
    samples: { sequentialMs: sequential.latencies.map((x) => round(x)), concurrentMs: concurrent.latencies.map((x) => round(x)) },
  };
};

// ---------------------------------------------------------------- 2. the naive way

class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

const benchNaive = async () => {
  const n = SETTINGS.naive;
  const dir = tempDir("gitchat-bench-naive-");
  await git(["init", "-q", "-b", "main"], dir);
  // git's automatic gc would start in the background every few thousand objects, and the next
  // command could then die with "gc is already running"; the one measured gc is the explicit one below.
  await git(["config", "gc.auto", "0"], dir);
  await git(["config", "maintenance.auto", "false"], dir);
  const mutex = new Mutex();
  const send = (i: number) =>
    mutex.run(async () => {
      const now = Date.now();
      const record: MessageRecord = {
        id: Bun.randomUUIDv7("hex", now),
        author: "bench",
        content: contentFor(i),
        type: "message",
        created_at: new Date(now).toISOString(),
      };
      const path = messagePath(record, 0);
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), encodeMessage(record));
      await git(["add", "--", path], dir);
      await git(["commit", "-q", "-m", `bench: ${record.content}`], dir);
    });

  progress(`naive: ${n.warmup} warm-up commits`);
  await drive(n.warmup, 1, send);
  progress(`naive: ${n.sequential} messages from 1 client (git add + git commit each)`);
  const sequential = await drive(n.sequential, 1, send);
  progress(`naive: ${n.concurrent} messages from ${n.clients} concurrent callers on one mutex`);
  const concurrent = await drive(n.concurrent, n.clients, send);

  const messages = n.warmup + n.sequential + n.concurrent;
  const gitdir = join(dir, ".git");
  const committed = await countMessageFiles(gitdir);
  if (committed !== messages) throw new Error(`naive: committed ${committed} of ${messages} messages`);
  const asLeft = diskUsage(gitdir);
  progress("naive: git gc, for the size after packing");
  const gcBegin = performance.now();
  await git(["gc", "-q"], dir);
  const gcSeconds = round((performance.now() - gcBegin) / 1000);
  const afterGc = diskUsage(gitdir);
  return {
    settings: n,
    sequential: sequential.summary,
    concurrent: concurrent.summary,
    messages,
    disk: {
      asLeft,
      asLeftBytesPerMessage: round(asLeft.bytes / messages, 1),
      afterGc,
      afterGcBytesPerMessage: round(afterGc.bytes / messages, 1),
      gcSeconds,
    },
    samples: { sequentialMs: sequential.latencies.map((x) => round(x)), concurrentMs: concurrent.latencies.map((x) => round(x)) },
  };
};

// ---------------------------------------------------------------- 3. commit cost against history

type SingleRow = {
  label: string;
  historyMessagesBefore: number;
  dayMessagesBefore: number;
  commits: number;
  medianMs: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  commitsPerSecond: number;
  /** Writing one loose object just before the row (this disk's speed drifts). */
  looseObjectP50Us: number;
  samplesMs: number[];
};

const benchHistory = async () => {
  const h = SETTINGS.history;
  const root = tempDir("gitchat-bench-history-");
  const packErrors: unknown[] = [];
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const dayStart = (offset: number) => today + offset * DAY_MS;
  let counter = 0;
  const record = (ms: number): MessageRecord => ({
    id: Bun.randomUUIDv7("hex", ms),
    author: "bench",
    content: contentFor(counter++),
    type: "message",
    created_at: new Date(ms).toISOString(),
  });
  const signature = (ms: number): Signature => ({ name: "bench", email: "bench@gitchat.invalid", timestamp: ms });

  const openRepo = async (name: string) => {
    const gitdir = join(root, name);
    const store = await ChannelStore.open(gitdir, { packThreshold: h.packThreshold, onPackError: (error) => packErrors.push(error) });
    return { name, gitdir, store, messages: 0 };
  };
  type Repo = Awaited<ReturnType<typeof openRepo>>;
  /** One day of one repository, filled in time order `spacingMs` apart. */
  type Lane = { repo: Repo; day: number; inDay: number; spacingMs: number };
  const lane = (repo: Repo, day: number, spacingMs: number): Lane => ({ repo, day, inDay: 0, spacingMs });

  const commit = async (repo: Repo, records: MessageRecord[]) => {
    const t0 = performance.now();
    await commitMessages(repo.store, records, signature(Date.parse(records[records.length - 1]!.created_at)));
    const elapsed = performance.now() - t0;
    repo.messages += records.length;
    if (packErrors.length > 0) throw packErrors[0];
    return elapsed;
  };
  const commitSingle = (l: Lane) => commit(l.repo, [record(dayStart(l.day) + l.inDay++ * l.spacingMs)]);
  /** Fills the lane's day up to `target` messages, `perCommit` a commit; returns each commit's time. */
  const fill = async (l: Lane, target: number) => {
    const times: number[] = [];
    while (l.inDay < target) {
      const size = Math.min(h.perCommit, target - l.inDay);
      const records = Array.from({ length: size }, (_, j) => record(dayStart(l.day) + (l.inDay + j) * l.spacingMs));
      l.inDay += size;
      times.push(await commit(l.repo, records));
    }
    return times;
  };
  const rowOf = (label: string, latencies: number[], seconds: number, before: { history: number; day: number }, probe: number): SingleRow => {
    const summary = summarize(latencies, seconds);
    return {
      label,
      historyMessagesBefore: before.history,
      dayMessagesBefore: before.day,
      commits: latencies.length,
      medianMs: summary.p50Ms,
      p99Ms: summary.p99Ms,
      meanMs: summary.meanMs,
      maxMs: summary.maxMs,
      commitsPerSecond: summary.perSecond,
      looseObjectP50Us: probe,
      samplesMs: latencies.map((x) => round(x)),
    };
  };
  /** `singles` one-message commits on the lane's day, timed one by one, after packing. */
  const singles = async (label: string, l: Lane) => {
    await packAll(l.repo.store);
    const probe = looseObjectProbe(root).p50;
    const before = { history: l.repo.messages, day: l.inDay };
    const latencies: number[] = [];
    const begin = performance.now();
    for (let k = 0; k < h.singles; k++) latencies.push(await commitSingle(l));
    const row = rowOf(label, latencies, (performance.now() - begin) / 1000, before, probe);
    progress(`history: ${label}: median ${row.medianMs} ms a one-message commit (a loose object: ${probe} us)`);
    return row;
  };

  // Warm the code paths up in a throw-away repository first, so that the first
  // measured row does not pay for JIT compilation that the later ones do not.
  {
    const warm = await openRepo("warm.git");
    const warmLane = lane(warm, -1000, 1000);
    for (let k = 0; k < 100; k++) await commitSingle(warmLane);
    await fill(warmLane, 2000);
    await packAll(warm.store);
    rmSync(warm.gitdir, { recursive: true, force: true });
  }

  // B, the repository that gets the long history; C, a control that stays small.
  const big = await openRepo("history.git");
  const control = await openRepo("control.git");
  const seedDay = -(h.days + 2);
  progress(`history: seeding ${h.seed} messages on day ${seedDay}`);
  for (const repo of [big, control]) await fill(lane(repo, seedDay, 60_000), h.seed);

  const young = await singles(`history ~${h.seed}, fresh day`, lane(big, seedDay + 1, 60_000));

  // The bulk: `days` days of `perDay` messages, `perCommit` a commit.
  progress(`history: building ${h.days} days x ${h.perDay} messages, ${h.perCommit} a commit`);
  const batchMs: number[] = [];
  const looseDuringBuild: { messages: number; loose: number; packs: number }[] = [];
  const buildBegin = performance.now();
  for (let d = -h.days; d < 0; d++) {
    batchMs.push(...(await fill(lane(big, d, Math.floor(DAY_MS / h.perDay)), h.perDay)));
    if ((d + h.days + 1) % 10 === 0 || d === -1) {
      const objects = countObjects(big.gitdir);
      looseDuringBuild.push({ messages: big.messages, ...objects });
      if ((d + h.days + 1) % 25 === 0) progress(`history: ${big.messages.toLocaleString("en")} messages, ${objects.loose.toLocaleString("en")} loose objects`);
    }
  }
  const buildSeconds = (performance.now() - buildBegin) / 1000;
  const buildMessages = h.days * h.perDay;
  const tenth = Math.max(1, Math.floor(batchMs.length / 10));
  const build = {
    commits: batchMs.length,
    messages: buildMessages,
    seconds: round(buildSeconds),
    messagesPerSecond: round(buildMessages / buildSeconds, 1),
    firstTenthMedianMs: summarize(batchMs.slice(0, tenth), 1).p50Ms,
    lastTenthMedianMs: summarize(batchMs.slice(-tenth), 1).p50Ms,
    peakLoose: Math.max(0, ...looseDuringBuild.map((o) => o.loose)),
    looseDuringBuild,
    samplesMs: batchMs.map((x) => round(x)),
  };
  progress("history: packing");
  const historyPack = await packAll(big.store);
  const historyDisk = {
    messages: big.messages,
    commits: await countCommits(big.gitdir),
    pack: historyPack,
    disk: diskUsage(big.gitdir),
    bytesPerMessage: 0,
  };
  historyDisk.bytesPerMessage = round(historyDisk.disk.bytes / historyDisk.messages, 1);

  // Today, with the whole history behind it: the same fresh-day conditions as `young`.
  const todayLane = lane(big, 0, 500);
  const old = await singles(`history ~${Math.round(big.messages / 1000)}k, fresh day`, todayLane);

  // Today grows: the one tree that every commit rewrites.
  const busy: SingleRow[] = [];
  for (const target of h.busyDay) {
    progress(`history: filling today to ${target.toLocaleString("en")} messages`);
    await fill(todayLane, target);
    busy.push(await singles(`history ~${Math.round(big.messages / 1000)}k, today holds ${target.toLocaleString("en")}`, todayLane));
  }

  // The rows above ran minutes apart, and this disk's speed drifts within
  // seconds. So each comparison once more with its two cases in turn, 5
  // commits at a time in A B B A order (each case follows the other as often):
  // the small control repository against the big one, both on a fresh day;
  // then the big one on a fresh day against its busy today.
  const interleave = async (pair: [{ key: string; label: string; lane: Lane }, { key: string; label: string; lane: Lane }]) => {
    progress(`history: interleaved: ${pair[0].label} / ${pair[1].label}`);
    for (const p of pair) await packAll(p.lane.repo.store);
    const befores = pair.map((p) => ({ history: p.lane.repo.messages, day: p.lane.inDay }));
    const probe = looseObjectProbe(root).p50;
    const times: [number[], number[]] = [[], []];
    const spent = [0, 0];
    const chunk = 5;
    for (let round = 0; round < Math.ceil(h.singles / chunk); round++) {
      for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
        const begin = performance.now();
        for (let c = 0; c < chunk; c++) times[i]!.push(await commitSingle(pair[i]!.lane));
        spent[i]! += performance.now() - begin;
      }
    }
    return pair.map((p, i) => ({ key: p.key, ...rowOf(p.label, times[i]!, spent[i]! / 1000, befores[i]!, probe) }));
  };
  const bigLabel = `history ~${Math.round(big.messages / 1000)}k`;
  const interleaved = [
    ...(await interleave([
      { key: "control", label: `history ~${h.seed}, fresh day`, lane: lane(control, seedDay + 1, 60_000) },
      { key: "big", label: `${bigLabel}, fresh day`, lane: lane(big, 1, 500) },
    ])),
    ...(await interleave([
      { key: "big2", label: `${bigLabel}, fresh day`, lane: lane(big, 2, 500) },
      { key: "busy", label: `${bigLabel}, today holds ${todayLane.inDay.toLocaleString("en")}`, lane: todayLane },
    ])),
  ];
  const median = (key: string) => interleaved.find((r) => r.key === key)!.medianMs;
  // The same disk write, into each repository's own objects/ directories, in turn.
  const objectWrites = { big: [] as number[], control: [] as number[] };
  for (let round = 0; round < 10; round++) {
    for (const key of round % 2 === 0 ? (["control", "big"] as const) : (["big", "control"] as const)) {
      objectWrites[key].push(...looseObjectTimes(key === "big" ? big.gitdir : control.gitdir, 20));
    }
  }
  const medianUs = (times: number[]) => round(percentile([...times].sort((a, b) => a - b), 50) * 1000, 1);
  const objectDirs = {
    big: { ...objectDirBytes(big.gitdir), looseObjectWriteP50Us: medianUs(objectWrites.big) },
    control: { ...objectDirBytes(control.gitdir), looseObjectWriteP50Us: medianUs(objectWrites.control) },
  };

  progress("history: final pack, count and git fsck --strict");
  const finalPack = await packAll(big.store);
  await packAll(control.store);
  const finalDisk = {
    messages: big.messages,
    commits: await countCommits(big.gitdir),
    pack: finalPack,
    disk: diskUsage(big.gitdir),
    bytesPerMessage: 0,
  };
  finalDisk.bytesPerMessage = round(finalDisk.disk.bytes / finalDisk.messages, 1);
  for (const repo of [big, control]) {
    const committed = await countMessageFiles(repo.gitdir);
    if (committed !== repo.messages) throw new Error(`history: committed ${repo.messages} messages to ${repo.name} but git holds ${committed}`);
  }
  const check = await fsck(big.gitdir);

  return {
    settings: h,
    sequential: [young, old, ...busy],
    interleaved,
    flatness: {
      sequential: round(old.medianMs / young.medianMs, 2),
      interleaved: round(median("big") / median("control"), 2),
      busyDayVsFreshDay: round(median("busy") / median("big2"), 2),
    },
    build,
    objectDirs,
    historyDisk,
    finalDisk,
    fsck: check,
  };
};

// ---------------------------------------------------------------- the report

const fmt = (n: number, digits = 0) => n.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n: number) => (n >= 100 ? `${fmt(n, 0)} ms` : n >= 10 ? `${fmt(n, 1)} ms` : `${fmt(n, 2)} ms`);
const size = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${fmt(bytes / 1024 / 1024, 1)} MiB` : bytes >= 1024 ? `${fmt(bytes / 1024, 1)} KiB` : `${fmt(bytes)} B`;

const table = (head: string[], rows: string[][]) => {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")}`.trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
};

type Results = {
  machine: Awaited<ReturnType<typeof machine>>;
  server: Awaited<ReturnType<typeof benchServer>>;
  /** The same run with DURABILITY=process: no fsync. */
  relaxed: Awaited<ReturnType<typeof benchServer>>;
  naive: Awaited<ReturnType<typeof benchNaive>>;
  history: Awaited<ReturnType<typeof benchHistory>>;
  seconds: number;
};

const report = ({ machine: m, server: s, relaxed: r, naive: n, history: h, seconds }: Results) => {
  const out: string[] = [];
  const say = (line = "") => out.push(line);
  say("gitchat send-path benchmark");
  say("===========================");
  say(`machine: ${m.nproc} CPUs (nproc), ${m.cpuModel}, ${fmt(m.totalMemoryBytes / 1024 ** 3, 1)} GiB RAM, ${m.platform}`);
  say(`         Bun ${m.bunVersion}, ${m.gitVersion}; gitchat ${m.gitchatRevision}`);
  say(
    `         writing one loose git object (a new file) in ${m.tmpdir}: p50 ${fmt(m.looseObjectWriteUs.p50, 0)} us, ` +
      `p99 ${fmt(m.looseObjectWriteUs.p99, 0)} us at the start`,
  );
  if (SCALE !== 1) say(`NOTE: BENCH_SCALE=${SCALE}: counts are scaled down; these are not the reference figures.`);
  say(
    `load average before the run: ${m.loadAverageAtStart.join(", ")} (1, 5, 15 min); other work on the machine skews every figure.`,
  );
  say(`client and server share the machine; each message is ~${Math.round(LINES.reduce((a, l) => a + l.length, 0) / LINES.length)} characters.`);
  say();

  say("1-2. Sending: POST /messages (gitchat) vs git add + git commit per message (naive)");
  const row = (name: string, r: Summary, extra = "") => [
    name,
    fmt(r.messages),
    `${fmt(r.perSecond, 1)}/s`,
    ms(r.p50Ms),
    ms(r.p99Ms),
    ms(r.maxMs),
    extra,
  ];
  say(
    table(
      ["", "messages", "throughput", "p50", "p99", "max", "msgs/commit"],
      [
        row("gitchat, 1 client", s.sequential, fmt(s.sequential.messagesPerCommit, 2)),
        row(`gitchat, ${s.settings.clients} clients`, s.concurrent, fmt(s.concurrent.messagesPerCommit, 2)),
        row("gitchat DURABILITY=process, 1 client", r.sequential, fmt(r.sequential.messagesPerCommit, 2)),
        row(`gitchat DURABILITY=process, ${r.settings.clients} clients`, r.concurrent, fmt(r.concurrent.messagesPerCommit, 2)),
        row("naive, 1 client", n.sequential, "1.00"),
        row(`naive, ${n.settings.clients} clients`, n.concurrent, "1.00"),
      ],
    ),
  );
  say(
    `  gitchat / naive throughput: ${fmt(s.sequential.perSecond / n.sequential.perSecond, 1)}x with 1 client, ` +
      `${fmt(s.concurrent.perSecond / n.concurrent.perSecond, 1)}x with ${s.settings.clients}`,
  );
  say(
    `  fsync before every answer (DURABILITY=full, the default) costs: p50 ${ms(s.sequential.p50Ms)} vs ${ms(r.sequential.p50Ms)} with 1 client ` +
      `(${fmt(s.sequential.perSecond / r.sequential.perSecond, 2)}x the throughput without), ` +
      `${fmt(s.concurrent.perSecond / r.concurrent.perSecond, 2)}x with ${s.settings.clients} clients (group commit pays it once a commit).`,
  );
  say(`  every POST answered 201 with a git_hash; ${fmt(s.sent)} sent (${s.settings.warmup} of them warm-up), all found in git.`);
  say(`  gitchat group-commits: ${fmt(s.concurrent.commits)} commits for ${fmt(s.concurrent.messages)} messages at ${s.settings.clients} clients.`);
  say(`  naive latency includes waiting for the mutex; its ${n.settings.warmup} warm-up commits are not counted.`);
  say();

  say("3. Cost of a one-message commit (ChannelStore.commitMessages: no HTTP, no SQLite)");
  const singleRow = (r: SingleRow) => [
    r.label,
    fmt(r.historyMessagesBefore),
    fmt(r.dayMessagesBefore),
    ms(r.medianMs),
    ms(r.p99Ms),
    fmt(r.commitsPerSecond, 0),
    `${fmt(r.looseObjectP50Us, 0)} us`,
  ];
  const singleHead = ["", "history before", "day before", "median", "p99", "commits/s", "1 object"];
  say(`  a) one after the other, as the history grows (${h.settings.singles} commits a row, packed before each row):`);
  say(table(singleHead, h.sequential.map(singleRow)));
  say(`  b) each comparison again with its two cases in turn, 5 commits at a time, A B B A (${h.settings.singles} each;`);
  say(`     "history ~${h.settings.seed}" is a separate control repository):`);
  say(table(singleHead, [...h.interleaved.slice(0, 2).map(singleRow), ["", "", "", "", "", "", ""], ...h.interleaved.slice(2).map(singleRow)]));
  say(
    `  history ~${fmt(h.interleaved.find((r) => r.key === "big")!.historyMessagesBefore / 1000, 0)}k vs ~${h.settings.seed}, both on a fresh day: ${fmt(h.flatness.interleaved, 2)}x the median interleaved ` +
      `(${fmt(h.flatness.sequential, 2)}x one after the other; 1.00 = flat).`,
  );
  say("  \"1 object\": median time to write one loose object into a scratch directory just before the row, a point sample");
  say("  of this disk, whose file creation cost cycles here by up to 10x over tens of seconds. A commit creates ~7 files");
  say("  (1 blob, 5 trees, 1 commit), so rows far apart in time differ for that alone: compare the rows within b).");
  say(
    `  objects/xx directories average ${fmt(h.objectDirs.big.meanBytes / 1024, 1)} KiB in the big repository against ` +
      `${fmt(h.objectDirs.control.meanBytes / 1024, 1)} KiB in the control: up to ${fmt(h.build.peakLoose)} objects`,
  );
  say("  were loose at once during the build (background packing fell behind), and ext4 does not shrink a directory.");
  say(
    `  one loose object written into each repository's objects/, in turn: ${fmt(h.objectDirs.big.looseObjectWriteP50Us, 0)} us (big) ` +
      `against ${fmt(h.objectDirs.control.looseObjectWriteP50Us, 0)} us (control), median.`,
  );
  const busiest = h.interleaved.find((r) => r.key === "busy")!;
  say(
    `  the day, not the history, sets the cost: with ${fmt(busiest.dayMessagesBefore)} messages in today's directory a commit costs ` +
      `${fmt(h.flatness.busyDayVsFreshDay, 1)}x a fresh day's (that ~${fmt((busiest.dayMessagesBefore * 69) / 1024, 0)} KiB tree is written again by every commit).`,
  );
  say(
    `  building the history: ${fmt(h.build.commits)} commits of ${h.settings.perCommit} in ${fmt(h.build.seconds, 1)} s ` +
      `(${fmt(h.build.messagesPerSecond, 0)} messages/s with background packing); median commit of ${h.settings.perCommit} ` +
      `${ms(h.build.firstTenthMedianMs)} in the first tenth, ${ms(h.build.lastTenthMedianMs)} in the last.`,
  );
  say();

  say("4. Disk: apparent size (sum of st_size) of the repository, per message");
  const repoRows = s.repositories.map((r) => [
    `gitchat server ${r.path}`,
    fmt(r.messages),
    fmt(r.commits),
    size(r.disk.bytes),
    `${fmt(r.bytesPerMessage, 0)} B`,
    `${r.disk.packs} packs, ${r.disk.looseObjects} loose`,
  ]);
  say(
    table(
      ["", "messages", "commits", "size", "per message", "objects"],
      [
        ...repoRows,
        [
          "step 3 history (ChannelStore)",
          fmt(h.historyDisk.messages),
          fmt(h.historyDisk.commits),
          size(h.historyDisk.disk.bytes),
          `${fmt(h.historyDisk.bytesPerMessage, 0)} B`,
          `${h.historyDisk.disk.packs} packs, ${h.historyDisk.disk.looseObjects} loose`,
        ],
        [
          "  the same at the end (busy today)",
          fmt(h.finalDisk.messages),
          fmt(h.finalDisk.commits),
          size(h.finalDisk.disk.bytes),
          `${fmt(h.finalDisk.bytesPerMessage, 0)} B`,
          `${h.finalDisk.disk.packs} packs, ${h.finalDisk.disk.looseObjects} loose`,
        ],
        [
          "naive .git as git commit left it",
          fmt(n.messages),
          fmt(n.messages),
          size(n.disk.asLeft.bytes),
          `${fmt(n.disk.asLeftBytesPerMessage, 0)} B`,
          `${n.disk.asLeft.packs} packs, ${n.disk.asLeft.looseObjects} loose`,
        ],
        [
          "naive .git after git gc",
          fmt(n.messages),
          fmt(n.messages),
          size(n.disk.afterGc.bytes),
          `${fmt(n.disk.afterGcBytesPerMessage, 0)} B`,
          `${n.disk.afterGc.packs} packs, ${n.disk.afterGc.looseObjects} loose`,
        ],
      ],
    ),
  );
  say(
    `  allocated blocks are larger for loose objects: naive .git as left takes ${size(n.disk.asLeft.allocatedBytes)} of blocks ` +
      `for ${size(n.disk.asLeft.bytes)} of data (${fmt(n.disk.asLeft.looseObjects)} loose objects).`,
  );
  say(
    `  server: at the end of the load its channel held ${fmt(s.objects.atEndOfLoad.loose)} loose objects in ${s.objects.atEndOfLoad.packs} pack(s) ` +
      `(peak ${fmt(s.objects.peakLoose)}, sampled every second; PACK_THRESHOLD=${s.settings.packThreshold}).`,
  );
  for (const r of s.repositories) {
    say(
      `  server: SIGTERM exit ${s.stop.exitCode} after ${fmt(s.stop.seconds, 1)} s, leaving ${fmt(r.looseObjectsAfterStop)} loose objects; ` +
        `ChannelStore.pack() packed them in ${fmt(r.finalPack.seconds, 1)} s (${fmt(r.finalPack.objects / Math.max(r.finalPack.seconds, 0.001), 0)} objects/s).`,
    );
  }
  say(`  server data dir besides the repository (SQLite index, WAL, lock): ${size(s.otherDataDirBytes)}.`);
  say();

  say("git fsck --strict");
  const fsckLine = (name: string, f: Fsck) => {
    const verdict = f.ok ? (f.output ? "exit 0, with notes" : "ok, no complaints") : `FAILED (exit ${f.exitCode})`;
    say(`  ${name}: ${verdict} (${fmt(f.seconds, 1)} s)`);
    for (const line of f.output ? f.output.split("\n").slice(0, 20) : []) say(`    ${line}`);
  };
  for (const r of s.repositories) fsckLine(`gitchat server ${r.path}`, r.fsck);
  fsckLine("step 3 history (ChannelStore)", h.fsck);
  say();
  say(`whole run: ${fmt(seconds, 1)} s; raw figures in ${relative(process.cwd(), OUT_FILE) || OUT_FILE}`);
  return out.join("\n");
};

// ---------------------------------------------------------------- main

const main = async () => {
  const m = await machine();
  progress(`${m.nproc} CPUs, ${m.cpuModel}, Bun ${m.bunVersion}`);
  const server = await benchServer("full");
  const relaxed = await benchServer("process");
  const naive = await benchNaive();
  const history = await benchHistory();
  const seconds = (performance.now() - started) / 1000;
  const results: Results = { machine: m, server, relaxed, naive, history, seconds };

  const fsckOk = [...server.repositories, ...relaxed.repositories].every((r) => r.fsck.ok) && history.fsck.ok;
  mkdirSync(dirname(OUT_FILE), { recursive: true });
  writeFileSync(
    OUT_FILE,
    `${JSON.stringify(
      {
        benchmark: "send",
        finishedAt: new Date().toISOString(),
        settings: SETTINGS,
        ...results,
        seconds: round(seconds, 1),
        ratios: {
          throughputSequential: round(server.sequential.perSecond / naive.sequential.perSecond, 2),
          throughputConcurrent: round(server.concurrent.perSecond / naive.concurrent.perSecond, 2),
          fsyncCostSequential: round(server.sequential.perSecond / relaxed.sequential.perSecond, 2),
          fsyncCostConcurrent: round(server.concurrent.perSecond / relaxed.concurrent.perSecond, 2),
          commitHistory100kVs100: history.flatness.interleaved,
          commitHistory100kVs100Sequential: history.flatness.sequential,
          commitBusyDayVsFreshDay: history.flatness.busyDayVsFreshDay,
        },
        fsckOk,
      },
      null,
      1,
    )}\n`,
  );
  console.log(report(results));
  if (!fsckOk) throw new Error("git fsck --strict found problems (see above)");
};

let exitCode = 0;
try {
  await main();
} catch (error) {
  exitCode = 1;
  if (interrupted) {
    exitCode = 130;
    console.error("bench interrupted");
  } else {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (server) console.error(`server output:\n${server.output().slice(-4000)}`);
  }
} finally {
  await cleanup();
}
process.exit(exitCode);
