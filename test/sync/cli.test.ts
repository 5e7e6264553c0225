import { afterAll, expect, test } from "bun:test";
import { runGit } from "../support/git.ts";
import { standInSettings, startGitHub } from "../support/github.ts";
import { CLI, ROOT, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";
import { ALICE } from "./support.ts";

const github = await startGitHub({ users: [{ login: "alice", token: ALICE }] });
afterAll(() => github.stop());

const env = (dataDir: string) => ({ DATA_DIR: dataDir, ...standInSettings(github, { token: ALICE }) });

const gitchat = async (args: string[], extra: Record<string, string>) => {
  const proc = Bun.spawn([process.execPath, CLI, ...args], { cwd: ROOT, env: { ...process.env, ...extra }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
};

const remoteCount = async () =>
  (await runGit(["--git-dir", github.repoPath("alice", "chat"), "ls-tree", "-r", "--name-only", "main", "messages"])).stdout.trim().split("\n").filter(Boolean).length;

test("gitchat push works from cron with the server stopped, and hands the work to it while it runs", async () => {
  const dataDir = tempDir();
  // Messages written while GitHub sync was off.
  const offline = await startServer({ dataDir });
  for (let i = 0; i < 3; i++) {
    await fetch(`${offline.url}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content: `m${i}` }) });
  }
  await offline.stop();
  // The channel was local/general; the GitHub one is alice/chat. Push it from cron: none there yet.
  const first = await gitchat(["push"], env(dataDir));
  expect(first.stderr).toBe("");
  expect(first.stdout).toContain("ok     alice/chat: already in sync");
  expect(first.stdout).toContain("FAILED local/general");
  expect(first.code).toBe(1);

  const running = await startServer({ dataDir, env: env(dataDir) });
  try {
    await fetch(`${running.url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: "while running", repository: "alice/chat" }),
    });
    const port = new URL(running.url).port;
    const handed = await gitchat(["push"], { ...env(dataDir), PORT: port, HOST: "127.0.0.1" });
    expect(handed.stdout).toMatch(/ok     alice\/chat: (pushed 1 commit\(s\)|already in sync)/);
    expect(await remoteCount()).toBe(1);
  } finally {
    expect(await running.stop()).toBe(0);
  }
});

test("gitchat push exits 1 with one line per channel when GitHub cannot be reached", async () => {
  const dataDir = tempDir();
  await github.down();
  try {
    const result = await gitchat(["push"], { ...env(dataDir), GITHUB_REPO_NAME: "other" });
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split("\n")).toEqual([expect.stringMatching(/^FAILED alice\/other: GitHub could not be reached/)]);
    expect(result.stdout + result.stderr).not.toContain(ALICE);
  } finally {
    await github.up();
  }
}, 60_000); // the REST client retries a dropped connection three times (1 s, 4 s, 9 s) before giving up
