#!/usr/bin/env bun
/**
 * A one-message commit into a day that already holds a million messages,
 * against one into a fresh day: `bun bench/busy-day.ts` (BENCH_SCALE scales
 * the million).
 *
 * 1. `git fast-import` builds the busy day: N messages all dated today, 1,000
 *    a commit, in the segmented layout (messages/YYYY/MM/DD/000/, 001, ...),
 *    each file exactly as `encodeMessage` writes it.
 * 2. `ChannelStore.open` opens it (DURABILITY=full, the default: fsynced) and
 *    one-message `commitMessages` calls are timed, three lanes in turn, 5
 *    commits at a time, the order reversed every round (A B C C B A):
 *    - busy: today, after the N messages;
 *    - fresh day, same repository: yesterday, which holds nothing;
 *    - fresh day, control: a new repository holding nothing.
 * 3. The busy day grows by further commits of 1,000 through the store, and the
 *    process's RSS is sampled as it does: memory should stay flat.
 *
 * Raw figures in bench/out/busy-day.json; temporary directories are removed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Signature } from "../src/git/objects.ts";
import { ChannelStore } from "../src/git/store.ts";
import {
  commitMessageFor,
  commitMessages,
  countMessageFiles,
  encodeMessage,
  git,
  GIT_ENV,
  load,
  median,
  messagePath,
  mib,
  percentile,
  progress,
  round,
  SCALE,
  scaled,
  SEGMENT_FILES,
  sorted,
  writeOut,
  type MessageRecord,
} from "./lib.ts";

const N = scaled(1_000_000, SEGMENT_FILES);
const PER_COMMIT = 1000;
const SINGLES = 300;
const CHUNK = 5;
const GROW_COMMITS = scaled(200, 20);
const DAY_MS = 86_400_000;
const LINE = "Deploy went out fine, error rate is back to normal on the graph";

const root = mkdtempSync(join(tmpdir(), "gitchat-bench-busy-day-"));
const cleanup = () => rmSync(root, { recursive: true, force: true });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => (cleanup(), process.exit(130)));

const now = Date.now();
const today = Math.floor(now / DAY_MS) * DAY_MS;
const record = (ms: number, content = LINE): MessageRecord => ({
  id: Bun.randomUUIDv7("hex", ms),
  author: "bench",
  content,
  type: "message",
  created_at: new Date(ms).toISOString(),
});
const signature = (ms: number): Signature => ({ name: "bench", email: "bench@gitchat.invalid", timestamp: ms });

/** 1. The busy day, through git fast-import: the whole of today before `now`, N messages evenly apart. */
const buildBusyDay = async (gitdir: string) => {
  await git(["init", "-q", "--bare", "-b", "main", gitdir]);
  const spacing = Math.max(1, Math.floor((now - 60_000 - today) / N));
  const proc = Bun.spawn(["git", `--git-dir=${gitdir}`, "fast-import", "--quiet"], { env: GIT_ENV, stdin: "pipe", stdout: "ignore", stderr: "pipe" });
  const encoder = new TextEncoder();
  const begin = performance.now();
  for (let c = 0; c * PER_COMMIT < N; c++) {
    const records = Array.from({ length: Math.min(PER_COMMIT, N - c * PER_COMMIT) }, (_, j) => record(today + (c * PER_COMMIT + j) * spacing));
    const message = encoder.encode(commitMessageFor(records));
    const when = Math.floor(Date.parse(records.at(-1)!.created_at) / 1000);
    const parts: (string | Uint8Array)[] = [`commit refs/heads/main\ncommitter bench <bench@gitchat.invalid> ${when} +0000\ndata ${message.length}\n`, message, "\n"];
    records.forEach((m, j) => {
      const segment = Math.floor((c * PER_COMMIT + j) / SEGMENT_FILES);
      const body = encodeMessage(m);
      parts.push(`M 100644 inline ${messagePath(m, segment)}\ndata ${body.length}\n`, body, "\n");
    });
    for (const part of parts) proc.stdin.write(part);
    await proc.stdin.flush();
    if ((c + 1) % 100 === 0) progress(`fast-import: ${((c + 1) * PER_COMMIT).toLocaleString("en")} messages`);
  }
  await proc.stdin.end();
  const code = await proc.exited;
  if (code !== 0) throw new Error(`git fast-import failed (exit ${code}): ${await new Response(proc.stderr).text()}`);
  return { seconds: round((performance.now() - begin) / 1000, 1), spacingMs: spacing };
};

type Lane = { key: string; label: string; store: ChannelStore; next: () => number; times: number[] };

const main = async () => {
  const busyDir = join(root, "busy.git");
  progress(`fast-import: ${N.toLocaleString("en")} messages dated today, ${PER_COMMIT} a commit`);
  const build = await buildBusyDay(busyDir);
  progress(`fast-import: done in ${build.seconds} s; counting with git ls-tree`);
  const imported = await countMessageFiles(busyDir);
  if (imported !== N) throw new Error(`fast-import wrote ${imported} message files, not ${N}`);

  const rss = () => process.memoryUsage().rss;
  const rssBeforeOpen = rss();
  const openBegin = performance.now();
  const busy = await ChannelStore.open(busyDir);
  const control = await ChannelStore.open(join(root, "control.git"));
  const openSeconds = round((performance.now() - openBegin) / 1000, 3);

  // Single messages a millisecond apart after the busy day's last one (and on yesterday, and in the control).
  let t = now - 30_000;
  let y = today - DAY_MS;
  let c = today;
  const lanes: Lane[] = [
    { key: "busy", label: `today holds ${N.toLocaleString("en")}`, store: busy, next: () => t++, times: [] },
    { key: "freshSameRepo", label: "fresh day, same repository", store: busy, next: () => y++, times: [] },
    { key: "freshControl", label: "fresh day, new repository", store: control, next: () => c++, times: [] },
  ];
  const single = async (lane: Lane) => {
    const ms = lane.next();
    const t0 = performance.now();
    await commitMessages(lane.store, [record(ms)], signature(ms));
    return performance.now() - t0;
  };
  // Warm-up (not timed): code paths, and each lane's trees read once.
  for (const lane of lanes) for (let k = 0; k < 20; k++) await single(lane);

  progress(`interleaved: ${SINGLES} one-message commits a lane, ${CHUNK} at a time, order reversed every round`);
  const rssDuring: number[] = [];
  for (let r = 0; r < SINGLES / CHUNK; r++) {
    const order = r % 2 === 0 ? lanes : [...lanes].reverse();
    for (const lane of order) for (let k = 0; k < CHUNK; k++) lane.times.push(await single(lane));
    rssDuring.push(rss());
  }
  const summary = (lane: Lane) => {
    const s = sorted(lane.times);
    return { key: lane.key, label: lane.label, commits: s.length, medianMs: round(percentile(s, 50)), p99Ms: round(percentile(s, 99)), maxMs: round(s.at(-1)!) };
  };
  const rows = lanes.map(summary);
  const [busyRow, sameRow, controlRow] = rows as [ReturnType<typeof summary>, ReturnType<typeof summary>, ReturnType<typeof summary>];

  // 3. The busy day grows; memory is sampled every 10 commits (after a full collection too, to see what is kept).
  progress(`growing the busy day by ${GROW_COMMITS} commits of ${PER_COMMIT}`);
  const growth: { dayMessages: number; rssMiB: number; heapMiB: number; commitMs: number }[] = [];
  let inDay = N + 20 + SINGLES;
  for (let k = 0; k < GROW_COMMITS; k++) {
    const records = Array.from({ length: PER_COMMIT }, () => record(t++));
    const t0 = performance.now();
    await commitMessages(busy, records, signature(t));
    const commitMs = performance.now() - t0;
    inDay += PER_COMMIT;
    if (k % 10 === 9 || k === 0) {
      Bun.gc(true);
      growth.push({ dayMessages: inDay, rssMiB: mib(rss()), heapMiB: mib(process.memoryUsage().heapUsed), commitMs: round(commitMs) });
    }
  }
  await busy.idle();
  await control.idle();
  // Yesterday's lane wrote into the same repository.
  const expected = inDay + 20 + SINGLES;
  const inGit = await countMessageFiles(busyDir);
  if (inGit !== expected) throw new Error(`the busy repository holds ${inGit} message files, not ${expected}`);

  const ratioSame = round(busyRow.medianMs / sameRow.medianMs, 2);
  const ratioControl = round(busyRow.medianMs / controlRow.medianMs, 2);
  const half = Math.floor(growth.length / 2);
  const results = {
    messagesInDay: N,
    scale: SCALE,
    loadAverageAtStart: load(),
    build: { ...build, tool: "git fast-import", messagesPerSecond: round(N / build.seconds, 0) },
    openSeconds,
    rssBeforeOpenMiB: mib(rssBeforeOpen),
    interleaved: rows,
    ratios: { busyVsFreshSameRepo: ratioSame, busyVsFreshControl: ratioControl, target: 1.5 },
    rssDuringSinglesMiB: { first: mib(rssDuring[0]!), median: mib(median(rssDuring)), last: mib(rssDuring.at(-1)!) },
    growth,
    rssGrowthSecondHalf: growth.length > 2 ? round((growth.at(-1)!.rssMiB - growth[half]!.rssMiB) / growth[half]!.rssMiB, 3) : 0,
    loadAverageAtEnd: load(),
    samplesMs: Object.fromEntries(lanes.map((l) => [l.key, l.times.map((x) => round(x))])),
  };
  const file = writeOut("busy-day", results);

  const line = (r: typeof busyRow) => `  ${r.label.padEnd(32)} median ${r.medianMs.toFixed(2).padStart(7)} ms  p99 ${r.p99Ms.toFixed(2).padStart(7)} ms  max ${r.maxMs.toFixed(1).padStart(7)} ms`;
  console.log(`gitchat: a one-message commit into a busy day (DURABILITY=full, fsynced)${SCALE !== 1 ? `  [BENCH_SCALE=${SCALE}]` : ""}`);
  console.log(`  load average at start ${results.loadAverageAtStart.join(", ")}; the machine is shared with other work`);
  console.log(`  busy day: ${N.toLocaleString("en")} messages written by git fast-import in ${build.seconds} s; ChannelStore.open ${openSeconds} s`);
  console.log(`  ${SINGLES} commits a lane, interleaved ${CHUNK} at a time:`);
  for (const r of rows) console.log(line(r));
  console.log(`  busy / fresh day: ${ratioSame}x (same repository), ${ratioControl}x (new repository); target at most 1.5x`);
  console.log(`  RSS during the singles: ${results.rssDuringSinglesMiB.first} -> ${results.rssDuringSinglesMiB.last} MiB (median ${results.rssDuringSinglesMiB.median})`);
  console.log(`  RSS (after a full GC) as the day grows by ${GROW_COMMITS} commits of ${PER_COMMIT}:`);
  console.log(`    ${growth.map((g) => `${(g.dayMessages / 1000).toFixed(0)}k: ${g.rssMiB}`).join(", ")} MiB`);
  console.log(`    second half growth ${(results.rssGrowthSecondHalf * 100).toFixed(1)}%; commit of 1,000: ${growth.at(-1)!.commitMs} ms at the end`);
  console.log(`  raw figures: ${file}`);
};

try {
  await main();
} finally {
  cleanup();
}
