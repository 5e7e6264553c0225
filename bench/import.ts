/**
 * bench/import.ts: `gitchat import slack` of 100,000 Slack messages (a
 * workspace export made here: 20 people, one channel, 1,000 messages a day),
 * as its own process, in messages a second; beside sending messages through
 * the API in the same run (POST /messages in-process, 50 at a time, group
 * commit and fsync on: the fastest way a client can put messages in).
 *
 *   bun bench/import.ts        (BENCH_SCALE=0.1 for 10,000)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strToU8, zipSync } from "fflate";
import { loadConfig } from "../src/config.ts";
import { openGitchat } from "../src/gitchat.ts";
import { load, run, scaled, writeOut } from "./lib.ts";

const COUNT = scaled(100_000, 100);
const SENT = Math.min(COUNT, scaled(10_000, 100));
const root = mkdtempSync(join(tmpdir(), "gitchat-bench-import-"));
const LOCAL = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", ACCESS_TOKEN: "" };

try {
  const users = Array.from({ length: 20 }, (_, i) => ({ id: `U${String(i).padStart(4, "0")}`, name: `person${i}`, profile: { display_name: `Person ${i}` } }));
  const days = new Map<string, object[]>();
  const start = Date.parse("2024-01-01T08:00:00Z");
  for (let i = 0; i < COUNT; i++) {
    const ms = start + Math.floor(i / 1000) * 86_400_000 + (i % 1000) * 30_000;
    const day = new Date(ms).toISOString().slice(0, 10);
    const list = days.get(day) ?? [];
    list.push({ type: "message", user: users[i % 20]!.id, text: `message ${i}: an *ordinary* line of chat with <https://example.com/${i}|a link>`, ts: `${Math.floor(ms / 1000)}.${String(i % 1000).padStart(6, "0")}` });
    days.set(day, list);
  }
  const files: Record<string, Uint8Array> = {
    "users.json": strToU8(JSON.stringify(users)),
    "channels.json": strToU8(JSON.stringify([{ id: "C0001", name: "general" }])),
  };
  for (const [day, list] of days) files[`general/${day}.json`] = strToU8(JSON.stringify(list));
  const zip = join(root, "export.zip");
  writeFileSync(zip, zipSync(files));

  const importDir = join(root, "import");
  const started = performance.now();
  const result = await run([process.execPath, "src/cli/main.ts", "import", "slack", zip], { env: { ...process.env, ...LOCAL, DATA_DIR: importDir } });
  const importSeconds = (performance.now() - started) / 1000;
  if (result.code !== 0) throw new Error(`import failed: ${result.stderr}`);

  const sendDir = join(root, "send");
  const gitchat = await openGitchat(loadConfig({ ...LOCAL, DATA_DIR: sendDir, RATE_LIMIT: "0" }), () => {});
  let next = 0;
  const sendStarted = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < SENT) {
        const n = next++;
        const response = await gitchat.app.handle(
          new Request("http://localhost/messages", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content: `message ${n}: an **ordinary** line of chat` }) }),
        );
        if (response.status !== 201) throw new Error(`send answered ${response.status}`);
      }
    }),
  );
  const sendSeconds = (performance.now() - sendStarted) / 1000;
  await gitchat.close();

  const importRate = COUNT / importSeconds;
  const sendRate = SENT / sendSeconds;
  console.log(
    `import slack: ${COUNT.toLocaleString("en")} messages in ${importSeconds.toFixed(1)} s (${Math.round(importRate).toLocaleString("en")}/s, whole process); ` +
      `POST /messages, 50 at a time: ${SENT.toLocaleString("en")} in ${sendSeconds.toFixed(1)} s (${Math.round(sendRate).toLocaleString("en")}/s); ratio ${(importRate / sendRate).toFixed(1)}x`,
  );
  writeOut("import", { load: load(), messages: COUNT, importSeconds, sent: SENT, sendSeconds, importRate, sendRate });
} finally {
  rmSync(root, { recursive: true, force: true });
}
