/**
 * Writes the objects of a commit: the files a plan decides, the trees along
 * their paths and the commit, into the object database (the open batch, when
 * ChannelStore opened one). Trees grow by appending: a directory whose new
 * entries sort after the old ones is written as the old bytes plus the new
 * entries, so a commit's cost follows its change, not the directory's size.
 * With a signer, every commit (messages and merges) is committed by the
 * server and signed (a `gpgsig` header), and the first one written onto a
 * tree that lacks the signer's file adds it, so that a clone holds the key
 * that checks the commit. It moves no ref: ChannelStore flushes the batch
 * and then moves `main`.
 */
import type { ObjectDatabase } from "./object-db.ts";
import type { ObjectReader } from "./object-reader.ts";
import { addSignature, compareEntries, parseCommit, serializeCommit, serializeTree, type Signature, type TreeEntry } from "./objects.ts";

/** A file for a commit to add: its directory, name and content. */
export type NewFile = { dir: readonly string[]; name: string; content: Uint8Array };

/** Reads the tree a commit builds on. */
export type TreeReader = { entriesAt(path: readonly string[]): Promise<TreeEntry[] | undefined> };

/** Decides, from the tree a commit builds on, the files it adds and its message. */
export type CommitPlan = (tree: TreeReader) => Promise<{ files: NewFile[]; message: string }>;

/** Who commits, how a commit is signed, and the file in the tree that names the key (see signing-key.ts). */
export type CommitSigner = {
  committer: { name: string; email: string };
  /** The armored signature of a commit's bytes. */
  sign(payload: Uint8Array): string;
  file: NewFile;
};

/** The committer of a repository without a signer (the object store's own tests and benches). */
const UNSIGNED_COMMITTER = { name: "gitchat", email: "gitchat@localhost" };

export class CommitBuilder {
  constructor(
    private readonly objects: ObjectDatabase,
    private readonly reader: ObjectReader,
    private readonly signer?: CommitSigner,
  ) {}

  /**
   * Writes on top of `parent` the files that `plan` decides, given a reader
   * of the tree the commit builds on, and the commit; returns its hash.
   */
  async commit(parent: string | undefined, plan: CommitPlan, author: Signature) {
    let tree = parent ? await this.reader.commitTree(parent) : undefined;
    const base = tree;
    const { files, message } = await plan({ entriesAt: (path) => this.entriesAt(base, path) });
    if (await this.lacksSignerFile(base)) files.push(this.signer!.file);
    const byDir = new Map<string, { dir: readonly string[]; files: { name: string; oid: string }[] }>();
    for (const file of files) {
      const key = file.dir.join("/");
      const group = byDir.get(key) ?? { dir: file.dir, files: [] };
      group.files.push({ name: file.name, oid: this.objects.putObject("blob", file.content) });
      byDir.set(key, group);
    }
    for (const { dir, files: group } of byDir.values()) tree = (await this.addFiles(tree, [...dir], group)).oid;
    const commitContent = this.signed({ tree: tree!, parents: parent ? [parent] : [], author, message });
    const commit = this.objects.putObject("commit", commitContent);
    this.reader.rememberCommit(commit, parseCommit(commitContent));
    return commit;
  }

  /** The entries of the directory at `path` under `tree`, or undefined when there is none. */
  async entriesAt(tree: string | undefined, path: readonly string[]): Promise<TreeEntry[] | undefined> {
    let entries = tree ? await this.reader.readTree(tree) : undefined;
    for (const name of path) {
      const dir = entries?.find((e) => e.name === name && e.mode === "40000");
      entries = dir ? await this.reader.readTree(dir.oid) : undefined;
    }
    return entries;
  }

  /** Writes the tree `tree` with `files` added at `path` (and the trees above them); returns the new tree's id. */
  private async addFiles(
    tree: string | undefined,
    path: string[],
    files: { name: string; oid: string }[],
  ): Promise<{ oid: string }> {
    const entries = tree ? await this.reader.readTree(tree) : [];
    const [dir, ...rest] = path;
    if (dir === undefined) {
      const added = files.map((f): TreeEntry => ({ mode: "100644", name: f.name, oid: f.oid })).sort(compareEntries);
      const last = entries[entries.length - 1];
      // Ids grow with time, so new files nearly always sort after the rest:
      // then the new tree is the old one's bytes with the new entries after them.
      if (tree && last && compareEntries(last, added[0]!) < 0) {
        const raw = Buffer.concat([await this.reader.treeRaw(tree), serializeTree(added)]);
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
    this.reader.remember(oid, entries, raw);
    return oid;
  }

  /**
   * Writes a merge commit of `parents` with `tree` (and the signer's file,
   * when `tree` lacks it), authored by the server; the caller moves `main` to it.
   */
  async writeMergeCommit(tree: string, parents: string[], message: string, timestamp: number) {
    if (await this.lacksSignerFile(tree)) {
      const { dir, name, content } = this.signer!.file;
      tree = (await this.addFiles(tree, [...dir], [{ name, oid: this.objects.putObject("blob", content) }])).oid;
    }
    const author = { ...(this.signer?.committer ?? UNSIGNED_COMMITTER), timestamp };
    return this.objects.putObject("commit", this.signed({ tree, parents, author, message }));
  }

  /** Whether there is a signer whose file `tree` does not hold. */
  private async lacksSignerFile(tree: string | undefined) {
    if (!this.signer) return false;
    const { dir, name } = this.signer.file;
    return !(await this.entriesAt(tree, dir))?.some((e) => e.name === name);
  }

  /** A commit's bytes, committed by the server at the author's time, and signed when there is a signer. */
  private signed(commit: { tree: string; parents: string[]; author: Signature; message: string }) {
    const committer = { ...(this.signer?.committer ?? UNSIGNED_COMMITTER), timestamp: commit.author.timestamp };
    const content = serializeCommit({ ...commit, committer });
    return this.signer ? addSignature(content, this.signer.sign(content)) : content;
  }

  /** Writes a tree of `entries` (any order) and returns its id. */
  writeTreeEntries(entries: TreeEntry[]) {
    return this.writeTree([...entries].sort(compareEntries));
  }
}

/** Two writes of the same name into one directory keep one entry (for messages: same id, same path). */
const dedupe = (entries: TreeEntry[]) =>
  entries.filter((e, i) => i === 0 || e.name !== entries[i - 1]!.name);
