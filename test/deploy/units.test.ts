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
