import { expect, test } from "bun:test";
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { DataDirLockedError } from "../../src/errors.ts";
import { openTestGitchat } from "../support/app.ts";
import { CLI, ROOT, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const run = async (env: Record<string, string>) => {
  const proc = Bun.spawn([process.execPath, CLI, "serve"], {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill(9), 15_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { stdout, stderr, code };
};

test("a bad PORT stops start-up with one clear line and exit code 2", async () => {
  const result = await run({ DATA_DIR: tempDir(), PORT: "abc" });
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split("\n")).toEqual(['gitchat: PORT="abc" is not valid: use a whole number from 0 to 65535']);
});

test("a second server on the same data directory refuses with a clear message", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  try {
    const second = await run({ DATA_DIR: dataDir });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`${dataDir} is in use by another gitchat`);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  } finally {
    await server.stop();
  }
});

test("the lock of a killed server never blocks the next start", async () => {
  const dataDir = tempDir();
  const first = await startServer({ dataDir });
  await first.kill9();
  const second = await startServer({ dataDir });
  expect((await fetch(`${second.url}/health`)).status).toBe(200);
  expect(await second.stop()).toBe(0);
});

test("in one process, a second open of a data directory is refused too", async () => {
  const dataDir = tempDir();
  const first = await openTestGitchat({ dataDir });
  await expect(openTestGitchat({ dataDir })).rejects.toBeInstanceOf(DataDirLockedError);
  await first.close();
  const again = await openTestGitchat({ dataDir });
  await again.close();
});

test("a new data directory is private to its owner", async () => {
  const dataDir = `${tempDir()}/fresh`;
  const gitchat = await openTestGitchat({ dataDir });
  await gitchat.close();
  expect(statSync(dataDir).mode & 0o777).toBe(0o700);
});

test("settings in a .env file in the working directory are used", async () => {
  const cwd = tempDir();
  const dataDir = `${cwd}/from-dotenv`;
  await Bun.write(`${cwd}/.env`, `DATA_DIR=${dataDir}\nGITHUB_REPO_NAME=from-dotenv\n`);
  const env = { ...process.env, PORT: "0", HOST: "127.0.0.1" } as Record<string, string | undefined>;
  delete env.DATA_DIR;
  delete env.GITHUB_REPO_NAME;
  const proc = Bun.spawn([process.execPath, CLI, "serve"], { cwd, env, stdout: "pipe", stderr: "pipe" });
  try {
    let text = "";
    const reader = proc.stdout.getReader();
    while (!/listening on/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`gitchat exited: ${text}`);
      text += new TextDecoder().decode(value);
    }
    const url = /listening on (http:\/\/\S+)/.exec(text)![1]!.replace("localhost", "127.0.0.1");
    const channels = (await (await fetch(`${url}/repositories`)).json()) as { full_name: string }[];
    expect(channels.map((c) => c.full_name)).toEqual(["local/from-dotenv"]);
    expect(text).toContain(`data in ${dataDir}`);
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
});

test("deleting every file that looks like a lock does not let a second server in", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  try {
    for (const name of readdirSync(dataDir)) if (name.includes("lock")) rmSync(join(dataDir, name), { force: true });
    const second = await run({ DATA_DIR: dataDir });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`${dataDir} is in use by another gitchat`);
  } finally {
    await server.stop();
  }
}, 30_000);
