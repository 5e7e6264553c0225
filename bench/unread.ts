/**
 * bench/unread.ts: what the unread counts cost a sidebar. The sidebar asks
 * for them every 5 seconds (GET /ui/channels), and GET /unread gives the same:
 * one count per channel the reader sees, stopped at UNREAD_CAP (100), and for a channel
 * with unread messages a second pass over the newest 100 of them looking
 * for mentions. This fills CHANNELS channels with PER_CHANNEL messages each
 * (every 20th mentions the reader), then times GET /unread for a reader who
 * has read nothing (the worst case: every channel at the cap), for one who
 * has read everything, and the sidebar fragment.
 *
 *   bun bench/unread.ts [channels] [messages per channel]   (default 100 2000)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { openGitchat, type Gitchat } from "../src/gitchat.ts";
import { commitMessages, load, median, scaled, writeOut } from "./lib.ts";

const CHANNELS = Number(process.argv[2] ?? 100);
const PER_CHANNEL = Number(process.argv[3] ?? scaled(2000, 200));
const root = mkdtempSync(join(tmpdir(), "gitchat-bench-unread-"));
const operator = { operator: true } as const;

const fill = async (gitchat: Gitchat) => {
  const start = Date.parse("2026-01-01T00:00:00Z");
  for (let c = 0; c < CHANNELS; c++) {
    const channel = await gitchat.channelAccess.create(operator, "bench", `channel-${String(c).padStart(3, "0")}`, false);
    const batch = Array.from({ length: PER_CHANNEL }, (_, i) => {
      const at = start + i * 60_000 + c;
      const content = i % 20 === 0 ? `@reader look at ${i}` : `line ${i} of channel ${c}`;
      return { id: Bun.randomUUIDv7("hex", at), author: "writer", author_id: "local:writer", content, type: "message", created_at: new Date(at).toISOString() };
    });
    await commitMessages(channel.store, batch, { name: "writer", email: "writer@gitchat.invalid", timestamp: start });
    await channel.store.idle();
    await gitchat.messages.index(channel);
  }
};

const time = async (gitchat: Gitchat, path: string, headers: Record<string, string>, times = 30) => {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    const response = await gitchat.app.handle(new Request(`http://localhost${path}`, { headers }));
    await response.text();
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    samples.push(performance.now() - started);
  }
  return Math.round(median(samples) * 100) / 100;
};

try {
  // The accounts are made before the messages (whose ids are from 2026-01-01): every message is unread to both.
  const clock = Date.parse("2025-12-31T00:00:00Z");
  const gitchat = await openGitchat(loadConfig({ DATA_DIR: join(root, "data"), RATE_LIMIT: "0" }), () => {}, { now: () => clock });
  gitchat.accounts.add(operator, { login: "reader" });
  gitchat.accounts.add(operator, { login: "caught-up" });
  const started = performance.now();
  await fill(gitchat);
  const filled = ((performance.now() - started) / 1000).toFixed(1);
  const reader = { authorization: `Bearer ${gitchat.accounts.createToken(operator, "reader").token}` };
  const caughtUp = { authorization: `Bearer ${gitchat.accounts.createToken(operator, "caught-up").token}` };
  const account = { account: gitchat.accounts.get("caught-up")! };
  for (const channel of gitchat.channelAccess.list(operator)) {
    const newest = gitchat.messages.list({ viewer: operator, repository: channel.fullName, limit: 1 })[0];
    if (newest) gitchat.unread.markRead({ viewer: account, name: "caught-up" }, channel.fullName, newest.id);
  }
  const all = (await (await gitchat.app.handle(new Request("http://localhost/unread", { headers: reader }))).json()) as { total: number; channels: { mentions: number }[] };
  const results = {
    channels: CHANNELS,
    perChannel: PER_CHANNEL,
    unread: all.total,
    mentions: all.channels.reduce((n, c) => n + c.mentions, 0),
    unreadNothingReadMs: await time(gitchat, "/unread", reader),
    unreadAllReadMs: await time(gitchat, "/unread", caughtUp),
    sidebarNothingReadMs: await time(gitchat, "/ui/channels?current=bench/channel-000", reader),
    load: load(),
  };
  const rows = [
    `GET /unread, nothing read (${results.unread} unread, ${results.mentions} mentions): ${results.unreadNothingReadMs} ms`,
    `GET /unread, everything read: ${results.unreadAllReadMs} ms`,
    `GET /ui/channels (the sidebar), nothing read: ${results.sidebarNothingReadMs} ms`,
    `load average ${results.load.join(" ")}; raw figures in ${writeOut("unread", results)}`,
  ];
  await gitchat.close();
  console.log(`${CHANNELS} channels x ${PER_CHANNEL} messages (made in ${filled} s); median server time, in-process, 30 requests each:`);
  for (const row of rows) console.log(`  ${row}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
