/**
 * Whether every commit on a branch carries a good SSH signature by a key the
 * branch's own tree lists under `.gitchat/signers/` (each server adds its
 * file with its first commit into a channel): the check `git verify-commit`
 * makes with an allowed-signers file built from those files, done here
 * without git, for `gitchat verify`. A commit that fails it was written
 * around gitchat (pushed with git by someone else), or changed after it was
 * signed. Read-only.
 */
import { parseCommit, splitSignature } from "./objects.ts";
import type { ObjectSource } from "./object-source.ts";
import { SIGNERS_DIR } from "./signing-key.ts";
import { allowedKeys, verifySsh } from "./sshsig.ts";

/** A commit whose signature proves nothing: its id, subject and why. */
export type UnprovenCommit = { commit: string; subject: string; problem: string };

/** The public keys (`ssh-ed25519 AAAA...`) that the signer files of `tree` list. */
export const signersIn = async (store: ObjectSource, tree: string) => {
  const keys = new Set<string>();
  let entries = await store.readTree(tree);
  for (const name of SIGNERS_DIR) {
    const dir = entries.find((e) => e.name === name && e.mode === "40000");
    if (!dir) return keys;
    entries = await store.readTree(dir.oid);
  }
  for (const entry of entries) {
    if (entry.mode === "40000" || entry.mode === "160000") continue;
    const { type, content } = await store.readObject(entry.oid);
    if (type === "blob") for (const key of allowedKeys(new TextDecoder().decode(content))) keys.add(key);
  }
  return keys;
};

/**
 * Every commit `head` reaches whose signature is missing, unreadable, wrong
 * for its content, or made by a key that `allowed` lacks. `onChecked` is told
 * how many commits were checked so far. The walk remembers the ids it has
 * seen (about 100 bytes a commit); each commit is read once.
 */
export const unprovenCommits = async (
  store: ObjectSource,
  head: string,
  allowed: ReadonlySet<string>,
  onChecked?: (checked: number) => void,
) => {
  const unproven: UnprovenCommit[] = [];
  const seen = new Set<string>([head]);
  const stack = [head];
  while (stack.length > 0) {
    const oid = stack.pop()!;
    const { content } = await store.readObject(oid);
    const commit = parseCommit(content);
    for (const parent of commit.parent) {
      if (!seen.has(parent)) {
        seen.add(parent);
        stack.push(parent);
      }
    }
    const { payload, signature } = splitSignature(content);
    const check = signature === undefined ? { ok: false as const, problem: "unsigned" } : verifySsh(signature, payload);
    const problem = check.ok
      ? allowed.has(check.publicKey)
        ? undefined
        : `signed by the key ${check.fingerprint}, which no file in ${SIGNERS_DIR.join("/")}/ lists`
      : check.problem;
    if (problem) unproven.push({ commit: oid, subject: commit.message.split("\n")[0]!, problem });
    onChecked?.(seen.size - stack.length);
  }
  return { checked: seen.size, unproven };
};
