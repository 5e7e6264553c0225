/**
 * A truncated or emptied pack (or pack index) is found at start-up and by
 * /health, reported in one line by verify and rebuild, and `gitchat repair`
 * moves it aside, keeps what is intact, and restores every message.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, statSync, truncateSync } from "node:fs";
import { basename, join } from "node:path";
import { fsck, runGit } from "../support/git.ts";
import { gitdirOf, hasStackTrace, listAll, packsOf, post, sendMany } from "../support/damage.ts";
import { healthOnceItIs, runCli, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

setDefaultTimeout(60_000);

const channelWith = async (count: number, env: Record<string, string> = {}) => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir, env });
  const sent = await sendMany(server.url, count);
  expect(await server.stop()).toBe(0);
  return { dataDir, sent, gitdir: gitdirOf(dataDir) };
};

const idxOf = (pack: string) => pack.replace(/\.pack$/, ".idx");
const halve = (path: string) => truncateSync(path, Math.floor(statSync(path).size / 2));

const damages: [string, (pack: string) => string][] = [
  ["a truncated pack", (pack) => (halve(pack), pack)],
  ["an emptied pack", (pack) => (truncateSync(pack, 0), pack)],
  ["a truncated pack index", (pack) => (halve(idxOf(pack)), idxOf(pack))],
  ["an emptied pack index", (pack) => (truncateSync(idxOf(pack), 0), idxOf(pack))],
];

for (const [what, damage] of damages) {
  test(`${what}: start-up refuses with one line naming the file and gitchat repair`, async () => {
    const { dataDir, gitdir } = await channelWith(3);
    const file = damage(packsOf(gitdir).at(-1)!);
    const started = await runCli(["serve"], { dataDir, timeoutMs: 20_000 });
    expect(started.code).toBe(1);
    const lines = started.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(file);
    expect(lines[0]).toContain("gitchat repair");
    expect(started.stdout).not.toContain("listening");
  });
}

test("verify and rebuild report a truncated pack in one line, without a stack trace", async () => {
  const { dataDir, gitdir } = await channelWith(3);
  const pack = packsOf(gitdir).at(-1)!;
  halve(pack);
  for (const command of ["verify", "rebuild"]) {
    const result = await runCli([command], { dataDir });
    expect(result.code).toBe(1);
    const output = `${result.stdout}${result.stderr}`;
    expect(hasStackTrace(output)).toBe(false);
    const mentions = output.split("\n").filter((line) => line.includes(basename(pack)));
    expect(mentions).toHaveLength(1);
    expect(mentions[0]).toContain("gitchat repair");
  }
});

test("a pack truncated under a running server: /health answers 503 naming the file", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  try {
    await sendMany(server.url, 3);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const pack = packsOf(gitdirOf(dataDir)).at(-1)!;
    halve(pack);
    const body = (await healthOnceItIs(server.url, 503)) as { status: string; git: { ok: boolean; error?: string } };
    expect(body.status).toBe("degraded");
    expect(body.git.ok).toBe(false);
    expect(body.git.error).toContain(basename(pack));
  } finally {
    await server.stop();
  }
});

/** What repair must leave: git fsck passes, every message is in git's head tree and served, verify is clean. */
const expectWhole = async (dataDir: string, sent: { id: string; content: string }[]) => {
  const gitdir = gitdirOf(dataDir);
  const checked = await fsck(gitdir);
  expect(checked.stderr).toBe("");
  expect(checked.code).toBe(0);
  const files = await runGit(["--git-dir", gitdir, "ls-tree", "-r", "--name-only", "main"]);
  for (const m of sent) expect(files.stdout).toContain(`${m.id}.json`);
  const verified = await runCli(["verify"], { dataDir });
  expect(verified.stdout).toContain(`local/general: ${sent.length} message(s) in git, ${sent.length} indexed, consistent`);
  expect(verified.code).toBe(0);
  const server = await startServer({ dataDir });
  try {
    const listed = await listAll(server.url);
    expect(new Map(sent.map((m) => [m.id, m.content]))).toEqual(listed);
    expect((await post(server.url, "after the repair")).status).toBe(201);
  } finally {
    await server.stop();
  }
};

test("gitchat repair after the newest pack was cut short: the pack is moved aside and every message is back in git", async () => {
  const { dataDir, sent, gitdir } = await channelWith(4);
  const pack = packsOf(gitdir).at(-1)!;
  // The trailing checksum and the end of the last object (the commit) are lost; the blob and trees before it are whole.
  truncateSync(pack, statSync(pack).size - 30);

  const repaired = await runCli(["repair"], { dataDir });
  expect(repaired.stderr).toBe("");
  expect(repaired.code).toBe(0);
  expect(repaired.stdout).toContain(basename(pack));
  expect(existsSync(join(gitdir, "damaged", basename(pack)))).toBe(true);
  expect(existsSync(join(gitdir, "damaged", basename(idxOf(pack))))).toBe(true);
  expect(existsSync(pack)).toBe(false);
  // The third commit is the newest intact one; the fourth message comes back from the index in a new commit.
  const log = await runGit(["--git-dir", gitdir, "log", "--format=%H", "main"]);
  expect(log.stdout.trim().split("\n").slice(1)).toEqual(sent.slice(0, 3).map((m) => m.git_hash).reverse());
  await expectWhole(dataDir, sent);

  const again = await runCli(["repair"], { dataDir });
  expect(again.code).toBe(0);
  expect(again.stdout).toContain("local/general: consistent");
});

test("gitchat repair after a pack in the middle of the history was cut short: the branch goes back to the newest commit whose whole history reads", async () => {
  const { dataDir, sent, gitdir } = await channelWith(4);
  // The second commit's pack loses its commit object; the third and fourth still read, but their history does not.
  const second = packsOf(gitdir)[1]!;
  truncateSync(second, statSync(second).size - 30);
  const repaired = await runCli(["repair"], { dataDir });
  expect(repaired.code).toBe(0);
  expect(repaired.stdout).toContain(`restored refs/heads/main to ${sent[0]!.git_hash}`);
  const log = await runGit(["--git-dir", gitdir, "log", "--format=%H", "main"]);
  expect(log.stdout.trim().split("\n").slice(1)).toEqual([sent[0]!.git_hash]);
  await expectWhole(dataDir, sent);
});

test("gitchat repair after the one big pack of a packed channel was cut in half: every message is back in git", async () => {
  const { dataDir, sent, gitdir } = await channelWith(30, { PACK_THRESHOLD: "40" });
  const big = packsOf(gitdir).reduce((a, b) => (statSync(a).size >= statSync(b).size ? a : b));
  halve(big);
  const repaired = await runCli(["repair"], { dataDir });
  expect(repaired.code).toBe(0);
  expect(readdirSync(join(gitdir, "damaged"))).toContain(basename(big));
  await expectWhole(dataDir, sent);
});

test("gitchat repair after a pack index was emptied: the pack's objects are kept, with their original commits", async () => {
  const { dataDir, sent, gitdir } = await channelWith(3);
  const pack = packsOf(gitdir).at(-1)!;
  truncateSync(idxOf(pack), 0);
  const repaired = await runCli(["repair"], { dataDir });
  expect(repaired.code).toBe(0);
  const log = await runGit(["--git-dir", gitdir, "log", "--format=%H", "main"]);
  expect(log.stdout.trim().split("\n")).toEqual(sent.map((m) => m.git_hash).reverse());
  await expectWhole(dataDir, sent);
});
