/**
 * `gitchat send` and `gitchat tail`, run as child processes: against a real
 * server process that owns the data directory, and on the data directory
 * itself when none runs.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { CLI, ROOT, runCli, startServer, type RunningServer } from "../support/server.ts";
import { runGit } from "../support/git.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "a-token-for-the-terminal-1234";
const LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S+: .*$/;

/** The settings that point the CLI at a running server. */
const serverEnv = (server: RunningServer) => ({ PORT: new URL(server.url).port, ACCESS_TOKEN: TOKEN });

/** Messages in git's history of a channel: every message file's content, read with the git CLI. */
const inGit = async (dataDir: string, channel = "local/general") => {
  const gitdir = join(dataDir, "repos", `${channel}.git`);
  const files = (await runGit(["--git-dir", gitdir, "ls-tree", "-r", "--name-only", "main"])).stdout.split("\n").filter((f) => f.endsWith(".json"));
  const contents: string[] = [];
  for (const file of files) contents.push((JSON.parse((await runGit(["--git-dir", gitdir, "show", `main:${file}`])).stdout) as { content: string }).content);
  return contents.sort();
};

/** A long-running `gitchat tail -f`, whose output is read as it comes. */
const follow = (dataDir: string, args: string[], env: Record<string, string> = {}) => {
  const proc = Bun.spawn([process.execPath, CLI, "tail", "-f", ...args], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  let err = "";
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of proc.stdout as unknown as AsyncIterable<Uint8Array>) out += decoder.decode(chunk);
  })();
  void (async () => {
    for await (const chunk of proc.stderr as unknown as AsyncIterable<Uint8Array>) err += decoder.decode(chunk);
  })();
  return {
    /** Waits until the output holds `text` (or fails after a generous while, showing what came). */
    until: async (text: string, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!out.includes(text)) {
        if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`tail -f never printed ${JSON.stringify(text)}; it printed:\n${out}\n${err}`);
        await Bun.sleep(25);
      }
      return out;
    },
    /** What it said on stderr (a lost live stream, say). */
    errors: () => err,
    stop: async () => {
      proc.kill("SIGINT");
      await proc.exited;
    },
  };
};

test("without a server, send commits to the data directory and tail prints the last messages, one a line", async () => {
  const dataDir = tempDir();
  for (const text of ["one", "two", "three"]) expect((await runCli(["send", text], { dataDir })).code).toBe(0);
  expect(await inGit(dataDir)).toEqual(["one", "three", "two"]);
  const tail = await runCli(["tail", "-n", "2"], { dataDir });
  expect(tail.code).toBe(0);
  const lines = tail.stdout.trimEnd().split("\n");
  expect(lines.map((l) => l.replace(/^\S+ /, ""))).toEqual(["local: two", "local: three"]);
  for (const line of lines) expect(line).toMatch(LINE);
});

test("send reads the text from stdin when none is given, and tail keeps a multi-line message on one line", async () => {
  const dataDir = tempDir();
  const sent = await runCli(["send"], { dataDir, stdin: "from a pipe\nsecond line\n" });
  expect(sent.code).toBe(0);
  expect(await inGit(dataDir)).toEqual(["from a pipe\nsecond line"]);
  expect((await runCli(["tail"], { dataDir })).stdout).toEndWith(" local: from a pipe ⏎ second line\n");
});

test("tail shows control characters in a message as escapes, never sends them to the terminal", async () => {
  const dataDir = tempDir();
  expect((await runCli(["send", "\x1b[2J\x1b]0;owned\x07cleared"], { dataDir })).code).toBe(0);
  const tail = await runCli(["tail"], { dataDir });
  expect(tail.stdout).toEndWith(" local: \\u001b[2J\\u001b]0;owned\\u0007cleared\n");
});

test("empty text is refused with exit 2, an unknown channel with exit 1 and one line; nothing is stored", async () => {
  const dataDir = tempDir();
  expect((await runCli(["send", "first"], { dataDir })).code).toBe(0);
  const empty = await runCli(["send", "   "], { dataDir });
  expect(empty.code).toBe(2);
  expect(empty.stderr).toStartWith("gitchat send: the text is empty");
  const piped = await runCli(["send"], { dataDir, stdin: "\n" });
  expect(piped.code).toBe(2);
  const unknown = await runCli(["send", "--channel", "nobody/here", "hello"], { dataDir });
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toBe("gitchat: repository nobody/here does not exist; create it with POST /repositories\n");
  const tailUnknown = await runCli(["tail", "-c", "nobody/here"], { dataDir });
  expect({ code: tailUnknown.code, lines: tailUnknown.stderr.trimEnd().split("\n").length }).toEqual({ code: 1, lines: 1 });
  expect(await inGit(dataDir)).toEqual(["first"]);
});

test("with a server running, send and tail go through it with ACCESS_TOKEN, and tail -f follows its live stream", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  try {
    const env = serverEnv(server);
    const sent = await runCli(["send", "through", "the", "server"], { dataDir, env });
    expect(sent.code).toBe(0);
    const listed = (await (await fetch(`${server.url}/messages`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { content: string }[];
    expect(listed.map((m) => m.content)).toEqual(["through the server"]);
    // Without ACCESS_TOKEN the CLI still goes through the server, as its operator, with the
    // control secret the server wrote into the data directory (DATA_DIR/control.json, 0600).
    const tailed = await runCli(["tail"], { dataDir, env: { PORT: env.PORT } });
    expect({ code: tailed.code, said: tailed.stdout.includes("local: through the server") }).toEqual({ code: 0, said: true });

    const tail = follow(dataDir, ["-n", "5"], env);
    try {
      await tail.until("local: through the server\n");
      const answer = await fetch(`${server.url}/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ content: "live from the API" }),
      });
      expect(answer.status).toBe(201);
      const out = await tail.until("local: live from the API\n");
      expect(out.trimEnd().split("\n").map((l) => l.replace(/^\S+ /, ""))).toEqual(["local: through the server", "local: live from the API"]);
      // Followed on the live stream, which never failed over to polling.
      expect(tail.errors()).toBe("");
    } finally {
      await tail.stop();
    }
  } finally {
    expect(await server.stop()).toBe(0);
  }
  expect(await inGit(dataDir)).toEqual(["live from the API", "through the server"]);
}, 60_000);

test("without a server, tail -f prints what a later gitchat send commits", async () => {
  const dataDir = tempDir();
  expect((await runCli(["send", "before"], { dataDir })).code).toBe(0);
  const tail = follow(dataDir, []);
  try {
    await tail.until("local: before\n");
    // tail -f holds no lock: a send (or a server) can still open the directory.
    expect((await runCli(["send", "after"], { dataDir })).code).toBe(0);
    await tail.until("local: after\n");
  } finally {
    await tail.stop();
  }
}, 60_000);

test("send --reply-to puts a reply in a thread; tail -f prints an edit and a delete as they happen, a reaction not at all", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  const api = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  try {
    const env = serverEnv(server);
    expect((await runCli(["send", "deploy at 5"], { dataDir, env })).code).toBe(0);
    const tail = follow(dataDir, ["--ids"], env);
    try {
      const first = await tail.until("local: deploy at 5\n");
      const id = first.trim().split(" ")[0]!;
      const replied = await runCli(["send", "--reply-to", id, "on it"], { dataDir, env });
      expect(replied.code).toBe(0);
      await tail.until("local (reply): on it\n");
      expect((await api("PUT", `/messages/${id}/reactions/${encodeURIComponent("👍")}`)).status).toBe(200);
      expect((await api("PATCH", `/messages/${id}`, { content: "deploy at 6" })).status).toBe(200);
      await tail.until("local: deploy at 6 (edited)\n");
      expect((await api("DELETE", `/messages/${id}`)).status).toBe(200);
      const out = await tail.until("local: (message deleted)\n");
      expect(out.trimEnd().split("\n").map((l) => l.replace(/^\S+ \S+ /, ""))).toEqual([
        "local: deploy at 5",
        "local (reply): on it",
        "local: deploy at 6 (edited)",
        "local: (message deleted)",
      ]);
    } finally {
      await tail.stop();
    }
  } finally {
    expect(await server.stop()).toBe(0);
  }
}, 60_000);
