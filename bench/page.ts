/**
 * bench/page.ts: the chat page of a channel holding 100,000 messages. The
 * page renders a window (the newest 50) and loads older ones 50 at a time,
 * so its cost should not follow the size of the channel: this measures the
 * page, a page of older messages from deep in the history, and a poll, at
 * 100 messages and at 100,000. Messages are Markdown (bold, inline code, a
 * link; every tenth a highlighted code block), rendered on the server: the
 * first page renders its 50 messages (cold), later ones find them rendered
 * (warm); the last line says what rendering one message costs.
 *
 *   bun bench/page.ts [messages]      (default 100000)
 */
import { commitMessages } from "../src/messages/layout.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { openGitchat, type Gitchat } from "../src/gitchat.ts";
import { renderMessage } from "../views/markdown.ts";

const BIG = Number(process.argv[2] ?? 100_000);
const root = mkdtempSync(join(tmpdir(), "gitchat-bench-page-"));

/** A line of chat in Markdown; every tenth holds a code block to highlight. */
const chat = (n: number) =>
  n % 10 === 0
    ? `message ${n}: the fix\n\`\`\`js\nconst retry = (n) => fetch(url).catch(() => retry(n - 1)); // ${n}\n\`\`\``
    : `message ${n}: an **ordinary** line of chat with \`code\` and https://example.com/${n}`;

const fill = async (gitchat: Gitchat, count: number) => {
  const channel = gitchat.repositories.resolve("local/general");
  const start = Date.parse("2026-01-01T00:00:00Z");
  for (let done = 0; done < count; done += 500) {
    const batch = Array.from({ length: Math.min(500, count - done) }, (_, i) => {
      const at = start + (done + i) * 60_000;
      return { id: Bun.randomUUIDv7("hex", at), author: "bench", content: chat(done + i), type: "message", created_at: new Date(at).toISOString() };
    });
    await commitMessages(channel.store, batch, { name: "bench", email: "bench@gitchat.invalid", timestamp: start });
  }
  await channel.store.idle();
  await gitchat.messages.index(channel);
};

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const measure = async (gitchat: Gitchat, path: string, times = 50) => {
  const samples: number[] = [];
  let bytes = 0;
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    const response = await gitchat.app.handle(new Request(`http://localhost${path}`));
    const text = await response.text();
    samples.push(performance.now() - started);
    bytes = text.length;
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
  }
  const first = Math.round(samples[0]! * 100) / 100;
  return { ms: Math.round(median(samples) * 100) / 100, first, bytes };
};

try {
  const rows: string[] = [];
  for (const count of [100, BIG]) {
    const dir = join(root, String(count));
    const gitchat = await openGitchat(loadConfig({ DATA_DIR: dir, RATE_LIMIT: "0" }), () => {});
    const started = performance.now();
    await fill(gitchat, count);
    const filled = ((performance.now() - started) / 1000).toFixed(1);
    const deep = gitchat.messages.list({ viewer: { operator: true }, repository: "local/general", limit: 1000 })[0]!.id;
    const cursor = gitchat.messages.latestCursor();
    const page = await measure(gitchat, "/c/local/general");
    const older = await measure(gitchat, `/c/local/general/messages?before=${deep}`);
    const poll = await measure(gitchat, `/c/local/general/messages?after=${cursor}`);
    rows.push(
      `${String(count).padStart(7)} messages (made in ${filled} s): page ${page.ms} ms (first, rendering 50: ${page.first} ms; ${page.bytes} bytes), ` +
        `50 older ${older.ms} ms, empty poll ${poll.ms} ms`,
    );
    await gitchat.close();
  }
  console.log("median server time, in-process, 50 requests each:");
  for (const row of rows) console.log(row);
  // What rendering costs, by itself: 2,000 messages never rendered before, then the same again (cached).
  const messages = Array.from({ length: 2_000 }, (_, n) => ({ id: `render-${n}`, content: chat(n), type: "message" }));
  const timed = () => {
    const started = performance.now();
    for (const m of messages) renderMessage(m);
    return ((performance.now() - started) * 1000) / messages.length;
  };
  const cold = timed();
  const warm = timed();
  console.log(`rendering one message: ${cold.toFixed(1)} us the first time, ${warm.toFixed(2)} us after (cached)`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
