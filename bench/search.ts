/**
 * bench/search.ts: GET /messages?q= over 100,000 messages (one a minute from
 * 2026-01-01, so about 69 days; five authors, one of them rare; every tenth
 * message holds a link, every seventh inline code, every tenth the word
 * "deploy", every thousandth "zebra"), one channel, through the in-process
 * app as an API client calls it. Each search asks for the newest 50
 * matches. The slow shapes are the ones that must read many rows to find 50:
 * an operator with no word (no full-text index to narrow it) whose matches
 * are rare or far back, read newest first until 50 are found.
 *
 *   bun bench/search.ts [messages]      (default 100000)
 *
 * Median and slowest of 30 requests each (after one not counted); raw figures in bench/out/search.json.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { openGitchat } from "../src/gitchat.ts";
import { commitMessages, load, median, round, sorted, writeOut } from "./lib.ts";

const COUNT = Number(process.argv[2] ?? 100_000);
const TIMES = 30;
const root = mkdtempSync(join(tmpdir(), "gitchat-bench-search-"));

const AUTHORS = ["ann", "bo", "cy", "di"];
const content = (n: number) =>
  [
    `message ${n}:`,
    n % 10 === 0 ? "the deploy went out" : "an ordinary line of chat",
    n % 10 === 3 ? `see https://example.com/${n}` : "",
    n % 7 === 0 ? "run `git log` first" : "",
    n % 1000 === 0 ? "zebra" : "",
  ]
    .filter(Boolean)
    .join(" ");

const SEARCHES = [
  "deploy",
  "zebra",
  '"deploy went out"',
  "from:ann",
  "from:rare",
  "has:link",
  "has:code",
  "after:2026-03-01",
  "before:2026-01-10",
  "deploy from:ann has:code",
  "deploy in:local/general after:2026-02-01 before:2026-02-10",
  "zebra from:bo",
];

try {
  const gitchat = await openGitchat(loadConfig({ DATA_DIR: root, RATE_LIMIT: "0" }), () => {});
  const channel = gitchat.repositories.resolve("local/general");
  const start = Date.parse("2026-01-01T00:00:00Z");
  const started = performance.now();
  for (let done = 0; done < COUNT; done += 500) {
    const batch = Array.from({ length: Math.min(500, COUNT - done) }, (_, i) => {
      const n = done + i;
      const at = start + n * 60_000;
      // One message in 10,000 is by "rare": a from: that must read the whole channel to fill a page.
      const login = n % 10_000 === 5 ? "rare" : AUTHORS[n % AUTHORS.length]!;
      return { id: Bun.randomUUIDv7("hex", at), author: login, author_id: `local:${login}`, content: content(n), type: "message", created_at: new Date(at).toISOString() };
    });
    await commitMessages(channel.store, batch, { name: "bench", email: "bench@gitchat.invalid", timestamp: start });
  }
  await channel.store.idle();
  await gitchat.messages.index(channel);
  console.log(`${COUNT} messages made in ${((performance.now() - started) / 1000).toFixed(1)} s; load ${load().join(" ")}`);
  const results: { q: string; found: number; median_ms: number; max_ms: number }[] = [];
  for (const q of SEARCHES) {
    const path = `/messages?limit=50&q=${encodeURIComponent(q)}`;
    const samples: number[] = [];
    let found = 0;
    for (let i = 0; i <= TIMES; i++) {
      const t0 = performance.now();
      const response = await gitchat.app.handle(new Request(`http://localhost${path}`));
      const body = (await response.json()) as unknown[];
      if (response.status !== 200) throw new Error(`${q}: ${response.status} ${JSON.stringify(body)}`);
      if (i > 0) samples.push(performance.now() - t0);
      found = body.length;
    }
    const result = { q, found, median_ms: round(median(samples), 2), max_ms: round(sorted(samples).at(-1)!, 2) };
    results.push(result);
    console.log(`${q.padEnd(60)} ${String(found).padStart(3)} found  median ${result.median_ms} ms  slowest ${result.max_ms} ms`);
  }
  await gitchat.close();
  writeOut("search", { messages: COUNT, times: TIMES, load: load(), results });
} finally {
  rmSync(root, { recursive: true, force: true });
}
