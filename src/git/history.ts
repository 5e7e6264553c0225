/**
 * Walks over a channel's history for sync and indexing: which commits a push
 * must send (or the index must read), in what order, which objects they add,
 * whether one commit descends from another, which files one tree holds that
 * another does not, and the union of two trees that a merge commits.
 */
import { compareEntries, type TreeEntry } from "./objects.ts";
import { walkChanges } from "./commit-files.ts";
import type { ObjectSink, ObjectSource } from "./object-source.ts";

/** Commits older than this before the one sought are not searched (clock skew between machines). */
const SKEW_MS = 24 * 60 * 60 * 1000;

type CommitInfo = { parents: string[]; time: number };

const commitInfo = async (store: ObjectSource, oid: string): Promise<CommitInfo> => {
  const commit = await store.readCommit(oid);
  return { parents: commit.parent, time: commit.committer.timestamp * 1000 };
};

/**
 * Commits reachable from `include` and not from `exclude`, oldest first: the
 * commits a push must send when the remote has `exclude`. The walk goes
 * newest first on both sides and stops once only excluded commits are left,
 * as git's own does. Clock skew can only make it send a commit the remote
 * already has, never leave one out.
 */
export const commitsBetween = async (store: ObjectSource, include: string[], exclude: string[], limit = Infinity) => {
  type State = { oid: string; info: CommitInfo; excluded: boolean; queued: boolean };
  const seen = new Map<string, State>();
  const heap: State[] = []; // max-heap on commit time
  let interestingQueued = 0;
  const up = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.info.time >= heap[i]!.info.time) return;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  };
  const pop = () => {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < heap.length && heap[l]!.info.time > heap[best]!.info.time) best = l;
        if (r < heap.length && heap[r]!.info.time > heap[best]!.info.time) best = r;
        if (best === i) break;
        [heap[best], heap[i]] = [heap[i]!, heap[best]!];
        i = best;
      }
    }
    top.queued = false;
    if (!top.excluded) interestingQueued--;
    return top;
  };
  const markExcluded = async (state: State) => {
    if (state.excluded) return;
    state.excluded = true;
    if (state.queued) interestingQueued--;
    else for (const parent of state.info.parents) await visit(parent, true);
  };
  const visit = async (oid: string, excluded: boolean) => {
    const known = seen.get(oid);
    if (known) {
      if (excluded) await markExcluded(known);
      return;
    }
    const state: State = { oid, info: await commitInfo(store, oid), excluded, queued: true };
    seen.set(oid, state);
    heap.push(state);
    up(heap.length - 1);
    if (!excluded) interestingQueued++;
  };
  for (const oid of exclude) if (await store.hasObject(oid)) await visit(oid, true);
  for (const oid of include) await visit(oid, false);
  const order: State[] = [];
  while (interestingQueued > 0 && order.length < limit) {
    const next = pop();
    if (!next.excluded) order.push(next);
    for (const parent of next.info.parents) await visit(parent, next.excluded);
  }
  return order.filter((s) => !s.excluded).map((s) => s.oid).reverse();
};

/** Whether `ancestor` is `descendant` or one of its ancestors (searching back to the ancestor's time, less the skew). */
export const isAncestor = async (store: ObjectSource, ancestor: string, descendant: string) => {
  if (ancestor === descendant) return true;
  const floor = (await commitInfo(store, ancestor)).time - SKEW_MS;
  const seen = new Set<string>([descendant]);
  const stack = [descendant];
  while (stack.length > 0) {
    const info = await commitInfo(store, stack.pop()!);
    for (const parent of info.parents) {
      if (parent === ancestor) return true;
      if (seen.has(parent)) continue;
      seen.add(parent);
      const parentInfo = await commitInfo(store, parent);
      if (parentInfo.time >= floor) stack.push(parent);
    }
  }
  return false;
};

/**
 * Whether `target` is a parent of `from` or of one of the commits of
 * `within` that `from` reaches through commits of `within` (`from` must be in
 * it): a search that reads only those commits, whatever their times.
 */
export const reachesThrough = async (store: ObjectSource, from: string, target: string, within: ReadonlySet<string>) => {
  if (from === target) return true;
  if (!within.has(from)) return false;
  const seen = new Set<string>([from]);
  const stack = [from];
  while (stack.length > 0) {
    for (const parent of (await store.readCommit(stack.pop()!)).parent) {
      if (parent === target) return true;
      if (seen.has(parent) || !within.has(parent)) continue;
      seen.add(parent);
      stack.push(parent);
    }
  }
  return false;
};

/**
 * The commits `head` reaches (only those in `within`, when given), parents
 * before children: a depth-first walk, since commit times are not trusted (a
 * remote can set them to anything).
 */
export const parentsFirst = async (store: ObjectSource, head: string, within?: ReadonlySet<string>) => {
  const order: string[] = [];
  if (within && !within.has(head)) return order;
  /** false while a commit's parents are being walked, true once it is in `order`. */
  const done = new Map<string, boolean>();
  const stack = [head];
  while (stack.length > 0) {
    const oid = stack[stack.length - 1]!;
    const state = done.get(oid);
    if (state === undefined) {
      done.set(oid, false);
      for (const parent of (await store.readCommit(oid)).parent) {
        if (!done.has(parent) && (within?.has(parent) ?? true)) stack.push(parent);
      }
    } else {
      stack.pop();
      if (state === false) {
        done.set(oid, true);
        order.push(oid);
      }
    }
  }
  return order;
};

/** Whether `bytes` begins with all of `prefix`. */
const startsWith = (bytes: Uint8Array, prefix: Uint8Array) =>
  bytes.length >= prefix.length && Buffer.from(bytes.buffer, bytes.byteOffset, prefix.length).equals(prefix);

/**
 * The files (blobs) of `tree` that `base` does not hold at the same path with
 * the same id, found top-down: a subtree both hold with the same id is skipped
 * whole, where `tree` is `base`'s bytes with entries appended only those are
 * read, and where `base` is `tree`'s bytes with entries appended nothing is. So
 * the cost follows what differs, not the size of the trees. Without `base`,
 * every file of `tree`.
 */
export async function* filesNotIn(
  store: ObjectSource,
  tree: string,
  base: string | undefined,
  prefix = "",
): AsyncGenerator<{ path: string; oid: string }> {
  if (base !== undefined && startsWith(await store.treeRaw(base), await store.treeRaw(tree))) return;
  for (const { entry, same } of await store.changedEntries(tree, base === undefined ? [] : [base])) {
    const path = `${prefix}${entry.name}`;
    if (entry.mode === "40000") yield* filesNotIn(store, entry.oid, same.find((e) => e.mode === "40000")?.oid, `${path}/`);
    else if (entry.mode !== "160000") yield { path, oid: entry.oid };
  }
}

/**
 * Finds files by path in one tree. Lookups come in runs within a directory
 * (a day of messages), so the few directories read last are kept, and an
 * entry is found by binary search: a directory of 100,000 files costs one
 * read, not one per lookup.
 */
export class TreeLookup {
  private readonly dirs = new Map<string, TreeEntry[] | undefined>();

  constructor(
    private readonly store: ObjectSource,
    private readonly root: string,
  ) {}

  /** The blob at `path`, or undefined when there is none. */
  async blobAt(path: string): Promise<string | undefined> {
    return (await this.fileAt(path))?.oid;
  }

  /** The entry of the file (not a directory or a submodule) at `path`, with its mode, or undefined when there is none. */
  async fileAt(path: string): Promise<TreeEntry | undefined> {
    const slash = path.lastIndexOf("/");
    const entries = await this.dir(slash < 0 ? "" : path.slice(0, slash));
    return entries && findEntry(entries, path.slice(slash + 1), false);
  }

  private async dir(dir: string) {
    if (this.dirs.has(dir)) {
      const entries = this.dirs.get(dir);
      this.dirs.delete(dir);
      this.dirs.set(dir, entries);
      return entries;
    }
    let entries: TreeEntry[] | undefined = await this.store.readTree(this.root);
    for (const name of dir === "" ? [] : dir.split("/")) {
      const sub = findEntry(entries!, name, true);
      entries = sub ? await this.store.readTree(sub.oid) : undefined;
      if (!entries) break;
    }
    this.dirs.set(dir, entries);
    if (this.dirs.size > 4) this.dirs.delete(this.dirs.keys().next().value!);
    return entries;
  }
}

/** The entry named `name` (a directory, or else a file) in entries sorted as git sorts them. */
const findEntry = (entries: readonly TreeEntry[], name: string, directory: boolean) => {
  const wanted: TreeEntry = { mode: directory ? "40000" : "100644", name, oid: "" };
  let low = 0;
  let high = entries.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const entry = entries[middle]!;
    const order = compareEntries(entry, wanted);
    if (order === 0) return (entry.mode === "40000") === directory && entry.mode !== "160000" ? entry : undefined;
    if (order < 0) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
};

/** A tree object added by a commit, and the path it sits at (for delta chains). */
export type AddedObject = { oid: string; path: string; kind: "tree" | "blob" };

/** The trees and blobs of `commit`'s tree that none of its parents' trees has at the same path. */
export const objectsAddedBy = async (store: ObjectSource, commit: string): Promise<AddedObject[]> => {
  const added: AddedObject[] = [];
  await walkChanges(store, commit, ({ path, entry }) => {
    // A submodule's commit is not in this repository.
    if (entry.mode !== "160000") added.push({ oid: entry.oid, path, kind: entry.mode === "40000" ? "tree" : "blob" });
  });
  return added;
};

/**
 * The union of two trees: every path of either. Message files never share a
 * path unless they are the same message, so this is the whole of a merge;
 * a path whose content differs on the two sides (tampering, or a bug) keeps
 * ours at the path and theirs beside it, and is reported.
 */
export const unionTrees = async (
  store: ObjectSink,
  ours: string,
  theirs: string,
  conflicts: string[],
  path = "",
): Promise<string> => {
  if (ours === theirs) return ours;
  const merged = new Map((await store.readTree(ours)).map((e) => [e.name, e]));
  for (const entry of await store.readTree(theirs)) {
    const mine = merged.get(entry.name);
    if (!mine) {
      merged.set(entry.name, entry);
    } else if (mine.oid !== entry.oid) {
      if (mine.mode === "40000" && entry.mode === "40000") {
        merged.set(entry.name, { ...mine, oid: await unionTrees(store, mine.oid, entry.oid, conflicts, `${path}${entry.name}/`) });
      } else {
        const dot = entry.name.lastIndexOf(".");
        const stem = dot > 0 ? entry.name.slice(0, dot) : entry.name;
        const extension = dot > 0 ? entry.name.slice(dot) : "";
        const name = `${stem}.conflict-${entry.oid.slice(0, 12)}${extension}`;
        merged.set(name, { ...entry, name });
        conflicts.push(`${path}${entry.name}`);
      }
    }
  }
  return store.writeTreeEntries([...merged.values()]);
};
