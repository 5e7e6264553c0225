/**
 * bench/load.ts: a bounded load test. gitchat runs as its own process on
 * 127.0.0.1; this process holds 200 clients polling as the page does (every
 * 2 s, after their cursor) and 20 sending, for LOAD_SECONDS (default 45, at
 * most 60). It reports throughput, latency, errors and the server's memory,
 * and exits 1 on any error, any message a poller missed or saw twice, or
 * memory that keeps growing.
 *
 *   bun bench/load.ts [seconds]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../test/support/server.ts";

const SECONDS = Math.min(Number(process.argv[2] ?? process.env.LOAD_SECONDS ?? 45), Number(process.env.LOAD_MAX_SECONDS ?? 60));
const POLLERS = 200;
const SENDERS = 20;
const dataDir = mkdtempSync(join(tmpdir(), "gitchat-bench-load-"));
const server = await startServer({
  dataDir,
  env: { RATE_LIMIT: "0" },
  command: process.env.LOAD_SMOL ? [process.execPath, "--smol", join(import.meta.dir, "..", "src", "cli", "main.ts"), "serve"] : undefined,
});

const rss = () => {
  const status = readFileSync(`/proc/${server.proc.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
};
const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
};
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

let stop = false;
const errors: string[] = [];
const sendLatency: number[] = [];
const pollLatency: number[] = [];
const sent = new Set<string>();
const seenBy = Array.from({ length: POLLERS }, () => new Map<string, number>());

const poller = async (index: number) => {
  let cursor = Number((await fetch(`${server.url}/messages?limit=1`)).headers.get("x-next-cursor"));
  // Spread the pollers over the 2 s, as page loads would be.
  await Bun.sleep(Math.random() * 2000);
  while (!stop) {
    const started = performance.now();
    try {
      const response = await fetch(`${server.url}/messages?repository=local/general&after=${cursor}&limit=1000`);
      if (response.status !== 200) errors.push(`poll ${response.status}`);
      const messages = (await response.json()) as { id: string }[];
      cursor = Number(response.headers.get("x-next-cursor"));
      for (const m of messages) seenBy[index]!.set(m.id, (seenBy[index]!.get(m.id) ?? 0) + 1);
    } catch (error) {
      errors.push(`poll: ${(error as Error).message}`);
    }
    pollLatency.push(performance.now() - started);
    await Bun.sleep(2000);
  }
};

const sender = async (index: number) => {
  for (let i = 0; !stop; i++) {
    const started = performance.now();
    try {
      const response = await fetch(`${server.url}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ content: `sender ${index} message ${i}: an ordinary line of chat` }),
      });
      if (response.status !== 201) errors.push(`send ${response.status}`);
      else sent.add(((await response.json()) as { id: string }).id);
    } catch (error) {
      errors.push(`send: ${(error as Error).message}`);
    }
    sendLatency.push(performance.now() - started);
    await Bun.sleep(50 + Math.random() * 100);
  }
};

const memory: { second: number; rss: number }[] = [];
const started = Date.now();
const sampler = setInterval(() => memory.push({ second: Math.round((Date.now() - started) / 1000), rss: rss() }), 1000);
const clients = [...Array.from({ length: POLLERS }, (_, i) => poller(i)), ...Array.from({ length: SENDERS }, (_, i) => sender(i))];
await Bun.sleep(SECONDS * 1000);
stop = true;
await Promise.all(clients);
clearInterval(sampler);
const elapsed = (Date.now() - started) / 1000;
const twice = seenBy.filter((seen) => [...seen.values()].some((n) => n > 1)).length;
// The garbage collector frees in its own time, so a single sample says little: the
// floor of each 10-second window (what is left after a collection) shows a leak.
const floors: number[] = [];
for (let from = 0; from < SECONDS; from += 10) {
  const window = memory.filter((m) => m.second > from && m.second <= from + 10).map((m) => m.rss);
  if (window.length) floors.push(Math.min(...window));
}
// Caches fill and today's tree grows over the first half: compare the middle to the end.
const early = floors[Math.floor(floors.length / 2)] ?? 0;
const late = floors.at(-1) ?? 0;
const growth = early ? (late - early) / early : 0;
const exitCode = await server.stop();
rmSync(dataDir, { recursive: true, force: true });

console.log(`gitchat load test: ${POLLERS} clients polling every 2 s and ${SENDERS} sending, ${elapsed.toFixed(0)} s, both on 127.0.0.1`);
console.log(`  sent ${sent.size} messages (${(sent.size / elapsed).toFixed(0)}/s): p50 ${pct(sendLatency, 0.5).toFixed(1)} ms, p99 ${pct(sendLatency, 0.99).toFixed(1)} ms`);
console.log(`  ${pollLatency.length} polls (${(pollLatency.length / elapsed).toFixed(0)}/s): p50 ${pct(pollLatency, 0.5).toFixed(1)} ms, p99 ${pct(pollLatency, 0.99).toFixed(1)} ms`);
console.log(`  errors: ${errors.length}${errors.length ? ` (${[...new Set(errors)].slice(0, 5).join("; ")})` : ""}; pollers that saw a message twice: ${twice}`);
console.log(`  server memory (RSS), lowest of each 10 s: ${floors.map(mb).join(", ")} (${(growth * 100).toFixed(0)}% from the middle window to the last); peak ${mb(Math.max(...memory.map((m) => m.rss)))}`);
console.log(`  server exit on SIGTERM: ${exitCode}`);
if (errors.length > 0 || twice > 0 || growth > 0.5 || exitCode !== 0) process.exit(1);
