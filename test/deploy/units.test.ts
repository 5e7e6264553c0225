/**
 * The systemd units of docs/ (see docs/deploy.md): systemd itself reads them
 * without a complaint, and the command line each one starts is one gitchat
 * accepts and runs.
 */
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALICE } from "../sync/support.ts";
import { standInSettings, startGitHub } from "../support/github.ts";
import { CLI, ROOT, runCli, startServer } from "../support/server.ts";
import { runGit } from "../support/git.ts";
import { tempDir } from "../support/tmp.ts";

const DOCS = join(ROOT, "docs");
const BINARY = "/usr/local/bin/gitchat";
const analyze = Bun.which("systemd-analyze");

/** The arguments after the binary in a unit's ExecStart=. */
const execStart = (unit: string) => {
  const line = readFileSync(join(DOCS, unit), "utf8").split("\n").find((l) => l.startsWith("ExecStart="));
  const [binary, ...args] = line!.slice("ExecStart=".length).trim().split(/\s+/);
  expect(binary).toBe(BINARY);
  return args;
};

test.skipIf(!analyze)(
  `systemd-analyze verify reads the service, the push job and its timer without a warning${analyze ? "" : " (skipped: systemd-analyze is not installed on this machine, so the units were not checked)"}`,
  async () => {
    // systemd checks that ExecStart's program exists: a copy points at an executable that does.
    const dir = tempDir();
    const units = ["gitchat.service", "gitchat-push.service", "gitchat-push.timer"];
    for (const unit of units) {
      copyFileSync(join(DOCS, unit), join(dir, unit));
      writeFileSync(join(dir, unit), readFileSync(join(dir, unit), "utf8").replaceAll(BINARY, process.execPath));
    }
    const proc = Bun.spawn([analyze!, "verify", ...units], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, output: stdout + stderr }).toEqual({ code: 0, output: "" });
  },
);

test("the service's ExecStart is a command line gitchat runs: it serves, and stops cleanly on SIGTERM", async () => {
  const args = execStart("gitchat.service");
  const dataDir = tempDir();
  const server = await startServer({ dataDir, command: [process.execPath, CLI, ...args] });
  expect((await fetch(`${server.url}/health`)).status).toBe(200);
  expect(await server.stop()).toBe(0);
}, 60_000);

const github = await startGitHub({ users: [{ login: "alice", token: ALICE }] });
afterAll(() => github.stop());

test("the push job's ExecStart is a command line gitchat runs: it pushes every channel and exits 0", async () => {
  const args = execStart("gitchat-push.service");
  const pushed = await runCli(args, { dataDir: tempDir(), env: standInSettings(github, { token: ALICE }) });
  expect({ code: pushed.code, stdout: pushed.stdout }).toEqual({ code: 0, stdout: "ok     alice/chat: already in sync\n" });
}, 60_000);

test("the push job hands the work to the running service, which needs ACCESS_TOKEN: the job sends it", async () => {
  const env = { ...standInSettings(github, { token: ALICE, name: "handed" }), ACCESS_TOKEN: "the-service-access-token-1234" };
  const dataDir = tempDir();
  const server = await startServer({ dataDir, env });
  try {
    const sent = await fetch(`${server.url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${env.ACCESS_TOKEN}` },
      body: JSON.stringify({ content: "pushed by the timer" }),
    });
    expect(sent.status).toBe(201);
    const pushed = await runCli(execStart("gitchat-push.service"), { dataDir, env: { ...env, PORT: new URL(server.url).port } });
    expect({ code: pushed.code, stdout: pushed.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^ok     alice\/handed: (pushed 1 commit\(s\)|already in sync)\n$/) });
    const remote = await runGit(["--git-dir", github.repoPath("alice", "handed"), "ls-tree", "-r", "--name-only", "main"]);
    expect(remote.stdout).toContain(`${((await sent.json()) as { id: string }).id}.json`);
  } finally {
    expect(await server.stop()).toBe(0);
  }
}, 60_000);

const strace = Bun.which("strace");

/** The system calls a `SystemCallFilter=` value allows, its @groups expanded as this machine's systemd defines them. */
const allowedCalls = async (filter: string) => {
  const proc = Bun.spawn([analyze!, "syscall-filter"], { stdout: "pipe", stderr: "ignore" });
  const groups = new Map<string, string[]>();
  let current: string[] = [];
  for (const line of (await new Response(proc.stdout).text()).split("\n")) {
    if (line.startsWith("@")) groups.set(line.trim(), (current = []));
    else if (/^\s+[@a-z_0-9]/.test(line)) current.push(line.trim().split(/\s/)[0]!);
  }
  const expand = (item: string): string[] => (item.startsWith("@") ? (groups.get(item) ?? []).flatMap(expand) : [item]);
  return new Set(filter.split(/\s+/).flatMap(expand));
};

test.skipIf(!analyze || !strace)(
  `every system call gitchat makes serving, sending, streaming, syncing and stopping is one the unit's SystemCallFilter= allows${analyze && strace ? "" : " (skipped: needs systemd-analyze and strace, so the filter was not checked)"}`,
  async () => {
    const unit = readFileSync(join(DOCS, "gitchat.service"), "utf8");
    const filter = /^SystemCallFilter=(.*)$/m.exec(unit)![1]!;
    const allowed = await allowedCalls(filter);
    const trace = join(tempDir(), "trace.log");
    const server = await startServer({
      dataDir: tempDir(),
      env: standInSettings(github, { token: ALICE, name: "traced" }),
      command: [strace!, "-f", "-qq", "-o", trace, process.execPath, CLI, ...execStart("gitchat.service")],
    });
    try {
      for (const content of ["one", "two", "three"]) {
        const sent = await fetch(`${server.url}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content }) });
        expect(sent.status).toBe(201);
      }
      const stream = await fetch(`${server.url}/c/alice/traced/events`);
      await stream.body!.getReader().read();
      expect((await fetch(`${server.url}/c/alice/traced`)).status).toBe(200);
      for (let tries = 0; ; tries++) {
        const remote = await runGit(["--git-dir", github.repoPath("alice", "traced"), "ls-tree", "-r", "--name-only", "main"]);
        if (remote.stdout.split("\n").filter((f) => f.endsWith(".json")).length === 3) break;
        if (tries > 1500) throw new Error("the messages never reached the remote");
        await Bun.sleep(20);
      }
    } finally {
      // SIGTERM to gitchat itself (strace's child): its graceful stop is traced too, then strace exits with its code.
      const children = Bun.spawnSync(["pgrep", "-P", String(server.proc.pid)]).stdout.toString().trim().split("\n").filter(Boolean);
      for (const pid of children) process.kill(Number(pid), "SIGTERM");
      expect(await server.proc.exited).toBe(0);
    }
    const used = new Set([...readFileSync(trace, "utf8").matchAll(/^\d+\s+([a-z_0-9]+)\(/gm)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((call) => !allowed.has(call)).sort()).toEqual([]);
  },
  60_000,
);
