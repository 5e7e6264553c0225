/**
 * Commits that git itself signed (as a remote's may be), read by gitchat's
 * own parser and signature check: the multi-line `gpgsig` header is neither
 * a header of its own nor part of what was signed.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ChannelStore } from "../../src/git/store.ts";
import { splitSignature } from "../../src/git/objects.ts";
import { verifySsh } from "../../src/git/sshsig.ts";
import { runGit } from "../support/git.ts";
import { tempDir } from "../support/tmp.ts";

const IDENTITY = { GIT_AUTHOR_NAME: "ann", GIT_AUTHOR_EMAIL: "ann@example.invalid", GIT_COMMITTER_NAME: "ann", GIT_COMMITTER_EMAIL: "ann@example.invalid" };

test("a commit git signed with an SSH key reads as git reads it, and its signature checks out as that key's", async () => {
  const dir = tempDir("gitchat-signed-");
  const key = join(tempDir("gitchat-key-"), "id_ed25519");
  expect(await Bun.spawn(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], { stdout: "ignore", stderr: "ignore" }).exited).toBe(0);
  const git = async (...args: string[]) => (await runGit(["-C", dir, "-c", "gpg.format=ssh", "-c", `user.signingkey=${key}`, ...args], { env: IDENTITY })).stdout.trim();
  await git("init", "-q", "-b", "main");
  await git("commit", "-q", "-S", "--allow-empty", "-m", "first");
  await git("commit", "-q", "-S", "--allow-empty", "-m", "second\n\nwith a body");
  const fingerprint = (await new Response(Bun.spawn(["ssh-keygen", "-l", "-f", `${key}.pub`]).stdout).text()).split(" ")[1]!;

  const store = await ChannelStore.open(join(dir, ".git"), { readOnly: true });
  const head = await git("rev-parse", "HEAD");
  const commit = await store.readCommit(head);
  const { content } = await store.readObject(head);
  const { payload, signature } = splitSignature(content);
  const check = verifySsh(signature!, payload);
  expect({
    tree: commit.tree,
    parents: commit.parent,
    message: commit.message,
    time: commit.committer.timestamp,
    signedBy: check.ok ? check.fingerprint : check.problem,
  }).toEqual({
    tree: await git("rev-parse", "HEAD^{tree}"),
    parents: [await git("rev-parse", "HEAD~1")],
    message: "second\n\nwith a body\n",
    time: Number(await git("log", "-1", "--format=%ct")),
    signedBy: fingerprint,
  });
});
