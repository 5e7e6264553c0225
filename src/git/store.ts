/**
 * One channel's bare git repository: objects, packs and the `main` ref. It
 * knows nothing of chat: what a commit adds, and where, is decided by the
 * caller (messages/layout.ts lays out message files).
 *
 * All writes to a repository (commits, merges, ref updates) run one at a
 * time through `exclusive`, because isomorphic-git is not safe for
 * concurrent writes (NOTES.md). Reads may run beside a write: objects appear
 * atomically and the branch ref is replaced by rename.
 */
import { existsSync } from "node:fs";
import * as fs from "node:fs";
import { join } from "node:path";
import git from "isomorphic-git";
import { StoreIntegrityError } from "../errors.ts";
import type { Durability } from "../config.ts";
import { makeDirectory, syncTree } from "./durable.ts";
import { ObjectDatabase } from "./object-db.ts";
import { BRANCH, REF, Refs } from "./refs.ts";
import {
  compareEntries,
  hashObject,
  parseCommit,
  parseTree,
  type ParsedCommit,
  serializeCommit,
  serializeTree,
  writeLooseObject,
  type ObjectType,
  type Signature,
  type TreeEntry,
} from "./objects.ts";
import { listSmallPacks, Repacker, type PackResult } from "./repack.ts";
import type { ObjectSink } from "./object-source.ts";

export { BRANCH, REF };
const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

export type StoreOptions = {
  /** Objects in small packs (or loose) that trigger a background pack. */
  packThreshold?: number;
  onPackError?: (error: unknown) => void;
  /** `full` (the default): every write is on the disk before it counts; `process`: no fsync. */
  durability?: Durability;
  /** Open an existing repository for reading only (`gitchat verify`): no init, no clean-up of temporary files. */
  readOnly?: boolean;
};

/** A file for a commit to add: its directory, name and content. */
export type NewFile = { dir: readonly string[]; name: string; content: Uint8Array };

/** Reads the tree a commit builds on. */
export type TreeReader = { entriesAt(path: readonly string[]): Promise<TreeEntry[] | undefined> };

/** Decides, from the tree a commit builds on, the files it adds and its message. */
export type CommitPlan = (tree: TreeReader) => Promise<{ files: NewFile[]; message: string }>;

/** A message file that a commit added: its path, blob and the commit itself. */
export type IntroducedFile = { path: string; oid: string };

export class ChannelStore implements ObjectSink {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly treeCache = new Map<string, { entries?: TreeEntry[]; raw?: Uint8Array }>();
  private readonly commitCache = new Map<string, ParsedCommit>();
  private readonly objects: ObjectDatabase;
  private readonly repacker: Repacker;
  /** Whether writes are fsynced (DURABILITY=full). */
  readonly sync: boolean;
  private readonly refs: Refs;

  private constructor(readonly gitdir: string, options: StoreOptions) {
    this.sync = (options.durability ?? "full") === "full";
    this.objects = new ObjectDatabase(gitdir, this.sync);
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
    return this.exclusive(() => {
      this.refs.forgetHead();
      this.refs.moveHead(commit);
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
        return await this.writeCommitOf(plan, author);
      } finally {
        this.objects.closeBatch();
      }
    });
  }

  private async writeCommitOf(plan: CommitPlan, author: Signature) {
    const parent = await this.head();
    // Before anything is written: never a commit on top of a ref that moved or vanished.
    this.refs.checkHeadUnchanged();
    let tree = parent ? await this.commitTree(parent) : undefined;
    const base = tree;
    const { files, message } = await plan({ entriesAt: (path) => this.entriesAt(base, path) });
    const byDir = new Map<string, { dir: readonly string[]; files: { name: string; oid: string }[] }>();
    for (const file of files) {
      const key = file.dir.join("/");
      const group = byDir.get(key) ?? { dir: file.dir, files: [] };
      group.files.push({ name: file.name, oid: this.objects.putObject("blob", file.content) });
      byDir.set(key, group);
    }
    for (const { dir, files: group } of byDir.values()) tree = (await this.addFiles(tree, [...dir], group)).oid;
    const commitContent = serializeCommit({
      tree: tree!,
      parents: parent ? [parent] : [],
      author,
      committer: { name: "gitchat", email: "gitchat@localhost", timestamp: author.timestamp },
      message,
    });
    const commit = this.objects.putObject("commit", commitContent);
    this.commitCache.set(commit, parseCommit(commitContent));
    // Objects first, whole; only then may the branch point at them.
    this.objects.flushBatch();
    this.refs.moveHead(commit);
    this.repacker.maybePack();
    return commit;
  }

  /** The entries of the directory at `path` under `tree`, or undefined when there is none. */
  private async entriesAt(tree: string | undefined, path: readonly string[]): Promise<TreeEntry[] | undefined> {
    let entries = tree ? await this.readTree(tree) : undefined;
    for (const name of path) {
      const dir = entries?.find((e) => e.name === name && e.mode === "40000");
      entries = dir ? await this.readTree(dir.oid) : undefined;
    }
    return entries;
  }

  /** Writes the tree `tree` with `files` added at `path` (and the trees above them); returns the new tree's id. */
  private async addFiles(
    tree: string | undefined,
    path: string[],
    files: { name: string; oid: string }[],
  ): Promise<{ oid: string }> {
    const entries = tree ? await this.readTree(tree) : [];
    const [dir, ...rest] = path;
    if (dir === undefined) {
      const added = files.map((f): TreeEntry => ({ mode: "100644", name: f.name, oid: f.oid })).sort(compareEntries);
      const last = entries[entries.length - 1];
      // Ids grow with time, so new files nearly always sort after the rest:
      // then the new tree is the old one's bytes with the new entries after them.
      if (tree && last && compareEntries(last, added[0]!) < 0) {
        const raw = Buffer.concat([await this.treeRaw(tree), serializeTree(added)]);
        return { oid: this.writeTree([...entries, ...added], raw) };
      }
      return { oid: this.writeTree(dedupe([...entries, ...added].sort(compareEntries))) };
    }
    const existing = entries.find((e) => e.name === dir && e.mode === "40000");
    const sub = await this.addFiles(existing?.oid, rest, files);
    const next = entries.filter((e) => e.name !== dir);
    next.push({ mode: "40000", name: dir, oid: sub.oid });
    next.sort(compareEntries);
    return { oid: this.writeTree(next) };
  }

  private writeTree(entries: TreeEntry[], raw = serializeTree(entries)) {
    const oid = this.objects.putObject("tree", raw);
    this.remember(oid, entries, raw);
    return oid;
  }

  private remember(oid: string, entries: TreeEntry[] | undefined, raw: Uint8Array | undefined) {
    const known = this.treeCache.get(oid);
    this.treeCache.delete(oid);
    this.treeCache.set(oid, { entries: entries ?? known?.entries, raw: raw ?? known?.raw });
    // Only the trees along today's path are hot; keep a handful.
    if (this.treeCache.size > 16) this.treeCache.delete(this.treeCache.keys().next().value!);
  }

  /** A tree's bytes as stored. */
  async treeRaw(oid: string): Promise<Uint8Array> {
    if (oid === EMPTY_TREE) return new Uint8Array(0);
    const cached = this.treeCache.get(oid)?.raw;
    if (cached) return cached;
    const { type, content } = await this.readObject(oid);
    if (type !== "tree") throw new StoreIntegrityError(`object ${oid} should be a tree but is a ${type}`);
    this.remember(oid, undefined, content);
    return content;
  }

  /**
   * The entries of `tree` that none of `parents` has with the same id, each
   * with the same-named entries the parents do have. When the tree is its
   * single parent's bytes with entries after them (how message files are
   * added), only those new bytes are read: the cost follows the change, not
   * the size of the directory.
   */
  async changedEntries(tree: string, parents: string[]): Promise<{ entry: TreeEntry; same: TreeEntry[] }[]> {
    if (parents.includes(tree)) return [];
    if (parents.length === 1) {
      const [raw, parentRaw] = await Promise.all([this.treeRaw(tree), this.treeRaw(parents[0]!)]);
      if (raw.length > parentRaw.length && Buffer.from(raw.buffer, raw.byteOffset, parentRaw.length).equals(parentRaw)) {
        return parseTree(raw.subarray(parentRaw.length)).map((entry) => ({ entry, same: [] }));
      }
    }
    const entries = await this.readTree(tree);
    const maps = await Promise.all(parents.map(async (p) => new Map((await this.readTree(p)).map((e) => [e.name, e]))));
    const changed: { entry: TreeEntry; same: TreeEntry[] }[] = [];
    for (const entry of entries) {
      const same = maps.map((m) => m.get(entry.name)).filter((e): e is TreeEntry => e !== undefined);
      if (!same.some((e) => e.oid === entry.oid)) changed.push({ entry, same });
    }
    return changed;
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
        this.objects.flushBatch();
      } finally {
        this.objects.closeBatch();
      }
      if (next !== undefined) {
        this.refs.checkHeadUnchanged();
        this.refs.moveHead(next);
        this.repacker.maybePack();
      }
      return this.head();
    });
  }

  /** Writes a merge commit of `parents` with `tree`; the caller moves `main` to it. */
  writeMergeCommit(tree: string, parents: string[], message: string, timestamp: number) {
    const signature = { name: "gitchat", email: "gitchat@localhost", timestamp };
    return this.objects.putObject("commit", serializeCommit({ tree, parents, author: signature, committer: signature, message }));
  }

  /** Writes a tree of `entries` (any order) and returns its id. */
  writeTreeEntries(entries: TreeEntry[]) {
    return this.writeTree([...entries].sort(compareEntries));
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

  async readTree(oid: string): Promise<TreeEntry[]> {
    if (oid === EMPTY_TREE) return [];
    const cached = this.treeCache.get(oid)?.entries;
    if (cached) return cached;
    const entries = parseTree(await this.treeRaw(oid));
    this.remember(oid, entries, undefined);
    return entries;
  }

  async readCommit(oid: string): Promise<ParsedCommit> {
    const known = this.commitCache.get(oid);
    if (known) return known;
    const { type, content } = await this.readObject(oid);
    if (type !== "commit") throw new StoreIntegrityError(`object ${oid} should be a commit but is a ${type}`);
    const commit = parseCommit(content);
    this.commitCache.set(oid, commit);
    // Commits are small, and walks revisit recent ones: keep the last few thousand.
    if (this.commitCache.size > 4096) this.commitCache.delete(this.commitCache.keys().next().value!);
    return commit;
  }

  private async commitTree(oid: string) {
    return (await this.readCommit(oid)).tree;
  }

  async readBlob(oid: string): Promise<Uint8Array> {
    const { type, content } = await this.readObject(oid);
    if (type !== "blob") throw new StoreIntegrityError(`object ${oid} should be a blob but is a ${type}`);
    return content;
  }

  /**
   * The files (whose path `select` accepts) a commit adds: present in its tree and in none of its
   * parents'. Subtrees that a parent shares unchanged are skipped, so the cost
   * follows the size of the change, not of the history. A path whose content
   * differs from a parent's is reported in `altered` (tampering, or a bug).
   */
  async introducedFiles(commitOid: string, select: (path: string) => boolean) {
    const commit = await this.readCommit(commitOid);
    const parentTrees = await Promise.all(commit.parent.map((p) => this.commitTree(p)));
    const added: IntroducedFile[] = [];
    const altered: IntroducedFile[] = [];
    const walk = async (tree: string, parents: string[], prefix: string) => {
      for (const { entry, same } of await this.changedEntries(tree, parents)) {
        const path = `${prefix}${entry.name}`;
        if (entry.mode === "40000") {
          await walk(entry.oid, same.filter((e) => e.mode === "40000").map((e) => e.oid), `${path}/`);
        } else if (select(path)) {
          (same.length === 0 ? added : altered).push({ path, oid: entry.oid });
        }
      }
    };
    await walk(commit.tree, parentTrees, "");
    return { parents: commit.parent, added, altered };
  }

  /** Every file in the tree of `commitOid` whose path `select` accepts. */
  async listFiles(commitOid: string, select: (path: string) => boolean): Promise<IntroducedFile[]> {
    const files: IntroducedFile[] = [];
    const walk = async (tree: string, prefix: string) => {
      for (const entry of await this.readTree(tree)) {
        const path = `${prefix}${entry.name}`;
        if (entry.mode === "40000") await walk(entry.oid, `${path}/`);
        else if (select(path)) files.push({ path, oid: entry.oid });
      }
    };
    await walk(await this.commitTree(commitOid), "");
    return files;
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

/** Two writes of the same name into one directory keep one entry (for messages: same id, same path). */
const dedupe = (entries: TreeEntry[]) =>
  entries.filter((e, i) => i === 0 || e.name !== entries[i - 1]!.name);
