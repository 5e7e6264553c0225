import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { call } from "../support/app.ts";
import { fsck, runGit } from "../support/git.ts";
import { startGitHub } from "../support/github.ts";
import { ALICE, eventually, send, syncedGitchat } from "./support.ts";

/** An HTTP proxy in front of the stand-in that can cut one server off while the others go on. */
const cuttableProxy = (target: string) => {
  let cut = false;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      if (cut) return new Response("cut off", { status: 503 });
      const url = new URL(request.url);
      const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
      const answer = await fetch(`${target}${url.pathname}${url.search}`, { method: request.method, headers: request.headers, body });
      const headers = new Headers(answer.headers);
      headers.delete("content-encoding");
      headers.delete("content-length");
      return new Response(await answer.arrayBuffer(), { status: answer.status, headers });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, setCut: (value: boolean) => (cut = value), stop: () => server.stop(true) };
};

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

test("three servers sending at once, one cut off for a while, end with the same messages, each once, all on the remote", async () => {
  const github = await startGitHub({ users: [{ login: "alice", token: ALICE }] });
  cleanup.push(() => github.stop());
  const proxy = cuttableProxy(github.url);
  cleanup.push(() => proxy.stop());
  const servers = [
    await syncedGitchat(github, { interval: "1" }),
    await syncedGitchat(github, { interval: "1" }),
    await syncedGitchat(
      { ...github, apiUrl: github.apiUrl.replace(github.url, proxy.url), gitUrl: github.gitUrl.replace(github.url, proxy.url) },
      { interval: "1" },
    ),
  ];
  for (const s of servers) cleanup.push(() => s.close());
  for (const s of servers) s.sync!.start();

  const sent = new Set<string>();
  const PER_CLIENT = 25;
  const writers = servers.flatMap((s, n) =>
    Array.from({ length: 3 }, async (_, client) => {
      for (let i = 0; i < PER_CLIENT; i++) {
        if (n === 2 && client === 0 && i === 5) proxy.setCut(true);
        if (n === 2 && client === 0 && i === 20) {
          // Keep it cut until it has felt the outage (a push or pull failed), then restore.
          await eventually(() => servers[2]!.lines.some((l) => l.includes("sync failed")));
          proxy.setCut(false);
        }
        sent.add((await send(s, `server ${n} client ${client} message ${i}`)).id);
        await Bun.sleep(Math.random() * 15);
      }
    }),
  );
  await Promise.all(writers);
  proxy.setCut(false);
  expect(sent.size).toBe(3 * 3 * PER_CLIENT);

  // Everyone settles: push, then pull what the others pushed.
  await eventually(async () => {
    for (const s of servers) await call(s, "POST", "/push");
    for (const s of servers) await call(s, "POST", "/pull");
    const lists = await Promise.all(servers.map(async (s) => (await call(s, "GET", "/messages?limit=1000")).body as { id: string }[]));
    return lists.every((list) => list.length === sent.size);
  }, 30_000);

  type Listed = { id: string; content: string; cursor: number; git_hash: string };
  const lists = await Promise.all(servers.map(async (s) => (await call(s, "GET", "/messages?limit=1000")).body as Listed[]));
  // Cursors are each server's own arrival order; everything else is the same everywhere.
  const withoutCursor = (list: Listed[]) => list.map(({ cursor: _cursor, ...rest }) => rest);
  for (const list of lists) {
    expect(new Set(list.map((m) => m.id)).size).toBe(list.length);
    expect(list.map((m) => m.id).sort()).toEqual([...sent].sort());
    expect(withoutCursor(list)).toEqual(withoutCursor(lists[0]!));
  }
  const remote = await runGit(["--git-dir", github.repoPath("alice", "chat"), "ls-tree", "-r", "--name-only", "main", "messages"]);
  const remoteIds = remote.stdout.trim().split("\n").map((p) => p.split("/").pop()!.replace(".json", ""));
  expect(remoteIds.sort()).toEqual([...sent].sort());
  expect((await fsck(github.repoPath("alice", "chat"))).code).toBe(0);
  for (const s of servers) {
    const check = await fsck(join(s.dataDir, "repos", "alice", "chat.git"));
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
  }
  // The cut-off server saw the outage and recovered from it.
  expect(servers[2]!.lines.some((l) => l.includes("sync failed"))).toBe(true);
}, 60_000);
