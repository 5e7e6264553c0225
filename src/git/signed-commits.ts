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
import { allowedKeys, verifySsh, verifySshAsync, type SignatureCheck } from "./sshsig.ts";

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

/** The tree id of `.gitchat/signers/` in `tree`, or undefined when it has none. */
const signersDirOf = async (store: ObjectSource, tree: string) => {
  let oid: string | undefined = tree;
  for (const name of SIGNERS_DIR) {
    const dir: { oid: string } | undefined = (await store.readTree(oid)).find((e) => e.name === name && e.mode === "40000");
    if (!dir) return undefined;
    oid = dir.oid;
  }
  return oid;
};

/** Whether `tree` holds a `.gitchat/signers/` directory (any server had begun signing on this line). */
const hasSigners = async (store: ObjectSource, tree: string) => (await signersDirOf(store, tree)) !== undefined;

/**
 * Why a commit's signature proves nothing against the keys `allowed`
 * (unsigned, unreadable, wrong for its content, or by a key `allowed` lacks),
 * or undefined when it proves who wrote it.
 */
const signatureProblem = (content: Uint8Array, allowed: ReadonlySet<string>) => {
  const { payload, signature } = splitSignature(content);
  if (signature === undefined) return { signed: false, problem: "unsigned" };
  return { signed: true, problem: problemOf(verifySsh(signature, payload), allowed) };
};

const problemOf = (check: SignatureCheck, allowed: ReadonlySet<string>) =>
  check.ok
    ? allowed.has(check.publicKey)
      ? undefined
      : `signed by the key ${check.fingerprint}, which no file in ${SIGNERS_DIR.join("/")}/ lists`
    : check.problem;

/** signatureProblem, its verify on the thread pool (verifySshAsync). */
const signatureProblemAsync = async (content: Uint8Array, allowed: ReadonlySet<string>) => {
  const { payload, signature } = splitSignature(content);
  if (signature === undefined) return "unsigned";
  return problemOf(await verifySshAsync(signature, payload), allowed);
};

/**
 * Whether commits prove who wrote them, one at a time, as the index meets
 * them: a good signature by a key that the commit's own tree lists under
 * `.gitchat/signers/`. One signature check a commit (an Ed25519 verify, about
 * 50 to 90 us on the 2-core test machine: the bulk of the cost) and one read
 * of its root tree; the keys are read once for each version of `.gitchat/`.
 */
export class CommitProver {
  /** The keys listed, by the id of the `.gitchat` directory that lists them. */
  private readonly keys = new Map<string, ReadonlySet<string>>();
  /**
   * The parents of proven single-parent commits checked since a commit was
   * found unproven (or from the start, when `unprovenBefore`): where signing
   * may have begun over an unproven history (see beforeSigning). While no
   * commit is unproven, none can be under such a start, and none is kept.
   */
  readonly startCandidates = new Set<string>();
  private anyUnproven: boolean;

  /** `unprovenBefore`: commits checked earlier (in the index) were found unproven. */
  constructor(
    private readonly store: ObjectSource,
    unprovenBefore: boolean,
  ) {
    this.anyUnproven = unprovenBefore;
  }

  /** Commits' verdicts, taken in the order proves() was called (the start candidates depend on it). */
  private inOrder: Promise<unknown> = Promise.resolve();

  /**
   * Whether `oid` proves who wrote it. The signature is verified on the
   * thread pool, so a caller that does not wait at once (the indexer waits
   * when it stores a batch) overlaps the checks with its own reading.
   */
  async proves(oid: string): Promise<boolean> {
    const { content } = await this.store.readObject(oid);
    const commit = parseCommit(content);
    // Keyed by the `.gitchat` directory's id: one tree read a commit (its root) while that directory is unchanged.
    const top = (await this.store.readTree(commit.tree)).find((e) => e.name === SIGNERS_DIR[0] && e.mode === "40000")?.oid;
    let allowed = top === undefined ? new Set<string>() : this.keys.get(top);
    if (allowed === undefined) {
      allowed = await signersIn(this.store, commit.tree);
      this.keys.set(top!, allowed);
    }
    const problem = signatureProblemAsync(content, allowed);
    const verdict = this.inOrder.then(async () => {
      const proven = (await problem) === undefined;
      if (!proven) this.anyUnproven = true;
      else if (this.anyUnproven && commit.parent.length === 1) this.startCandidates.add(commit.parent[0]!);
      return proven;
    });
    this.inOrder = verdict;
    return verdict;
  }

  /** Resolves once every verdict asked for so far is in (startCandidates is then complete). */
  settled() {
    return this.inOrder;
  }
}

/**
 * The history from before signing began under `parent`, the single parent of
 * a proven commit: when `parent` is unsigned and its tree has no signer file
 * (so the proven commit began signing on this line), `parent` and every
 * unsigned commit under it, down to signed ones; otherwise nothing. The
 * proven commit's signature covers its parent's id, and so all of these: none
 * can be added or changed there without breaking it (see unprovenCommits).
 */
export const beforeSigning = async (store: ObjectSource, parent: string) => {
  const isUnsigned = async (oid: string) => splitSignature((await store.readObject(oid)).content).signature === undefined;
  if (!(await isUnsigned(parent)) || (await hasSigners(store, (await store.readCommit(parent)).tree))) return [];
  const found: string[] = [];
  const seen = new Set<string>([parent]);
  const stack = [parent];
  while (stack.length > 0) {
    const oid = stack.pop()!;
    if (!(await isUnsigned(oid))) continue;
    found.push(oid);
    for (const next of (await store.readCommit(oid)).parent) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return found;
};

/**
 * Every commit `head` reaches whose signature is missing, unreadable, wrong
 * for its content, or made by a key that `allowed` lacks (`unproven`), except
 * the history from before signing began (`beforeSigning`): the unsigned
 * ancestors of a commit that began it, one signed by an allowed key whose
 * single parent's tree has no signer file yet (what a server writes first
 * after it is upgraded into a channel that was never signed). That commit's
 * signature covers its parent's id, and so every commit under it: none can be
 * added there or changed without breaking it. A commit pushed around gitchat
 * later cannot get under it, so it is still reported, even once a server has
 * merged it. `onChecked` is told how many commits were checked so far. The
 * walk remembers the ids it has seen (about 100 bytes a commit); each commit
 * is read once, and the history before signing once more.
 */
export const unprovenCommits = async (
  store: ObjectSource,
  head: string,
  allowed: ReadonlySet<string>,
  onChecked?: (checked: number) => void,
) => {
  const found: UnprovenCommit[] = [];
  const seen = new Set<string>([head]);
  const stack = [head];
  /** Signed by an allowed key, with one parent: the parent, when it is unsigned too (a possible start of signing). */
  const startCandidates: { parent: string }[] = [];
  const unsigned = new Set<string>();
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
    const { signed, problem } = signatureProblem(content, allowed);
    if (problem) found.push({ commit: oid, subject: commit.message.split("\n")[0]!, problem });
    if (!signed) unsigned.add(oid);
    else if (!problem && commit.parent.length === 1) startCandidates.push({ parent: commit.parent[0]! });
    onChecked?.(seen.size - stack.length);
  }
  // The history before signing: from each start of signing down, unsigned commits only.
  const before = new Set<string>();
  const starts: string[] = [];
  for (const { parent } of startCandidates) {
    if (unsigned.has(parent) && !(await hasSigners(store, (await store.readCommit(parent)).tree))) starts.push(parent);
  }
  while (starts.length > 0) {
    const oid = starts.pop()!;
    if (before.has(oid) || !unsigned.has(oid)) continue;
    before.add(oid);
    starts.push(...(await store.readCommit(oid)).parent);
  }
  const unproven = found.filter((c) => !before.has(c.commit));
  return { checked: seen.size, unproven, beforeSigning: found.length - unproven.length };
};
