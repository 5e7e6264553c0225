/**
 * A damaged `refs/heads/main` is refused, never written on top of, and
 * `gitchat repair` brings the channel back from its object store.
 */
import { Database } from "bun:sqlite";
import { expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fsck, runGit } from "../support/git.ts";
import { gitdirOf, hasStackTrace, listAll, post, sendMany } from "../support/damage.ts";
import { runCli, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";
import { messageKey } from "../../src/db/database.ts";

setDefaultTimeout(60_000);

const refPath = (dataDir: string) => join(gitdirOf(dataDir), "refs", "heads", "main");

/** A data directory whose default channel holds `count` messages, one commit each; the server is stopped. */
const channelWith = async (count: number) => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  const sent = await sendMany(server.url, count);
  expect(await server.stop()).toBe(0);
  return { dataDir, sent, head: sent[sent.length - 1]!.git_hash };
};

const damages: [string, (dataDir: string, sent: { git_hash: string }[]) => void][] = [
  ["missing", (dataDir) => rmSync(refPath(dataDir))],
  ["empty", (dataDir) => writeFileSync(refPath(dataDir), "")],
  ["garbled", (dataDir) => writeFileSync(refPath(dataDir), "\u0000\u0000gar bled\n")],
  ["naming a commit that is not in the store", (dataDir) => writeFileSync(refPath(dataDir), `${"ab".repeat(20)}\n`)],
  ["rolled back to an older commit", (dataDir, sent) => writeFileSync(refPath(dataDir), `${sent[0]!.git_hash}\n`)],
];

for (const [what, damage] of damages) {
  test(`a ref ${what} while the index knows commits: start-up refuses with one line and writes nothing`, async () => {
    const { dataDir, sent, head } = await channelWith(3);
    damage(dataDir, sent);
    const refBefore = existsSync(refPath(dataDir)) ? readFileSync(refPath(dataDir), "utf8") : undefined;

    const started = await runCli(["serve"], { dataDir, timeoutMs: 20_000 });
    expect(started.code).toBe(1);
    const lines = started.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("local/general");
    expect(lines[0]).toContain(gitdirOf(dataDir));
    expect(lines[0]).toContain(head);
    expect(lines[0]).toContain("gitchat repair");
    expect(started.stdout).not.toContain("listening");
    // Never written on top of: the ref is as the damage left it.
    expect(existsSync(refPath(dataDir)) ? readFileSync(refPath(dataDir), "utf8") : undefined).toBe(refBefore);
  });

  test(`gitchat repair brings back every message after a ref ${what}`, async () => {
    const { dataDir, sent, head } = await channelWith(3);
    damage(dataDir, sent);

    const repaired = await runCli(["repair"], { dataDir });
    expect(repaired.stderr).toBe("");
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain(`local/general: restored refs/heads/main to ${head}`);
    expect(readFileSync(refPath(dataDir), "utf8")).toBe(`${head}\n`);
    expect((await fsck(gitdirOf(dataDir))).code).toBe(0);
    const log = await runGit(["--git-dir", gitdirOf(dataDir), "log", "--format=%H", "main"]);
    expect(log.stdout.trim().split("\n")).toEqual(sent.map((m) => m.git_hash).reverse());

    // Idempotent: a second run finds nothing to do.
    const again = await runCli(["repair"], { dataDir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("local/general: consistent");

    const server = await startServer({ dataDir });
    try {
      expect([...(await listAll(server.url)).keys()].sort()).toEqual(sent.map((m) => m.id).sort());
      const next = await post(server.url, "after the repair");
      expect(next.status).toBe(201);
      const parents = await runGit(["--git-dir", gitdirOf(dataDir), "log", "-1", "--format=%P", next.body.git_hash]);
      expect(parents.stdout.trim()).toBe(head);
    } finally {
      await server.stop();
    }
  });
}

/** Writes a commit with the git CLI, dated in the future so that it is the newest in the store. */
const strayCommit = async (gitdir: string, tree: string, parent: string) => {
  const env = { GIT_AUTHOR_NAME: "x", GIT_AUTHOR_EMAIL: "x@x", GIT_COMMITTER_NAME: "x", GIT_COMMITTER_EMAIL: "x@x", GIT_COMMITTER_DATE: "2099-01-01T00:00:00Z" };
  const made = await runGit(["--git-dir", gitdir, "commit-tree", tree, "-p", parent, "-m", "stray"], { env });
  expect(made.code).toBe(0);
  return made.stdout.trim();
};

test("gitchat repair prefers the newest intact descendant of the indexed commit, even one no ref names", async () => {
  const { dataDir, sent, head } = await channelWith(4);
  const gitdir = gitdirOf(dataDir);
  // Newer than the head but no descendant of the indexed commit: another history.
  const firstTree = (await runGit(["--git-dir", gitdir, "rev-parse", `${sent[0]!.git_hash}^{tree}`])).stdout.trim();
  await strayCommit(gitdir, firstTree, sent[0]!.git_hash);
  // Newer than the head and a descendant of it, but its tree names a blob the store does not hold: not intact.
  const broken = await runGit(["--git-dir", gitdir, "mktree", "--missing"], { stdin: `100644 blob ${"12".repeat(20)}\tlost.json\n` });
  await strayCommit(gitdir, broken.stdout.trim(), head);
  // The index lags (it knew the second commit only), and the ref is gone.
  const db = new Database(join(dataDir, "gitchat.db"));
  db.run("UPDATE repositories SET indexed_commit = ?", [sent[1]!.git_hash]);
  db.run("DELETE FROM messages WHERE id IN (?, ?)", [messageKey(sent[2]!.id), messageKey(sent[3]!.id)]);
  db.close();
  rmSync(refPath(dataDir));

  const repaired = await runCli(["repair"], { dataDir });
  expect(repaired.code).toBe(0);
  expect(readFileSync(refPath(dataDir), "utf8")).toBe(`${head}\n`);
  const verified = await runCli(["verify"], { dataDir });
  expect(verified.stdout).toContain("local/general: 4 message(s) in git, 4 indexed, consistent");
  expect(verified.code).toBe(0);
});

test("a ref that disappears under a running server: the next send is refused with 503 and no new root commit is written", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  try {
    const sent = await sendMany(server.url, 2);
    rmSync(refPath(dataDir));
    const answer = await post(server.url, "must not start a new history");
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe("store_damaged");
    expect(answer.body.error.message).toContain("gitchat repair");
    expect(existsSync(refPath(dataDir))).toBe(false);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(503);
    expect(JSON.stringify(await health.json())).toContain("refs/heads/main");
    // The history is still whole for repair to find.
    const log = await runGit(["--git-dir", gitdirOf(dataDir), "log", "--format=%H", sent[1]!.git_hash]);
    expect(log.stdout.trim().split("\n")).toEqual([sent[1]!.git_hash, sent[0]!.git_hash]);
  } finally {
    await server.stop();
  }
});

test("a ref moved by someone else under a running server: the next send is refused, and the ref is left as they set it", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  try {
    const sent = await sendMany(server.url, 2);
    writeFileSync(refPath(dataDir), `${sent[0]!.git_hash}\n`);
    const answer = await post(server.url, "must not be written over a moved ref");
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe("store_damaged");
    expect(readFileSync(refPath(dataDir), "utf8")).toBe(`${sent[0]!.git_hash}\n`);
  } finally {
    await server.stop();
  }
});

test("gitchat repair refuses while a server owns the data directory", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  try {
    await sendMany(server.url, 1);
    const repaired = await runCli(["repair"], { dataDir });
    expect(repaired.code).toBe(1);
    expect(repaired.stderr.trim().split("\n")).toHaveLength(1);
    expect(repaired.stderr).toContain("in use by another gitchat");
    expect(hasStackTrace(repaired.stderr)).toBe(false);
    expect((await post(server.url, "still serving")).status).toBe(201);
  } finally {
    await server.stop();
  }
});

test("a repository deleted while the index knows it: start-up refuses, and repair commits every message again from the index", async () => {
  const { dataDir, sent, head } = await channelWith(3);
  const gitdir = gitdirOf(dataDir);
  rmSync(gitdir, { recursive: true });

  const started = await runCli(["serve"], { dataDir, timeoutMs: 20_000 });
  expect(started.code).toBe(1);
  expect(started.stderr).toContain(head);
  expect(started.stderr).toContain("gitchat repair");
  expect(existsSync(gitdir)).toBe(false);

  const repaired = await runCli(["repair"], { dataDir });
  expect(repaired.code).toBe(0);
  expect(repaired.stdout).toContain("committed again 3 message(s)");
  expect((await fsck(gitdir)).code).toBe(0);
  const files = await runGit(["--git-dir", gitdir, "ls-tree", "-r", "--name-only", "main"]);
  expect(files.stdout.trim().split("\n").filter((f) => f.endsWith(".json")).length).toBe(3);
  const server = await startServer({ dataDir });
  try {
    expect(new Map(sent.map((m) => [m.id, m.content]))).toEqual(await listAll(server.url));
  } finally {
    await server.stop();
  }
});
