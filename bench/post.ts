#!/usr/bin/env bun
/**
 * `POST /messages` at 50 concurrent clients against a real `gitchat serve`,
 * driven by autocannon in its own process (so the client is not the
 * bottleneck), beside `GET /health` on the same server in the same run as the
 * reference: `bun bench/post.ts`.
 *
 * For DURABILITY=full (the default: fsync before every answer), then
 * DURABILITY=process: a short warm-up of each route, then rounds of
 * ROUND_SECONDS each in the order health, asset, post, post, asset, health (A B B A), twice.
 * Reports messages/s, p50 and p99 as medians over the rounds, and the ratio to
 * /health's requests/s. /health checks the index and every repository, at a
 * cost that does not grow with the store (src/repositories/health.ts); a
 * second reference runs in the same rounds: GET /assets/app.css, a response
 * from memory (the HTTP stack alone). Afterwards the server is stopped and the message files
 * are counted with the git CLI: every POST autocannon saw answered 2xx must be
 * in git (a request cut off at the end of a round may have been committed
 * without its answer being counted, so git may hold a few more).
 *
 * BENCH_SCALE shortens the rounds. Raw figures in bench/out/post.json.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type RunningServer } from "../test/support/server.ts";
import { countMessageFiles, load, median, progress, round, run, SCALE, scaled, writeOut } from "./lib.ts";

const CLIENTS = 50;
const ROUND_SECONDS = scaled(15, 4);
const WARMUP_SECONDS = 3;
const AUTOCANNON = join(import.meta.dir, "..", "node_modules", "autocannon", "autocannon.js");
const BODY = JSON.stringify({ content: "Deploy went out fine, error rate is back to normal on the graph" });

type Cannon = { rps: number; p50: number; p99: number; ok: number; non2xx: number; errors: number; timeouts: number; seconds: number };

let server: RunningServer | undefined;
const temps: string[] = [];
const cleanup = async () => {
  if (server && server.proc.exitCode === null) {
    server.proc.kill("SIGKILL");
    await server.proc.exited;
  }
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
};
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void cleanup().finally(() => process.exit(130)));

/** One autocannon run, as its own node process; its --json summary. */
type Route = "post" | "health" | "asset";
const cannon = async (url: string, route: Route, seconds: number): Promise<Cannon> => {
  const args =
    route === "post"
      ? ["-m", "POST", "-H", "content-type=application/json", "-b", BODY, `${url}/messages`]
      : [`${url}${route === "health" ? "/health" : "/assets/app.css"}`];
  const result = await run(["node", AUTOCANNON, "-c", String(CLIENTS), "-d", String(seconds), "-j", ...args]);
  if (result.code !== 0) throw new Error(`autocannon failed (exit ${result.code}): ${result.stderr.slice(-2000)}`);
  const r = JSON.parse(result.stdout) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    "2xx": number;
    non2xx: number;
    errors: number;
    timeouts: number;
    duration: number;
  };
  return { rps: r["2xx"] / r.duration, p50: r.latency.p50, p99: r.latency.p99, ok: r["2xx"], non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, seconds: r.duration };
};

const benchDurability = async (durability: "full" | "process") => {
  const dataDir = mkdtempSync(join(tmpdir(), "gitchat-bench-post-"));
  temps.push(dataDir);
  server = await startServer({ dataDir, env: { DURABILITY: durability, RATE_LIMIT: "0" } });
  progress(`DURABILITY=${durability}: server at ${server.url}; warm-up`);
  const warm = { health: await cannon(server.url, "health", WARMUP_SECONDS), post: await cannon(server.url, "post", WARMUP_SECONDS) };
  const rounds: { route: Route; result: Cannon }[] = [];
  for (const route of ["health", "asset", "post", "post", "asset", "health", "health", "asset", "post", "post", "asset", "health"] as const) {
    const result = await cannon(server.url, route, ROUND_SECONDS);
    progress(`DURABILITY=${durability}: ${route}: ${round(result.rps, 0)}/s, p50 ${result.p50} ms, p99 ${result.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}`);
    rounds.push({ route, result });
  }
  const exitCode = await server.stop();
  server = undefined;
  const repos = join(dataDir, "repos");
  let inGit = 0;
  for (const owner of readdirSync(repos)) {
    for (const name of readdirSync(join(repos, owner)).filter((n) => n.endsWith(".git"))) inGit += await countMessageFiles(join(repos, owner, name));
  }
  const posts = rounds.filter((r) => r.route === "post").map((r) => r.result);
  const healths = rounds.filter((r) => r.route === "health").map((r) => r.result);
  const assets = rounds.filter((r) => r.route === "asset").map((r) => r.result);
  const acknowledged = warm.post.ok + posts.reduce((a, r) => a + r.ok, 0);
  const summary = {
    durability,
    post: { perSecond: round(median(posts.map((r) => r.rps)), 1), p50Ms: median(posts.map((r) => r.p50)), p99Ms: median(posts.map((r) => r.p99)) },
    health: { perSecond: round(median(healths.map((r) => r.rps)), 1), p50Ms: median(healths.map((r) => r.p50)), p99Ms: median(healths.map((r) => r.p99)) },
    asset: { perSecond: round(median(assets.map((r) => r.rps)), 1), p50Ms: median(assets.map((r) => r.p50)), p99Ms: median(assets.map((r) => r.p99)) },
    ratio: 0,
    ratioToAsset: 0,
    acknowledged,
    inGit,
    failures: rounds.reduce((a, r) => a + r.result.non2xx + r.result.errors + r.result.timeouts, 0),
    exitCode,
    warm,
    rounds,
  };
  summary.ratio = round(summary.post.perSecond / summary.health.perSecond, 3);
  summary.ratioToAsset = round(summary.post.perSecond / summary.asset.perSecond, 3);
  if (inGit < acknowledged) throw new Error(`DURABILITY=${durability}: ${acknowledged} POSTs were answered 2xx but git holds ${inGit} messages`);
  return summary;
};

try {
  const loadAtStart = load();
  const full = await benchDurability("full");
  const relaxed = await benchDurability("process");
  const file = writeOut("post", { clients: CLIENTS, roundSeconds: ROUND_SECONDS, loadAtStart, loadAtEnd: load(), full, process: relaxed });
  console.log(`gitchat: POST /messages at ${CLIENTS} clients (autocannon, its own process) beside GET /health, same server, same run${SCALE !== 1 ? `  [BENCH_SCALE=${SCALE}]` : ""}`);
  console.log(`  ${ROUND_SECONDS} s rounds, health/asset/post/post/asset/health twice, medians; load average at start ${loadAtStart.join(", ")} (the machine is shared)`);
  for (const s of [full, relaxed]) {
    console.log(
      `  DURABILITY=${s.durability.padEnd(7)} POST ${s.post.perSecond.toFixed(0).padStart(6)}/s p50 ${s.post.p50Ms} ms p99 ${s.post.p99Ms} ms | ` +
        `/health ${s.health.perSecond.toFixed(0).padStart(6)}/s p50 ${s.health.p50Ms} ms p99 ${s.health.p99Ms} ms | ratio ${(s.ratio * 100).toFixed(1)}% (target >= 12%)`,
    );
    console.log(`    GET /assets/app.css (served from memory) ${s.asset.perSecond.toFixed(0)}/s p50 ${s.asset.p50Ms} ms p99 ${s.asset.p99Ms} ms: POST is ${(s.ratioToAsset * 100).toFixed(1)}% of it`);
    console.log(`    warm-up (empty channel): /health ${s.warm.health.rps.toFixed(0)}/s, POST ${s.warm.post.rps.toFixed(0)}/s`);
    console.log(`    ${s.acknowledged} POSTs answered 2xx, ${s.inGit} messages in git (git ls-tree); failures ${s.failures}; exit on SIGTERM ${s.exitCode}`);
  }
  console.log(`  raw figures: ${file}`);
} finally {
  await cleanup();
}
