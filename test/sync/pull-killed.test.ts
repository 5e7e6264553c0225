/**
 * A pull streams the remote's pack into a temporary file in the pack
 * directory. A process killed (-9) in the middle of that leaves the file
 * behind; the next start removes it, and the next pull brings the pack whole.
 */
import { afterAll, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runGit } from "../support/git.ts";
import { standInSettings, startGitHub } from "../support/github.ts";
import { CLI, ROOT, runCli } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";
import { ALICE } from "./support.ts";

const github = await startGitHub({ users: [{ login: "alice", token: ALICE }] });
afterAll(() => github.stop());

/**
 * alice/chat holds 2,000 message-sized files of random text, pushed by the git CLI:
 * a pack of about 600 KB, so half of the answer holds several side-band packets
 * of pack data (each at most 64 KB) whatever sizes upload-pack cut them to.
 */
const fillRemote = async () => {
  await github.createRepo("alice", "chat");
  const work = tempDir();
  await runGit(["init", "-q", "-b", "main", work]);
  mkdirSync(join(work, "notes"));
  for (let i = 0; i < 2000; i++) writeFileSync(join(work, "notes", `${i}.json`), `{"n":${i},"text":"${randomBytes(256).toString("hex")}"}\n`);
  const env = { GIT_AUTHOR_NAME: "a", GIT_AUTHOR_EMAIL: "a@b", GIT_COMMITTER_NAME: "a", GIT_COMMITTER_EMAIL: "a@b" };
  await runGit(["add", "-A"], { cwd: work });
  await runGit(["commit", "-q", "-m", "notes"], { cwd: work, env });
  expect((await runGit(["push", "-q", github.repoPath("alice", "chat"), "main"], { cwd: work })).code).toBe(0);
};

test("a pull killed while the pack streams in leaves a temporary file that the next run removes, and that run's pull stores the pack whole", async () => {
  await fillRemote();
  const dataDir = tempDir();
  const env = { ...process.env, DATA_DIR: dataDir, ...standInSettings(github, { token: ALICE }) };
  const packDir = join(dataDir, "repos", "alice", "chat.git", "objects", "pack");
  const temporaries = () => {
    try {
      return readdirSync(packDir).filter((f) => f.startsWith("tmp_") && statSync(join(packDir, f)).size > 0);
    } catch {
      return [];
    }
  };

  // The remote sends half of its answer, then nothing more: the pull waits with a partial pack on disk.
  github.tamper({
    path: /git-upload-pack$/,
    method: "POST",
    body: (real) => new ReadableStream({ start: (controller) => controller.enqueue(real.subarray(0, real.length >> 1)) }),
  });
  const pull = Bun.spawn([process.execPath, CLI, "pull"], { cwd: ROOT, env, stdout: "ignore", stderr: "ignore" });
  const deadline = Date.now() + 30_000;
  while (temporaries().length === 0 && Date.now() < deadline) await Bun.sleep(20);
  pull.kill(9);
  await pull.exited;
  expect(temporaries()).toHaveLength(1);

  const again = await runCli(["pull"], { dataDir, env: standInSettings(github, { token: ALICE }) });
  expect(again.stdout).toContain("ok     alice/chat: pulled");
  expect(readdirSync(packDir).filter((f) => f.startsWith("tmp_"))).toEqual([]);
  const pack = readdirSync(packDir).find((f) => f.endsWith(".pack"))!;
  expect((await runGit(["verify-pack", join(packDir, pack)])).code).toBe(0);
}, 60_000);
