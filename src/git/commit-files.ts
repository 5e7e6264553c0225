/**
 * Which files a commit holds, or adds to its parents: for indexing a
 * channel's messages and for `gitchat repair`.
 */
import type { ObjectSource } from "./object-source.ts";

/** A message file that a commit added: its path, blob and the commit itself. */
export type IntroducedFile = { path: string; oid: string };

/**
 * The files (whose path `select` accepts) a commit adds: present in its tree and in none of its
 * parents'. Subtrees that a parent shares unchanged are skipped, so the cost
 * follows the size of the change, not of the history. A path whose content
 * differs from a parent's is reported in `altered` (tampering, or a bug).
 */
export const introducedFiles = async (source: ObjectSource, commitOid: string, select: (path: string) => boolean) => {
  const commit = await source.readCommit(commitOid);
  const parentTrees = await Promise.all(commit.parent.map((p) => source.readCommit(p).then((c) => c.tree)));
  const added: IntroducedFile[] = [];
  const altered: IntroducedFile[] = [];
  const walk = async (tree: string, parents: string[], prefix: string) => {
    for (const { entry, same } of await source.changedEntries(tree, parents)) {
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

