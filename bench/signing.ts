#!/usr/bin/env bun
/**
 * What signing costs a commit: `bun bench/signing.ts`.
 *
 * Two fresh repositories, one whose store signs every commit with a server
 * key (SigningKey, as `gitchat serve` makes it) and one that does not; the
 * same one-message `commitMessages` calls are timed in both, 5 at a time,
 * the order reversed every round (A B B A), so that a busy neighbour on the
 * machine costs both lanes alike. DURABILITY=process in both (no fsync): the
 * fsyncs of a commit are the same with and without a signature and would only
 * add noise. Also timed alone: one signature of a commit's bytes.
 *
 * Raw figures in bench/out/signing.json; temporary directories are removed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serializeCommit } from "../src/git/objects.ts";
import { SigningKey } from "../src/git/signing-key.ts";
import { ChannelStore } from "../src/git/store.ts";
import { commitMessages, load, median, percentile, round, scaled, sorted, writeOut } from "./lib.ts";

const COMMITS = scaled(4000, 100);
const CHUNK = 5;
const root = mkdtempSync(join(tmpdir(), "gitchat-bench-signing-"));

type Lane = { key: string; store: ChannelStore; times: number[] };

const main = async () => {
  const { key } = SigningKey.loadOrCreate(root, false);
  const signer = key.signer({ name: "gitchat", email: "gitchat@localhost" });
  const lanes: Lane[] = [
    { key: "signed", store: await ChannelStore.open(join(root, "signed.git"), { durability: "process", signer }), times: [] },
    { key: "unsigned", store: await ChannelStore.open(join(root, "unsigned.git"), { durability: "process" }), times: [] },
  ];
  let t = Date.now();
  const single = async (lane: Lane) => {
    const ms = t++;
    const message = { id: Bun.randomUUIDv7("hex", ms), author: "ann", content: "Deploy went out fine", type: "message", created_at: new Date(ms).toISOString() };
    const t0 = performance.now();
    await commitMessages(lane.store, [message], { name: "ann", email: "ann@gitchat.invalid", timestamp: ms });
    return performance.now() - t0;
  };
  for (const lane of lanes) for (let k = 0; k < 50; k++) await single(lane);
  const loadAtStart = load();
  for (let r = 0; r < COMMITS / CHUNK; r++) {
    for (const lane of r % 2 === 0 ? lanes : [...lanes].reverse()) for (let k = 0; k < CHUNK; k++) lane.times.push(await single(lane));
  }

  // One signature alone, of a commit's bytes as the builder signs them.
  const bytes = serializeCommit({
    tree: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    parents: ["4b825dc642cb6eb9a060e54bf8d69288fbee4904"],
    author: { name: "ann", email: "ann@gitchat.invalid", timestamp: t },
    committer: { name: "gitchat", email: "gitchat@localhost", timestamp: t },
    message: "ann: Deploy went out fine",
  });
  const signTimes: number[] = [];
  for (let k = 0; k < 5000; k++) {
    const t0 = performance.now();
    key.sign(bytes);
    signTimes.push(performance.now() - t0);
  }
  for (const lane of lanes) await lane.store.idle();

  const rows = lanes.map((lane) => {
    const s = sorted(lane.times);
    return { key: lane.key, commits: s.length, medianMs: round(percentile(s, 50), 4), p90Ms: round(percentile(s, 90), 4), p99Ms: round(percentile(s, 99), 4) };
  });
  const [signed, unsigned] = rows as [(typeof rows)[0], (typeof rows)[0]];
  const results = {
    commitsPerLane: COMMITS,
    durability: "process",
    loadAverageAtStart: loadAtStart,
    lanes: rows,
    signingCostMedianMs: round(signed.medianMs - unsigned.medianMs, 4),
    signOnlyMedianMs: round(median(signTimes), 4),
    loadAverageAtEnd: load(),
  };
  const file = writeOut("signing", results);
  console.log(`gitchat: a one-message commit, signed and unsigned (DURABILITY=process, A/B interleaved, load ${loadAtStart.join(" ")})`);
  for (const r of rows) console.log(`  ${r.key.padEnd(9)} median ${r.medianMs.toFixed(3)} ms  p90 ${r.p90Ms.toFixed(3)} ms  p99 ${r.p99Ms.toFixed(3)} ms  (${r.commits} commits)`);
  console.log(`  signing adds ${results.signingCostMedianMs.toFixed(3)} ms a commit (median to median); one signature alone: ${results.signOnlyMedianMs.toFixed(3)} ms`);
  console.log(`  raw figures: ${file}`);
};

try {
  await main();
} finally {
  rmSync(root, { recursive: true, force: true });
}
