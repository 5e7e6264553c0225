/**
 * Signatures across servers and around gitchat: a merge is signed like any
 * commit, each server's signer file reaches the shared history, and
 * `gitchat verify` names the commits nobody's listed key signed.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { call } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { standInSettings } from "../support/github.ts";
import { runCli } from "../support/server.ts";
import { allowedSignersOf, cloneOf, signerFiles, verifyCommit } from "../support/signatures.ts";
import { tempDir } from "../support/tmp.ts";
import { ALICE, closedAfterEach, send } from "./support.ts";

const { standIn, server, closeNow } = closedAfterEach();

const IDENTITY = {
  GIT_AUTHOR_NAME: "mallory",
  GIT_AUTHOR_EMAIL: "mallory@example.invalid",
  GIT_COMMITTER_NAME: "mallory",
  GIT_COMMITTER_EMAIL: "mallory@example.invalid",
};

test("two servers' commits and the merge joining them pass git verify-commit, with both servers' signer files in the tree", async () => {
  const github = await standIn();
  const first = await server(github);
  const second = await server(github);
  await send(first, "from the first server");
  expect((await call(first, "POST", "/push")).body.success).toBe(true);
  // The second has its own commit when it pulls: the histories diverge, and it merges.
  await send(second, "from the second server");
  expect((await call(second, "POST", "/pull")).body.success).toBe(true);
  expect((await call(second, "POST", "/push")).body.success).toBe(true);

  const clone = await cloneOf(github.repoPath("alice", "chat"));
  const allowed = await allowedSignersOf(clone);
  const merges = (await runGit(["-C", clone, "rev-list", "--merges", "HEAD"])).stdout.trim().split("\n").filter(Boolean);
  const verdicts: Record<string, number> = {};
  for (const commit of (await runGit(["-C", clone, "rev-list", "HEAD"])).stdout.trim().split("\n")) {
    verdicts[commit] = (await verifyCommit(clone, commit, allowed)).code;
  }
  expect({ signers: (await signerFiles(clone)).length, merges: merges.length, failed: Object.keys(verdicts).filter((c) => verdicts[c] !== 0) }).toEqual({
    signers: 2,
    merges: 1,
    failed: [],
  });
}, 30_000);

test("gitchat verify names each commit pushed around gitchat, unsigned or signed by a key no signer file lists, and exits 1", async () => {
  const github = await standIn();
  const gitchat = await server(github);
  await send(gitchat, "hello");
  expect((await call(gitchat, "POST", "/push")).body.success).toBe(true);

  // Someone with push access commits with plain git: once unsigned, once signed by their own SSH key.
  const clone = await cloneOf(github.repoPath("alice", "chat"));
  const git = async (...args: string[]) => {
    const result = await runGit(["-C", clone, ...args], { env: IDENTITY });
    if (result.code !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout.trim();
  };
  await git("commit", "-q", "--allow-empty", "-m", "plain git commit");
  const unsigned = await git("rev-parse", "HEAD");
  const key = join(tempDir("gitchat-stranger-"), "id_ed25519");
  expect((await Bun.spawn(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], { stdout: "ignore", stderr: "ignore" }).exited)).toBe(0);
  await git("-c", "gpg.format=ssh", "-c", `user.signingkey=${key}`, "commit", "-q", "-S", "--allow-empty", "-m", "signed by a stranger");
  const stranger = await git("rev-parse", "HEAD");
  const fingerprint = (await new Response(Bun.spawn(["ssh-keygen", "-l", "-f", `${key}.pub`]).stdout).text()).split(" ")[1];
  await git("push", "-q", "origin", "main");

  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  await closeNow(gitchat);
  const verified = await runCli(["verify"], { dataDir: gitchat.dataDir, env: standInSettings(github, { token: ALICE }) });
  expect({ code: verified.code, lines: verified.stdout.trim().split("\n") }).toEqual({
    code: 1,
    lines: [
      "alice/chat: 1 message(s) in git, 1 indexed, consistent; 2 of 3 commit(s) not signed by a key in .gitchat/signers/",
      `  commit ${stranger} "signed by a stranger": signed by the key ${fingerprint}, which no file in .gitchat/signers/ lists`,
      `  commit ${unsigned} "plain git commit": unsigned`,
    ],
  });
}, 30_000);

test("gitchat verify names a commit of this server whose message was changed after it was signed, its signature kept", async () => {
  const github = await standIn();
  const gitchat = await server(github);
  await send(gitchat, "what I said");
  expect((await call(gitchat, "POST", "/push")).body.success).toBe(true);

  // The commit rewritten with another subject, its signature kept, force-pushed in its place.
  const clone = await cloneOf(github.repoPath("alice", "chat"));
  const original = (await runGit(["-C", clone, "cat-file", "commit", "HEAD"])).stdout;
  expect(original).toContain("\nalice: what I said\n");
  const forged = (
    await runGit(["-C", clone, "hash-object", "-w", "-t", "commit", "--stdin"], { stdin: original.replace("alice: what I said", "alice: what I never said") })
  ).stdout.trim();
  expect((await runGit(["-C", clone, "push", "-q", "--force", "origin", `${forged}:refs/heads/main`])).code).toBe(0);

  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  await closeNow(gitchat);
  const verified = await runCli(["verify"], { dataDir: gitchat.dataDir, env: standInSettings(github, { token: ALICE }) });
  const fingerprint = (await runCli(["signing-key"], { dataDir: gitchat.dataDir })).stderr.trim().replace(/^fingerprint /, "");
  expect({ code: verified.code, named: verified.stdout.split("\n").filter((line) => line.startsWith("  commit ")) }).toEqual({
    code: 1,
    named: [`  commit ${forged} "alice: what I never said": its signature by ${fingerprint} does not match its content (changed after it was signed)`],
  });
}, 30_000);

test("history from before signing (an older gitchat's unsigned commits) passes verify, counted apart; a commit slipped in later on top of it is still named", async () => {
  const github = await standIn();
  // The channel as an older gitchat left it: unsigned commits only.
  await github.createRepo("alice", "chat", { autoInit: true });
  const clone = await cloneOf(github.repoPath("alice", "chat"));
  const git = async (...args: string[]) => {
    const result = await runGit(["-C", clone, ...args], { env: IDENTITY });
    if (result.code !== 0) throw new Error(`git ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout.trim();
  };
  await git("commit", "-q", "--allow-empty", "-m", "old: before signing");
  await git("commit", "-q", "--allow-empty", "-m", "old: still before signing");
  await git("push", "-q", "origin", "main");
  const oldest = await git("rev-list", "--max-parents=0", "HEAD");

  // Upgraded, a server takes the channel and writes: its first commit begins signing.
  const gitchat = await server(github);
  expect((await call(gitchat, "POST", "/pull")).body.success).toBe(true);
  await send(gitchat, "hello, signed");
  expect((await call(gitchat, "POST", "/push")).body.success).toBe(true);
  const verify = async () => {
    await closeNow(gitchat);
    return runCli(["verify"], { dataDir: gitchat.dataDir, env: standInSettings(github, { token: ALICE }) });
  };
  const clean = await verify();
  expect({ code: clean.code, lines: clean.stdout.trim().split("\n") }).toEqual({
    code: 0,
    lines: [
      "alice/chat: 1 message(s) in git, 1 indexed, consistent; 1 commit(s), each signed by a key in .gitchat/signers/, and 3 unsigned from before signing began (under the signed commit that began it)",
    ],
  });

  // Someone forces a commit onto the old history; a server pulls it and merges it, signing the merge.
  await git("fetch", "-q", "origin");
  const slipped = await git("commit-tree", `${oldest}^{tree}`, "-p", oldest, "-m", "slipped under the old history");
  await git("push", "-q", "--force", "origin", `${slipped}:refs/heads/main`);
  const again = await server(github, { dataDir: gitchat.dataDir });
  expect((await call(again, "POST", "/pull")).body.success).toBe(true);
  await closeNow(again);
  const named = await runCli(["verify"], { dataDir: gitchat.dataDir, env: standInSettings(github, { token: ALICE }) });
  expect({ code: named.code, named: named.stdout.split("\n").filter((line) => line.startsWith("  commit ")) }).toEqual({
    code: 1,
    named: [`  commit ${slipped} "slipped under the old history": unsigned`],
  });
}, 30_000);
