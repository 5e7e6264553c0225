/**
 * Messages nobody can prove: a message whose commit was pushed around
 * gitchat (plain git, no signature by a key the channel lists) is marked
 * `verified: false` when it is pulled, and stays so after a rebuild; a
 * message sent through gitchat is `verified: true`. The unsigned history from
 * before signing began is not marked once a server's first signed commit
 * covers it, but a message slipped in under it later is.
 */
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { dropDatabase } from "../../src/gitchat.ts";
import { call } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { cloneOf } from "../support/signatures.ts";
import { tempDir } from "../support/tmp.ts";
import { closedAfterEach, send } from "./support.ts";

const { standIn, server, closeNow } = closedAfterEach();

const IDENTITY = {
  GIT_AUTHOR_NAME: "mallory",
  GIT_AUTHOR_EMAIL: "mallory@example.invalid",
  GIT_COMMITTER_NAME: "mallory",
  GIT_COMMITTER_EMAIL: "mallory@example.invalid",
};

/** A clone of the stand-in's channel, and a way to run git in it as someone outside gitchat. */
const cloneAs = async (path: string) => {
  const clone = await cloneOf(path);
  const git = async (...args: string[]) => {
    const result = await runGit(["-C", clone, ...args], { env: IDENTITY });
    if (result.code !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout.trim();
  };
  /** Writes a message file as the README describes the layout, by hand, and commits it with plain git (unsigned, or signed with `sign`). */
  const commitMessage = async (content: string, author = "mallory", sign: string[] = []) => {
    const now = Date.now();
    const id = Bun.randomUUIDv7("hex", now);
    const created = new Date(now).toISOString();
    const [y, m, d] = created.slice(0, 10).split("-");
    const file = `messages/${y}/${m}/${d}/000/${id}.json`;
    mkdirSync(dirname(join(clone, file)), { recursive: true });
    writeFileSync(join(clone, file), `${JSON.stringify({ id, author, content, type: "message", created_at: created }, null, 2)}\n`);
    await git("add", file);
    await git(...sign, "commit", "-q", ...(sign.length > 0 ? ["-S"] : []), "-m", `${author}: ${content}`);
    return id;
  };
  return { clone, git, commitMessage };
};

const marks = async (gitchat: Parameters<typeof call>[0]) =>
  Object.fromEntries(
    ((await call(gitchat, "GET", "/messages?limit=1000")).body as { content: string; verified: boolean }[]).map((m) => [m.content, m.verified]),
  );

test("a message pushed with plain git is marked unverified when pulled, and after a rebuild; one sent through gitchat is not", async () => {
  const github = await standIn();
  const gitchat = await server(github);
  await send(gitchat, "sent through gitchat");
  expect((await call(gitchat, "POST", "/push")).body.success).toBe(true);

  const { git, commitMessage } = await cloneAs(github.repoPath("alice", "chat"));
  await commitMessage("pushed around gitchat");
  // Signed, but by a key no file in .gitchat/signers/ lists.
  const key = join(tempDir("gitchat-stranger-"), "id_ed25519");
  expect(await Bun.spawn(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], { stdout: "ignore", stderr: "ignore" }).exited).toBe(0);
  await commitMessage("signed by a stranger", "mallory", ["-c", "gpg.format=ssh", "-c", `user.signingkey=${key}`]);
  await git("push", "-q", "origin", "main");
  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  await send(gitchat, "sent after the pull");
  const expected = { "sent through gitchat": true, "pushed around gitchat": false, "signed by a stranger": false, "sent after the pull": true };
  expect(await marks(gitchat)).toEqual(expected);

  await closeNow(gitchat);
  dropDatabase(gitchat.dataDir);
  const rebuilt = await server(github, { dataDir: gitchat.dataDir });
  expect(await marks(rebuilt)).toEqual(expected);
}, 30_000);

test("the unsigned history from before signing is not marked once a server's first commit covers it; a message slipped in under it later is", async () => {
  const github = await standIn();
  // The channel as an older gitchat left it: unsigned commits, no signer file.
  await github.createRepo("alice", "chat", { autoInit: true });
  const { git, commitMessage } = await cloneAs(github.repoPath("alice", "chat"));
  await commitMessage("said before signing", "ann");
  await git("push", "-q", "origin", "main");
  const oldHead = await git("rev-parse", "HEAD");

  const gitchat = await server(github);
  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  // Nothing signed yet: nothing proves it.
  expect(await marks(gitchat)).toEqual({ "said before signing": false });
  await send(gitchat, "the first signed message");
  expect(await marks(gitchat)).toEqual({ "said before signing": true, "the first signed message": true });
  expect((await call(gitchat, "POST", "/push")).body.success).toBe(true);

  // Someone forces a commit onto the old history; the server pulls and merges it.
  await git("reset", "-q", "--hard", oldHead);
  await commitMessage("slipped under the old history");
  await git("push", "-q", "--force", "origin", "main");
  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  const expected = { "said before signing": true, "the first signed message": true, "slipped under the old history": false };
  expect(await marks(gitchat)).toEqual(expected);

  // A rebuild finds the same: the walk meets the commit that began signing after the history under it.
  await closeNow(gitchat);
  dropDatabase(gitchat.dataDir);
  const rebuilt = await server(github, { dataDir: gitchat.dataDir });
  expect(await marks(rebuilt)).toEqual(expected);
}, 30_000);
