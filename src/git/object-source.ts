/**
 * What history walks, repacking, the file walks (commit-files.ts) and the
 * integrity checks need of a repository: reading objects, and writing a tree
 * for a merge. `ChannelStore` provides it; they see only this, so that they
 * and the store do not import each other.
 */
import type { ObjectType, ParsedCommit, TreeEntry } from "./objects.ts";

export interface ObjectSource {
  readonly gitdir: string;
  /** The commit `main` points at, or undefined for an empty repository. */
  head(): Promise<string | undefined>;
  hasObject(oid: string): Promise<boolean>;
  readObject(oid: string): Promise<{ type: ObjectType; content: Uint8Array }>;
  readCommit(oid: string): Promise<ParsedCommit>;
  readTree(oid: string): Promise<TreeEntry[]>;
  /** A tree's bytes as stored. */
  treeRaw(oid: string): Promise<Uint8Array>;
  /** The entries of `tree` that none of `parents` has with the same id, each with the same-named entries the parents have. */
  changedEntries(tree: string, parents: string[]): Promise<{ entry: TreeEntry; same: TreeEntry[] }[]>;
}

/** An ObjectSource that can also write a tree (a merge's union). */
export interface ObjectSink extends ObjectSource {
  /** Writes a tree of `entries` (any order) and returns its id. */
  writeTreeEntries(entries: TreeEntry[]): string;
}
