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
import { existsSync, rmSync, readdirSync } from "node:fs";
import * as fs from "node:fs";
import { join } from "node:path";
import git from "isomorphic-git";
import { DamagedStoreError, StoreIntegrityError } from "../errors.ts";
import type { Durability } from "../config.ts";
import { BRANCH, describeBranch, readBranch, REF } from "./branch.ts";
import { makeDirectory, replaceFile, syncTree, writeNewFileAsync } from "./durable.ts";
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
import { installPack, listSmallPacks, packLooseObjects, readLooseFile, type PackResult } from "./pack.ts";
import { PackFileWriter, indexPackFile } from "./index-pack.ts";
import { PackWriter, type IndexEntry } from "./packfile.ts";
import { PackReader } from "./pack-reader.ts";
import type { ObjectSink } from "./object-source.ts";

let packCounter = 0;

export { BRANCH, REF };
/** Where the remote's `main` was when last seen: fetched, or pushed to. */
const REMOTE_REF = "refs/remotes/origin/main";
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
  private cachedHead: string | undefined | null = null;
  private readonly treeCache = new Map<string, { entries?: TreeEntry[]; raw?: Uint8Array }>();
  private readonly commitCache = new Map<string, ParsedCommit>();
  private readonly packs: PackReader;
  /** Objects written loose or into small packs since the last background pack. */
  private unpacked = 0;
  private packing: Promise<PackResult | undefined> | undefined;
  private readonly packThreshold: number;
  /** Whether writes are fsynced (DURABILITY=full). */
  readonly sync: boolean;

  private constructor(readonly gitdir: string, private readonly options: StoreOptions) {
    this.packThreshold = options.packThreshold ?? 4000;
    this.sync = (options.durability ?? "full") === "full";
    this.packs = new PackReader(gitdir);
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
    store.unpacked = store.sweepLooseObjects();
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
  async head(): Promise<string | undefined> {
    if (this.cachedHead !== null) return this.cachedHead;
    const state = readBranch(this.gitdir);
    if (state.kind !== "ok" && state.kind !== "missing") throw this.damagedRef(`${describeBranch(state)}`);
    this.cachedHead = state.kind === "ok" ? state.oid : undefined;
    return this.cachedHead;
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
    const state = readBranch(this.gitdir);
    const now = state.kind === "ok" ? state.oid : state.kind === "missing" ? undefined : null;
    if (now === this.cachedHead) return;
    throw this.damagedRef(`${describeBranch(state)}, but this server last ${this.cachedHead ? `saw ${this.cachedHead}` : "saw no branch"}`);
  }

  /** Points `main` at `commit`, whatever the ref holds now: for `gitchat repair`, which holds the data directory's lock. */
  restoreHead(commit: string) {
    return this.exclusive(async () => {
      this.cachedHead = null;
      await this.updateRef(commit);
    });
  }

  /** Objects of the commit being written, held until they go to disk as one pack. */
  private batch: Map<string, { type: ObjectType; content: Uint8Array }> | undefined;

  /** Stores an object: into the open batch, or else as a loose object. */
  private putObject(type: ObjectType, content: Uint8Array) {
    if (!this.batch) {
      this.unpacked++;
      return writeLooseObject(this.gitdir, type, content, this.sync);
    }
    const { oid } = hashObject(type, content);
    this.batch.set(oid, { type, content });
    return oid;
  }

  /**
   * Writes the open batch as one small pack (two files, where loose objects
   * would be one file each: a commit of 25 messages is ~33 objects) and
   * registers it with the reader. Small packs are folded into one by the
   * background pack.
   */
  private async flushBatch() {
    const batch = this.batch!;
    this.batch = undefined;
    if (batch.size === 0) return;
    const chunks: Uint8Array[] = [];
    const writer = new PackWriter(batch.size, (bytes) => chunks.push(bytes));
    for (const [oid, { type, content }] of batch) writer.add(oid, type, content);
    const checksum = writer.finish();
    await this.writePack(Buffer.concat(chunks), writer.entries, checksum);
    this.unpacked += batch.size;
  }

  /**
   * Puts a whole pack in place with its index, each synced before the rename
   * that publishes it and the directory synced after, and tells the reader.
   */
  private async writePack(data: Uint8Array, entries: readonly IndexEntry[], checksum: Uint8Array) {
    const packDir = join(this.gitdir, "objects", "pack");
    makeDirectory(packDir, this.sync);
    const tmp = join(packDir, `tmp_pack_${process.pid}_${++packCounter}`);
    try {
      await writeNewFileAsync(tmp, data, this.sync);
      // The reader learns of the pack the moment it is in place (see installPack).
      await installPack(packDir, tmp, entries, checksum, this.sync, (name) => this.packs.add(name, join(packDir, `${name}.pack`), entries));
    } catch (error) {
      // A full disk leaves no half-written pack behind.
      rmSync(tmp, { force: true });
      throw error;
    }
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
      this.batch = new Map();
      try {
        return await this.writeCommitOf(plan, author);
      } finally {
        this.batch = undefined;
      }
    });
  }

  private async writeCommitOf(plan: CommitPlan, author: Signature) {
    const parent = await this.head();
    // Before anything is written: never a commit on top of a ref that moved or vanished.
    this.checkHeadUnchanged();
    let tree = parent ? await this.commitTree(parent) : undefined;
    const base = tree;
    const { files, message } = await plan({ entriesAt: (path) => this.entriesAt(base, path) });
    const byDir = new Map<string, { dir: readonly string[]; files: { name: string; oid: string }[] }>();
    for (const file of files) {
      const key = file.dir.join("/");
      const group = byDir.get(key) ?? { dir: file.dir, files: [] };
      group.files.push({ name: file.name, oid: this.putObject("blob", file.content) });
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
    const commit = this.putObject("commit", commitContent);
    this.commitCache.set(commit, parseCommit(commitContent));
    // Objects first, whole; only then may the branch point at them.
    await this.flushBatch();
    await this.updateRef(commit);
    this.maybePack();
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
    const oid = this.putObject("tree", raw);
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

  /**
   * Moves a ref: a temporary file beside it, synced, renamed over it, its
   * directory synced. Callers that move `main` check first that it is still
   * where this server left it (checkHeadUnchanged).
   */
  private async updateRef(commit: string, ref = REF) {
    const path = join(this.gitdir, ref);
    makeDirectory(join(path, ".."), this.sync);
    // On failure the ref stays where it was, and no temporary is left behind.
    // The temporary lives outside refs/, where git would take a leftover for a branch.
    // What this server last wrote is the new commit from its rename on: /health
    // compares the ref with it while the directory is still being synced.
    await replaceFile(path, join(this.gitdir, `tmp_ref_${process.pid}`), `${commit}\n`, this.sync, () => {
      if (ref === REF) this.cachedHead = commit;
    });
  }

  /** The remote's `main` as last seen, or undefined before the first sync. */
  remoteHead(): string | undefined {
    // Read as `main` is (a loose file, else packed-refs after a user's `git gc`).
    // A damaged remote-tracking ref costs only a fuller fetch: it counts as unknown.
    const state = readBranch(this.gitdir, REMOTE_REF);
    return state.kind === "ok" ? state.oid : undefined;
  }

  setRemoteHead(commit: string) {
    return this.exclusive(() => this.updateRef(commit, REMOTE_REF));
  }

  /**
   * Moves `main` to what `decide` returns given the current head (a
   * fast-forward, or a merge commit it wrote), or leaves it where it is on
   * undefined. Runs as one write: no commit can slip in between.
   */
  updateHead(decide: (current: string | undefined) => Promise<string | undefined>) {
    return this.exclusive(async () => {
      // What `decide` writes (a merge's trees and commit) goes to disk as one pack before the ref moves.
      this.batch = new Map();
      let next: string | undefined;
      try {
        next = await decide(await this.head());
        await this.flushBatch();
      } finally {
        this.batch = undefined;
      }
      if (next !== undefined) {
        this.checkHeadUnchanged();
        await this.updateRef(next);
        this.maybePack();
      }
      return this.head();
    });
  }

  /** Writes a merge commit of `parents` with `tree`; the caller moves `main` to it. */
  writeMergeCommit(tree: string, parents: string[], message: string, timestamp: number) {
    const signature = { name: "gitchat", email: "gitchat@localhost", timestamp };
    return this.putObject("commit", serializeCommit({ tree, parents, author: signature, committer: signature, message }));
  }

  /** Writes a tree of `entries` (any order) and returns its id. */
  writeTreeEntries(entries: TreeEntry[]) {
    return this.writeTree([...entries].sort(compareEntries));
  }

  async hasObject(oid: string) {
    return existsSync(join(this.gitdir, "objects", oid.slice(0, 2), oid.slice(2))) || this.packs.has(oid);
  }

  /** An object's type and content, loose or packed. */
  async readObject(oid: string): Promise<{ type: ObjectType; content: Uint8Array }> {
    const pending = this.batch?.get(oid);
    if (pending) return pending;
    // Packs this process knows first: a loose read that fails costs an
    // exception, and reading a packed history (a rebuild) is nearly all misses.
    const known = this.packs.readKnown(oid);
    if (known) return known as { type: ObjectType; content: Uint8Array };
    const loose = join(this.gitdir, "objects", oid.slice(0, 2), oid.slice(2));
    try {
      return readLooseFile(loose);
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
    }
    // Packing may have moved it between the two looks.
    const packed = this.packs.read(oid) ?? (existsSync(loose) ? readLooseFile(loose) : undefined);
    if (!packed) throw new StoreIntegrityError(`object ${oid} is missing from ${this.gitdir}`);
    return packed as { type: ObjectType; content: Uint8Array };
  }

  /** A packed object's entry as stored (see PackReader.storedEntry); undefined when it is loose or unknown. */
  storedEntry(oid: string) {
    // The packs already open first: most objects are there, and a look for a loose file costs a system call.
    const known = this.packs.storedEntry(oid, false);
    if (known) return known;
    if (existsSync(join(this.gitdir, "objects", oid.slice(0, 2), oid.slice(2)))) return undefined;
    return this.packs.storedEntry(oid);
  }

  /**
   * Receives a pack from a remote as one more pack of this repository:
   * `fill` hands its bytes to the sink as they arrive (resolving false when
   * there was nothing to fetch); they go straight to a temporary file in the
   * pack directory, which is then checked and indexed from the disk (see
   * index-pack.ts) and published as `writePack` publishes a pack: data and
   * index synced before their renames, the directory after. On any failure
   * the temporary file is removed: nothing half-written stays.
   */
  async receivePack(
    fill: (sink: (bytes: Uint8Array) => void) => Promise<boolean>,
    onObject?: (object: { oid: string; type: ObjectType | "tag" }) => void,
  ): Promise<{ objects: number; bytes: number }> {
    const packDir = join(this.gitdir, "objects", "pack");
    makeDirectory(packDir, this.sync);
    const file = new PackFileWriter(join(packDir, `tmp_pack_${process.pid}_${++packCounter}`));
    let objects = 0;
    try {
      if (!(await fill((bytes) => file.write(bytes)))) {
        file.close(false);
        rmSync(file.path, { force: true });
        return { objects: 0, bytes: 0 };
      }
      const checksum = file.checksum();
      const { table, count } = indexPackFile(file.path, file.size, onObject);
      file.close(this.sync);
      if (count === 0) {
        rmSync(file.path, { force: true });
        return { objects: 0, bytes: file.size };
      }
      objects = count;
      await installPack(packDir, file.path, table, checksum, this.sync, () => this.packs.refresh());
    } catch (error) {
      try {
        file.close(false);
      } finally {
        rmSync(file.path, { force: true });
      }
      throw error;
    }
    // Read back from the index just written: a received pack can hold millions of objects.
    this.packs.refresh();
    return { objects, bytes: file.size };
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

  /**
   * Counts loose objects and removes the temporary files a killed process
   * left half-written (the caller holds the data directory's lock, so no
   * other writer can own them).
   */
  private sweepLooseObjects() {
    const objects = join(this.gitdir, "objects");
    let count = listSmallPacks(this.gitdir).reduce((n, p) => n + p.oids.length, 0);
    for (const dir of readdirSync(objects)) {
      const isFanout = /^[0-9a-f]{2}$/.test(dir);
      if (!isFanout && dir !== "pack") continue;
      for (const file of readdirSync(join(objects, dir))) {
        if (file.startsWith("tmp_")) rmSync(join(objects, dir, file), { force: true });
        else if (isFanout) count++;
      }
    }
    return count;
  }

  private maybePack() {
    if (this.unpacked < this.packThreshold || this.packing) return;
    queueMicrotask(() => void this.pack().catch((error) => this.options.onPackError?.(error)));
  }

  /**
   * Packs every loose object into one new pack (with deltas between versions
   * of the same tree) and removes the loose copies. Runs beside commits: it
   * touches no ref, and an object is always in a pack or loose while it runs.
   */
  pack(): Promise<PackResult | undefined> {
    if (this.packing) return this.packing;
    this.unpacked = 0;
    this.packing = (async () => {
      try {
        const result = await packLooseObjects(this, this.sync);
        if (result) {
          this.packs.forget(result.folded);
          this.packs.refresh();
        }
        return result;
      } finally {
        this.packing = undefined;
      }
    })();
    return this.packing;
  }

  /** Waits for a pack that is running, if any. */
  async idle() {
    await this.tail;
    await this.packing;
  }
}

/** Two writes of the same name into one directory keep one entry (for messages: same id, same path). */
const dedupe = (entries: TreeEntry[]) =>
  entries.filter((e, i) => i === 0 || e.name !== entries[i - 1]!.name);
