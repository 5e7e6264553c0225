/**
 * SIGTERM stops gitchat gracefully: no new requests, the ones in flight
 * answered (a send in flight gets its 201 and is in git), what GitHub lacks
 * pushed, exit 0, and one line that says so. Real processes throughout.
 */
import { afterAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { join } from "node:path";
import { runGit } from "../support/git.ts";
import { standInSettings, startGitHub } from "../support/github.ts";
import { startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const ALICE = "ghp_aliceShutdownToken000000000000000000";
const github = await startGitHub({ users: [{ login: "alice", token: ALICE }] });
afterAll(() => github.stop());

const until = async (check: () => boolean, what: string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
};

const filesOn = async (gitdir: string) => (await runGit(["--git-dir", gitdir, "ls-tree", "-r", "--name-only", "main"])).stdout;

test("a send in flight when SIGTERM arrives is answered 201 and is in git after a clean exit; new connections are refused", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  const port = Number(new URL(server.url).port);
  const socket = connect(port, "127.0.0.1");
  let received = "";
  socket.on("data", (chunk) => (received += chunk.toString()));
  const body = JSON.stringify({ content: "in flight at SIGTERM" });
  // The request's head now, its body only after SIGTERM: the server has it in hand (it says 100 Continue) when the signal comes.
  socket.write(
    `POST /messages HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
  );
  await until(() => received.includes("100 Continue"), "100 Continue");
  server.proc.kill("SIGTERM");
  await until(() => server.output().includes("SIGTERM: stopping"), "the shutdown to begin");
  expect(await fetch(server.url + "/health").then(() => "answered", () => "refused")).toBe("refused");
  socket.write(body);
  expect(await server.proc.exited).toBe(0);
  socket.destroy();

  expect(received).toContain("HTTP/1.1 201");
  const message = JSON.parse(received.slice(received.lastIndexOf("\r\n\r\n") + 4)) as { id: string; git_hash: string };
  const gitdir = join(dataDir, "repos", "local", "general.git");
  expect(await filesOn(gitdir)).toContain(`${message.id}.json`);
  expect((await runGit(["--git-dir", gitdir, "rev-parse", "main"])).stdout.trim()).toBe(message.git_hash);
  expect(server.output()).toMatch(/SIGTERM: stopped in \d+\.\d s: every request answered\n/);
}, 60_000);

test("a message sent just before SIGTERM is on the GitHub remote after the exit", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir, env: standInSettings(github, { token: ALICE }) });
  // The first sync at start-up done (it would push anything sent meanwhile): from now on a send waits for its debounced push.
  const synced = async () => {
    const channels = (await (await fetch(`${server.url}/repositories`)).json()) as { sync: { last_push_at: string | null } }[];
    return channels.every((c) => c.sync.last_push_at !== null);
  };
  for (let tries = 0; !(await synced()); tries++) {
    if (tries > 1000) throw new Error("the first sync never finished");
    await Bun.sleep(20);
  }
  const answer = await fetch(`${server.url}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content: "just before SIGTERM" }),
  });
  expect(answer.status).toBe(201);
  const { id } = (await answer.json()) as { id: string };
  expect(await server.stop()).toBe(0);
  expect(await filesOn(github.repoPath("alice", "chat"))).toContain(`${id}.json`);
  expect(server.output()).toMatch(/SIGTERM: stopped in \d+\.\d s: every request answered; (pushed 1 channel\(s\) to GitHub|GitHub had everything)\n/);
  expect(server.output()).not.toContain(ALICE);
}, 60_000);

test("an open live stream does not hold the server: it is closed, and the stop is clean", async () => {
  const server = await startServer({ dataDir: tempDir() });
  const stream = await fetch(`${server.url}/c/local/general/events`);
  const reader = stream.body!.getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toContain("retry:");
  expect(await server.stop()).toBe(0);
  expect((await reader.read()).done).toBe(true);
  expect(server.output()).toMatch(/SIGTERM: stopped in \d+\.\d s: every request answered\n/);
}, 60_000);

test("a push GitHub never answers does not hold the stop past 10 s: gitchat exits 1, naming the channel left unpushed", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir, env: standInSettings(github, { token: ALICE, name: "stalled" }) });
  const synced = async () => {
    const channels = (await (await fetch(`${server.url}/repositories`)).json()) as { sync: { last_push_at: string | null } }[];
    return channels.every((c) => c.sync.last_push_at !== null);
  };
  for (let tries = 0; !(await synced()); tries++) {
    if (tries > 1000) throw new Error("the first sync never finished");
    await Bun.sleep(20);
  }
  // From now on the remote takes a push and never answers it.
  const stall = github.tamper({ path: /git-receive-pack/, body: () => new ReadableStream({ start() {} }), times: Infinity });
  try {
    const answer = await fetch(`${server.url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: "GitHub will not get this one in time" }),
    });
    expect(answer.status).toBe(201);
    const { id } = (await answer.json()) as { id: string };
    expect(await server.stop()).toBe(1);
    expect(server.output()).toMatch(
      /SIGTERM: stopped after 10 s without finishing: (not yet pushed to GitHub: alice\/stalled \(kept in git here; the next start pushes them\)|a sync with GitHub still under way)\n/,
    );
    // Acknowledged, so in git here, whatever GitHub did.
    expect(await filesOn(join(dataDir, "repos", "alice", "stalled.git"))).toContain(`${id}.json`);
  } finally {
    stall.cancel();
  }
}, 60_000);
