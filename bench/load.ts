/**
 * bench/load.ts: a bounded load test. gitchat runs as its own process on
 * 127.0.0.1; this process holds 200 page clients and 20 senders for
 * LOAD_SECONDS (default 45, at most 60). Each page client does what the page
 * does (src/views/page.ts, public/app.js): loads /c/local/general, polls the
 * HTML fragment `/c/local/general/messages?after=<cursor>` every 2 s (taking
 * the next cursor from the poller it returns), and refreshes the channel list
 * `/ui/channels?current=...&version=...` every 5 s; the first 10 (the
 * server's limit of live streams per client) also hold the SSE stream
 * `/c/local/general/events`, as the page does beside its poller.
 *
 * At the end the senders stop, every poller polls until it has caught up,
 * and every stream is given a few seconds: each message a sender was answered
 * 201 for must have been seen by every page client (missed), and no poll or
 * stream may deliver a message twice. It reports throughput, latency, errors
 * and the server's memory (median and lowest of each 10 s), and exits 1 on
 * any error, missed or repeated message, or memory that keeps growing.
 *
 *   bun bench/load.ts [seconds]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../test/support/server.ts";
import { median, mib, rssOf, writeOut } from "./lib.ts";

const SECONDS = Math.min(Number(process.argv[2] ?? process.env.LOAD_SECONDS ?? 45), Number(process.env.LOAD_MAX_SECONDS ?? 60));
const CLIENTS = 200;
const STREAMS = 10;
const SENDERS = 20;
const CHANNEL = "/c/local/general";
const dataDir = mkdtempSync(join(tmpdir(), "gitchat-bench-load-"));
const server = await startServer({
  dataDir,
  env: { RATE_LIMIT: "0" },
  command: process.env.LOAD_SMOL ? [process.execPath, "--smol", join(import.meta.dir, "..", "src", "cli", "main.ts"), "serve"] : undefined,
});

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
};

let stop = false;
/** Resolved when every sender has had its last answer: then the pollers catch up. */
const sendersDone = Promise.withResolvers<void>();
const errors: string[] = [];
const sendLatency: number[] = [];
const pollLatency: number[] = [];
const listLatency: number[] = [];
const sent = new Set<string>();
/** What each page client saw, by the way it arrived: repeats within one way are errors (the page drops the overlap between its poller and its stream). */
const seen = Array.from({ length: CLIENTS }, () => ({ poll: new Map<string, number>(), stream: new Map<string, number>() }));
const ids = (html: string) => [...html.matchAll(/data-id="([0-9a-f-]{36})"/g)].map((m) => m[1]!);
const note = (counts: Map<string, number>, html: string) => {
  for (const id of ids(html)) counts.set(id, (counts.get(id) ?? 0) + 1);
};

const stream = async (index: number, after: number, signal: AbortSignal) => {
  try {
    const response = await fetch(`${server.url}${CHANNEL}/events?after=${after}`, { signal });
    if (response.status !== 200 || !response.body) return void errors.push(`stream ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      const events = buffer.split("\n\n");
      buffer = events.pop()!;
      for (const event of events) note(seen[index]!.stream, event);
    }
  } catch (error) {
    if (!signal.aborted) errors.push(`stream: ${(error as Error).message}`);
  }
};

const client = async (index: number, streamSignal: AbortSignal) => {
  // The page load: the messages so far, the poller's cursor and the stream's.
  const page = await (await fetch(`${server.url}${CHANNEL}`)).text();
  let cursor = Number(/messages\?after=(\d+)/.exec(page)?.[1]);
  let version = /version=([0-9a-f]+)/.exec(page)?.[1] ?? "";
  if (!Number.isSafeInteger(cursor)) throw new Error("the page has no poller");
  const streaming = index < STREAMS ? stream(index, Number(/events\?after=(\d+)/.exec(page)?.[1]), streamSignal) : undefined;
  const poll = async () => {
    const started = performance.now();
    const response = await fetch(`${server.url}${CHANNEL}/messages?after=${cursor}`);
    const html = await response.text();
    pollLatency.push(performance.now() - started);
    if (response.status !== 200) return void errors.push(`poll ${response.status}`);
    const next = Number(/messages\?after=(\d+)/.exec(html)?.[1]);
    if (!Number.isSafeInteger(next)) return void errors.push("poll: no poller in the fragment");
    note(seen[index]!.poll, html);
    const caughtUp = next === cursor;
    cursor = next;
    return caughtUp;
  };
  // Spread the page loads over the 2 s, as people's would be.
  await Bun.sleep(Math.random() * 2000);
  let lastList = performance.now();
  while (!stop) {
    try {
      await poll();
      if (performance.now() - lastList >= 5000) {
        lastList = performance.now();
        const started = performance.now();
        const response = await fetch(`${server.url}/ui/channels?current=local/general&version=${version}`);
        const html = await response.text();
        listLatency.push(performance.now() - started);
        if (response.status === 200) version = /version=([0-9a-f]+)/.exec(html)?.[1] ?? version;
        else if (response.status !== 204) errors.push(`channel list ${response.status}`);
      }
    } catch (error) {
      errors.push(`poll: ${(error as Error).message}`);
    }
    await Bun.sleep(2000);
  }
  // Caught up: once the senders have stopped, polls until one brings nothing new.
  await sendersDone.promise;
  while (!(await poll())) {}
  // Wrapped: an async function returning the stream's promise would wait for the stream to end.
  return { streaming };
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
const sampler = setInterval(() => memory.push({ second: Math.round((Date.now() - started) / 1000), rss: rssOf(server.proc.pid) }), 1000);
const streams = new AbortController();
const clients = Array.from({ length: CLIENTS }, (_, i) => client(i, streams.signal));
const senders = Array.from({ length: SENDERS }, (_, i) => sender(i));
await Bun.sleep(SECONDS * 1000);
stop = true;
await Promise.all(senders);
clearInterval(sampler);
const elapsed = (Date.now() - started) / 1000;
sendersDone.resolve();
const streaming = (await Promise.all(clients)).map((c) => c.streaming);
// The streams push as messages are committed: a few seconds to deliver the last ones.
const deadline = Date.now() + 10_000;
const streamMissing = () => seen.slice(0, STREAMS).reduce((a, s) => a + [...sent].filter((id) => !s.stream.has(id)).length, 0);
while (streamMissing() > 0 && Date.now() < deadline) await Bun.sleep(200);
streams.abort();
await Promise.all(streaming);

const missedPoll = seen.map((s) => [...sent].filter((id) => !s.poll.has(id)).length);
const missedStream = seen.slice(0, STREAMS).map((s) => [...sent].filter((id) => !s.stream.has(id)).length);
const missed = missedPoll.reduce((a, b) => a + b, 0) + missedStream.reduce((a, b) => a + b, 0);
const clientsMissing = missedPoll.filter((n) => n > 0).length + missedStream.filter((n) => n > 0).length;
const twice = seen.filter((s) => [...s.poll.values(), ...s.stream.values()].some((n) => n > 1)).length;

// The garbage collector frees in its own time: per 10-second window, the median
// (what the server typically holds) and the lowest (what is left after a collection, which shows a leak).
const windows: { from: number; median: number; lowest: number }[] = [];
for (let from = 0; from < SECONDS; from += 10) {
  const window = memory.filter((m) => m.second > from && m.second <= from + 10).map((m) => m.rss);
  if (window.length) windows.push({ from, median: median(window), lowest: Math.min(...window) });
}
// Caches fill and today's tree grows over the first half: compare the middle to the end.
const early = windows[Math.floor(windows.length / 2)]?.lowest ?? 0;
const late = windows.at(-1)?.lowest ?? 0;
const growth = early ? (late - early) / early : 0;
const exitCode = await server.stop();
rmSync(dataDir, { recursive: true, force: true });

const results = {
  seconds: elapsed,
  clients: CLIENTS,
  streams: STREAMS,
  senders: SENDERS,
  sent: sent.size,
  send: { perSecond: sent.size / elapsed, p50Ms: pct(sendLatency, 0.5), p99Ms: pct(sendLatency, 0.99) },
  polls: { count: pollLatency.length, perSecond: pollLatency.length / elapsed, p50Ms: pct(pollLatency, 0.5), p99Ms: pct(pollLatency, 0.99) },
  channelList: { count: listLatency.length, p50Ms: pct(listLatency, 0.5), p99Ms: pct(listLatency, 0.99) },
  errors: errors.length,
  errorKinds: [...new Set(errors)].slice(0, 10),
  missed,
  clientsMissing,
  clientsThatSawARepeat: twice,
  rssMiB: { median: mib(median(memory.map((m) => m.rss))), peak: mib(Math.max(...memory.map((m) => m.rss))), windows: windows.map((w) => ({ from: w.from, median: mib(w.median), lowest: mib(w.lowest) })) },
  growth,
  exitCode,
};
writeOut("load", results);
console.log(`gitchat load test: ${CLIENTS} page clients (fragment poll every 2 s, channel list every 5 s, ${STREAMS} with an SSE stream) and ${SENDERS} sending, ${elapsed.toFixed(0)} s, on 127.0.0.1`);
console.log(`  sent ${sent.size} messages (${results.send.perSecond.toFixed(0)}/s): p50 ${results.send.p50Ms.toFixed(1)} ms, p99 ${results.send.p99Ms.toFixed(1)} ms`);
console.log(`  ${pollLatency.length} fragment polls (${results.polls.perSecond.toFixed(0)}/s): p50 ${results.polls.p50Ms.toFixed(1)} ms, p99 ${results.polls.p99Ms.toFixed(1)} ms; ${listLatency.length} channel list refreshes: p50 ${results.channelList.p50Ms.toFixed(1)} ms, p99 ${results.channelList.p99Ms.toFixed(1)} ms`);
console.log(`  errors: ${errors.length}${errors.length ? ` (${results.errorKinds.slice(0, 5).join("; ")})` : ""}`);
console.log(`  missed: ${missed} (message, client) pairs over ${clientsMissing} of ${CLIENTS + STREAMS} polls and streams; clients that got a message twice from one route: ${twice}`);
console.log(`  server memory (RSS): median ${results.rssMiB.median} MiB, peak ${results.rssMiB.peak} MiB; per 10 s median/lowest: ${windows.map((w) => `${mib(w.median)}/${mib(w.lowest)}`).join(", ")} MiB (${(growth * 100).toFixed(0)}% lowest, middle window to last)`);
console.log(`  server exit on SIGTERM: ${exitCode}`);
if (errors.length > 0 || missed > 0 || twice > 0 || growth > 0.5 || exitCode !== 0) process.exit(1);
