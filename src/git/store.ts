/**
 * One channel's bare git repository, as the services see it: a thin facade
 * over the parts that each do one job, and the one place that orders writes.
 * It knows nothing of chat: what a commit adds, and where, is decided by the
 * caller (messages/layout.ts lays out message files).
 *
 * - refs.ts: `main` and the remote's `main`, read and written the same way;
 * - object-db.ts: loose objects, packs and the open batch;
 * - object-reader.ts: commits, trees and blobs by id, with caches;
 * - commit-builder.ts: the blobs, trees and commit of a new commit;
 * - commit-files.ts: which files a commit holds or adds;
 * - repack.ts: folding loose objects and small packs in the background;
 * - isomorphic-git (here): creating the repository and its config.
 *
 * It stays one object per channel so that the services, transfer.ts and the
 * history walks keep one handle, and because a commit spans the parts: its
 * objects go to disk as one pack before `main` moves, and all writes to a
 * repository (commits, merges, ref and config updates) run one at a time
 * through `exclusive`: a commit reads `main` and then moves it, so two at
 * once would fork the history, and isomorphic-git's config writes are not
 * safe beside each other (its issue #1278). Reads may run beside a write:
 * objects appear atomically and a ref is replaced by rename.
 */
import { existsSync } from "node:fs";
import * as fs from "node:fs";
import { join } from "node:path";
import git from "isomorphic-git";
import type { Durability } from "../config.ts";
import { CommitBuilder, type CommitPlan, type CommitSigner } from "./commit-builder.ts";
import { introducedFiles, listFiles, type IntroducedFile } from "./commit-files.ts";
import { makeDirectory, syncTree } from "./durable.ts";
import { ObjectDatabase } from "./object-db.ts";
import { ObjectReader } from "./object-reader.ts";
import type { ObjectType, ParsedCommit, Signature, TreeEntry } from "./objects.ts";
import type { ObjectSink } from "./object-source.ts";
import { BRANCH, REF, Refs } from "./refs.ts";
import { listSmallPacks, Repacker, type PackResult } from "./repack.ts";

export { BRANCH, REF };
export type { CommitPlan, CommitSigner, NewFile, TreeReader } from "./commit-builder.ts";
export type { IntroducedFile } from "./commit-files.ts";

export type StoreOptions = {
  /** Objects in small packs (or loose) that trigger a background pack. */
  packThreshold?: number;
  onPackError?: (error: unknown) => void;
  /** `full` (the default): every write is on the disk before it counts; `process`: no fsync. */
  durability?: Durability;
  /** Open an existing repository for reading only (`gitchat verify`): no init, no clean-up of temporary files. */
  readOnly?: boolean;
  /** Signs every commit and is its committer (the server's key); without one, commits are unsigned (tests of the store alone). */
  signer?: CommitSigner;
};

export class ChannelStore implements ObjectSink {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly objects: ObjectDatabase;
  private readonly reader: ObjectReader;
  private readonly builder: CommitBuilder;
  private readonly repacker: Repacker;
  /** Whether writes are fsynced (DURABILITY=full). */
  readonly sync: boolean;
  private readonly refs: Refs;

  private constructor(readonly gitdir: string, options: StoreOptions) {
    this.sync = (options.durability ?? "full") === "full";
    this.objects = new ObjectDatabase(gitdir, this.sync);
    this.reader = new ObjectReader(this.objects);
    this.builder = new CommitBuilder(this.objects, this.reader, options.signer);
    this.repacker = new Repacker(this, this.objects, options.packThreshold ?? 4000, options.onPackError);
    this.refs = new Refs(gitdir, this.sync);
  }

  /** Opens the bare repository at `gitdir`, creating it (branch `main`) if it does not exist. */
  static async open(gitdir: string, options: StoreOptions = {}) {
    if (options.readOnly) return new ChannelStore(gitdir, options);
    if (!existsSync(join(gitdir, "HEAD"))) {
      const sync = (options.durability ?? "full") === "full";
      makeDirectory(gitdir, sync, 0o700);
      await git.init({ fs, dir: gitdir, gitdir, bare: true, defaultBranch: BRANCH });
      syncTree(gitdir, sync);
    }
    const store = new ChannelStore(gitdir, options);
    store.objects.unpacked = listSmallPacks(gitdir).reduce((n, p) => n + p.oids.length, 0) + store.objects.sweepLooseObjects();
    return store;
  }

  async getConfig(path: string): Promise<string | undefined> {
    return (await git.getConfig({ fs, gitdir: this.gitdir, path })) ?? undefined;
  }

  setConfig(path: string, value: string) {
    return this.exclusive(async () => {
      await git.setConfig({ fs, gitdir: this.gitdir, path, value });
      // isomorphic-git rewrites the file in place; make it durable at least.
      syncTree(join(this.gitdir, "config"), this.sync);
    });
  }

  /** Runs `work` when every earlier write to this repository has finished. */
  exclusive<T>(work: () => Promise<T> | T): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** The commit `main` points at, or undefined for an empty channel; a ref that is empty or garbled is damage. */
  head(): Promise<string | undefined> {
    return this.refs.head();
  }

  /** The commit `main` names on disk now, read again (for a reader beside a running server); undefined when it names none. */
  headOnDisk(): string | undefined {
    return this.refs.headOnDisk();
  }

  /** Throws unless `main` on disk is still what this process last read or wrote (see Refs). */
  checkHeadUnchanged() {
    this.refs.checkHeadUnchanged();
  }

  /** Points `main` at `commit`, whatever the ref holds now: for `gitchat repair`, which holds the data directory's lock. */
  restoreHead(commit: string) {
    return this.exclusive(async () => {
      this.refs.forgetHead();
      await this.refs.moveHead(commit);
    });
  }

  /**
   * Commits on top of `main` the files that `plan` decides, given a reader
   * of the tree the commit builds on (so the decision is made inside the
   * single writer, on the tree it extends), and returns the commit's hash.
   * Callers batch what arrives while a commit is in flight (group commit);
   * this only writes.
   */
  commitFiles(plan: CommitPlan, author: Signature): Promise<string> {
    return this.exclusive(async () => {
      this.objects.openBatch();
      try {
        const parent = await this.head();
        // Before anything is written: never a commit on top of a ref that moved or vanished.
        this.refs.checkHeadUnchanged();
        const commit = await this.builder.commit(parent, plan, author);
        // Objects first, whole; only then may the branch point at them.
        await this.objects.flushBatch();
        await this.refs.moveHead(commit);
        this.repacker.maybePack();
        return commit;
      } finally {
        this.objects.closeBatch();
      }
    });
  }

  /** The remote's `main` as last seen, or undefined before the first sync. */
  remoteHead(): string | undefined {
    return this.refs.remoteHead();
  }

  setRemoteHead(commit: string) {
    return this.exclusive(() => this.refs.moveRemoteHead(commit));
  }

  /**
   * Moves `main` to what `decide` returns given the current head (a
   * fast-forward, or a merge commit it wrote), or leaves it where it is on
   * undefined. Runs as one write: no commit can slip in between.
   */
  updateHead(decide: (current: string | undefined) => Promise<string | undefined>) {
    return this.exclusive(async () => {
      // What `decide` writes (a merge's trees and commit) goes to disk as one pack before the ref moves.
      this.objects.openBatch();
      let next: string | undefined;
      try {
        next = await decide(await this.head());
        await this.objects.flushBatch();
      } finally {
        this.objects.closeBatch();
      }
      if (next !== undefined) {
        this.refs.checkHeadUnchanged();
        await this.refs.moveHead(next);
        this.repacker.maybePack();
      }
      return this.head();
    });
  }

  /** Writes a merge commit of `parents` with `tree` (see CommitBuilder.writeMergeCommit); the caller moves `main` to it. */
  writeMergeCommit(tree: string, parents: string[], message: string, timestamp: number): Promise<string> {
    return this.builder.writeMergeCommit(tree, parents, message, timestamp);
  }

  /** Writes a tree of `entries` (any order) and returns its id. */
  writeTreeEntries(entries: TreeEntry[]) {
    return this.builder.writeTreeEntries(entries);
  }

  hasObject(oid: string) {
    return this.objects.hasObject(oid);
  }

  /** An object's type and content, loose or packed. */
  readObject(oid: string): Promise<{ type: ObjectType; content: Uint8Array }> {
    return this.objects.readObject(oid);
  }

  /** A packed object's entry as stored (see PackReader.storedEntry); undefined when it is loose or unknown. */
  storedEntry(oid: string) {
    return this.objects.storedEntry(oid);
  }

  /** Receives a pack from a remote as one more pack of this repository (see ObjectDatabase.receivePack). */
  receivePack(
    fill: (sink: (bytes: Uint8Array) => void) => Promise<boolean>,
    onObject?: (object: { oid: string; type: ObjectType | "tag" }) => void,
  ): Promise<{ objects: number; bytes: number }> {
    return this.objects.receivePack(fill, onObject);
  }

  /** A tree's bytes as stored. */
  treeRaw(oid: string): Promise<Uint8Array> {
    return this.reader.treeRaw(oid);
  }

  /** The entries of `tree` that none of `parents` has with the same id, each with the same-named entries the parents have (see ObjectReader). */
  changedEntries(tree: string, parents: string[]): Promise<{ entry: TreeEntry; same: TreeEntry[] }[]> {
    return this.reader.changedEntries(tree, parents);
  }

  readTree(oid: string): Promise<TreeEntry[]> {
    return this.reader.readTree(oid);
  }

  readCommit(oid: string): Promise<ParsedCommit> {
    return this.reader.readCommit(oid);
  }

  readBlob(oid: string): Promise<Uint8Array> {
    return this.reader.readBlob(oid);
  }

  /** The files (whose path `select` accepts) a commit adds, and those it alters (see commit-files.ts). */
  introducedFiles(commitOid: string, select: (path: string) => boolean) {
    return introducedFiles(this, commitOid, select);
  }

  /** Every file in the tree of `commitOid` whose path `select` accepts. */
  listFiles(commitOid: string, select: (path: string) => boolean): Promise<IntroducedFile[]> {
    return listFiles(this, commitOid, select);
  }

  /** Packs every loose object and small pack into one new pack now (see Repacker.pack). */
  pack(): Promise<PackResult | undefined> {
    return this.repacker.pack();
  }

  /** Waits for a pack that is running, if any. */
  async idle() {
    await this.tail;
    await this.repacker.running();
  }
}
