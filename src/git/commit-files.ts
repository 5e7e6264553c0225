/**
 * Which files a commit holds, or adds to its parents: for indexing a
 * channel's messages, for `gitchat repair`, and (walkChanges) for the
 * objects a push or a repack takes from each commit.
 */
import type { TreeEntry } from "./objects.ts";
import type { ObjectSource } from "./object-source.ts";

/**
 * A tree or a file of a commit's tree that none of its parents has at the same
 * path with the same id. `same` holds the parents' entries of that name (their
 * ids differ): empty for a path the commit adds, not empty for one it alters.
 * Paths have no leading slash; the root tree's is "".
 */
export type Change = { path: string; entry: TreeEntry; same: TreeEntry[] };

/**
 * Visits the changes a commit makes to its parents, each tree before what is
 * in it. Subtrees that a parent shares unchanged are skipped, so the cost
 * follows the size of the change, not of the history. Returns the commit's parents.
 */
export const walkChanges = async (source: ObjectSource, commitOid: string, visit: (change: Change) => void) => {
  const commit = await source.readCommit(commitOid);
  const parentTrees = await Promise.all(commit.parent.map((p) => source.readCommit(p).then((c) => c.tree)));
  const walk = async (tree: string, parents: string[], path: string, same: TreeEntry[]) => {
    if (parents.includes(tree)) return;
    visit({ path, entry: { mode: "40000", name: path.slice(path.lastIndexOf("/") + 1), oid: tree }, same });
    for (const { entry, same: previous } of await source.changedEntries(tree, parents)) {
      const child = path === "" ? entry.name : `${path}/${entry.name}`;
      if (entry.mode === "40000") {
        await walk(entry.oid, previous.filter((e) => e.mode === "40000").map((e) => e.oid), child, previous);
      } else {
        visit({ path: child, entry, same: previous });
      }
    }
  };
  await walk(commit.tree, parentTrees, "", []);
  return commit.parent;
};

/** A message file that a commit added: its path, blob and the commit itself. */
export type IntroducedFile = { path: string; oid: string };

/**
 * The files (whose path `select` accepts) a commit adds: present in its tree and in none of its
 * parents'. Subtrees that a parent shares unchanged are skipped, so the cost
 * follows the size of the change, not of the history. A path whose content
 * differs from a parent's is reported in `altered` (tampering, or a bug).
 */
export const introducedFiles = async (source: ObjectSource, commitOid: string, select: (path: string) => boolean) => {
  const added: IntroducedFile[] = [];
  const altered: IntroducedFile[] = [];
  const parents = await walkChanges(source, commitOid, ({ path, entry, same }) => {
    if (entry.mode !== "40000" && select(path)) (same.length === 0 ? added : altered).push({ path, oid: entry.oid });
  });
  return { parents, added, altered };
};

/** Every file in the tree of `commitOid` whose path `select` accepts. */
export const listFiles = async (source: ObjectSource, commitOid: string, select: (path: string) => boolean): Promise<IntroducedFile[]> => {
  const files: IntroducedFile[] = [];
  const walk = async (tree: string, prefix: string) => {
    for (const entry of await source.readTree(tree)) {
      const path = `${prefix}${entry.name}`;
      if (entry.mode === "40000") await walk(entry.oid, `${path}/`);
      else if (select(path)) files.push({ path, oid: entry.oid });
    }
  };
  await walk((await source.readCommit(commitOid)).tree, "");
  return files;
};

