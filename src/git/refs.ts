/**
 * A repository's refs, `main` and the remote's `main`, read and written the
 * same way. Read strictly: a loose ref file, or else a line of `packed-refs`
 * (as a user's `git gc` or `git pack-refs` leaves them); a ref that is empty
 * or not a commit id is damage to report, never a branch to start again from.
 * Written through a temporary file, fsynced, renamed over the ref, and the
 * directory fsynced: a new loose file, which git reads before `packed-refs`.
 *
 * Ours, not isomorphic-git's: its `resolveRef` returns nothing for an empty
 * or garbled ref (and a new root commit would follow), and its `writeRef`
 * does not fsync (README, "Why objects and refs are written by hand").
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DamagedStoreError } from "../errors.ts";
import { makeDirectory, replaceFile } from "./durable.ts";

export const BRANCH = "main";
export const REF = `refs/heads/${BRANCH}`;
/** Where the remote's `main` was when last seen: fetched, or pushed to. */
export const REMOTE_REF = "refs/remotes/origin/main";

export type RefState =
  | { kind: "ok"; oid: string }
  | { kind: "missing" }
  | { kind: "empty" }
  | { kind: "garbled"; text: string };

const OID = /^[0-9a-f]{40}$/;

const readText = (path: string) => {
  try {
    return readFileSync(path, "latin1");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return undefined;
    throw error;
  }
};

export const readRef = (gitdir: string, ref = REF): RefState => {
  const text = readText(join(gitdir, ref));
  if (text === undefined) {
    const packed = readText(join(gitdir, "packed-refs"));
    const line = packed?.split("\n").find((l) => l.endsWith(` ${ref}`));
    const oid = line?.slice(0, 40);
    if (oid === undefined) return { kind: "missing" };
    return OID.test(oid) ? { kind: "ok", oid } : { kind: "garbled", text: line! };
  }
  const value = text.trim();
  if (value === "") return { kind: "empty" };
  return OID.test(value) ? { kind: "ok", oid: value } : { kind: "garbled", text: value };
};

/** The state in a few words, for an error line: "missing", "empty", "garbled (\"xyz\")", or the commit it names. */
export const describeRef = (state: RefState) => {
  switch (state.kind) {
    case "ok":
      return `names ${state.oid}`;
    case "missing":
      return "is missing";
    case "empty":
      return "is empty";
    case "garbled":
      return `is garbled (${JSON.stringify(state.text.slice(0, 40))})`;
  }
};

/**
 * Moves a ref: a temporary file beside it, synced, renamed over it, its
 * directory synced. On failure the ref stays where it was, and no temporary
 * is left behind.
 */
export const writeRef = (gitdir: string, ref: string, commit: string, sync: boolean, renamed?: () => void) => {
  const path = join(gitdir, ref);
  makeDirectory(join(path, ".."), sync);
  // The temporary lives outside refs/, where git would take a leftover for a branch.
  return replaceFile(path, join(gitdir, `tmp_ref_${process.pid}`), `${commit}\n`, sync, renamed);
};

/**
 * `main` and the remote's `main` of one repository, as this process last
 * read or wrote them. The caller runs writes one at a time (ChannelStore's
 * `exclusive`).
 */
export class Refs {
  private cachedHead: string | undefined | null = null;

  constructor(
    private readonly gitdir: string,
    private readonly sync: boolean,
  ) {}

  /** The commit `main` points at, or undefined for an empty channel; a ref that is empty or garbled is damage. */
  async head(): Promise<string | undefined> {
    if (this.cachedHead !== null) return this.cachedHead;
    const state = readRef(this.gitdir);
    if (state.kind !== "ok" && state.kind !== "missing") throw this.damagedRef(`${describeRef(state)}`);
    this.cachedHead = state.kind === "ok" ? state.oid : undefined;
    return this.cachedHead;
  }

  /** The commit `main` names on disk now, read again (for a reader beside a running server); undefined when it names none. */
  headOnDisk(): string | undefined {
    const state = readRef(this.gitdir);
    return state.kind === "ok" ? state.oid : undefined;
  }

  private damagedRef(what: string) {
    return new DamagedStoreError(
      `${join(this.gitdir, REF)} ${what}; nothing was written. Stop gitchat and run \`gitchat repair\``,
    );
  }

  /**
   * Throws unless `main` on disk is still what this process last read or
   * wrote: a ref that vanished or moved under the server is damage (or
   * another writer), and writing on top of it would fork the history.
   */
  checkHeadUnchanged() {
    if (this.cachedHead === null) return;
    const state = readRef(this.gitdir);
    const now = state.kind === "ok" ? state.oid : state.kind === "missing" ? undefined : null;
    if (now === this.cachedHead) return;
    throw this.damagedRef(`${describeRef(state)}, but this server last ${this.cachedHead ? `saw ${this.cachedHead}` : "saw no branch"}`);
  }

  /** Forgets what `main` was last seen at (before `gitchat repair` moves it, whatever it holds). */
  forgetHead() {
    this.cachedHead = null;
  }

  /** Points `main` at `commit`. Callers check first that it is still where this server left it (checkHeadUnchanged). */
  moveHead(commit: string) {
    // What this server last wrote is the new commit from its rename on: /health
    // compares the ref with it while the directory is still being synced.
    return writeRef(this.gitdir, REF, commit, this.sync, () => {
      this.cachedHead = commit;
    });
  }

  /** The remote's `main` as last seen, or undefined before the first sync. */
  remoteHead(): string | undefined {
    // Read as `main` is (a loose file, else packed-refs after a user's `git gc`).
    // A damaged remote-tracking ref costs only a fuller fetch: it counts as unknown.
    const state = readRef(this.gitdir, REMOTE_REF);
    return state.kind === "ok" ? state.oid : undefined;
  }

  moveRemoteHead(commit: string) {
    return writeRef(this.gitdir, REMOTE_REF, commit, this.sync);
  }
}
