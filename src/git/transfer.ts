/**
 * Moving a channel's history to and from its remote: push what the remote
 * lacks (one pack, deltas between tree versions), fetch what we lack, and
 * merge the two histories by the union of their trees.
 */
import { PushRejectedError, StoreIntegrityError } from "../errors.ts";
import { commitsBetween, filesNotIn, isAncestor, objectsAddedBy, reachesThrough, unionTrees } from "./history.ts";
import { writeTreeChains } from "./repack.ts";
import { PackWriter } from "./packfile.ts";
import type { SmartHttpRemote } from "./smart-http.ts";
import { REF, type ChannelStore } from "./store.ts";

/**
 * The pack that gives a remote holding the parents of `commits` everything
 * `commits` reach. Objects already in a local pack are copied as they are
 * stored (a delta stays a delta when its base goes too), in the order of the
 * local packs so that bases come first; the rest are read and written whole,
 * tree versions as deltas against each other.
 */
export const packForPush = async (store: ChannelStore, commits: string[]) => {
  const wanted = new Set<string>(commits);
  const blobs: string[] = [];
  const chains = new Map<string, string[]>();
  for (const commit of commits) {
    for (const added of await objectsAddedBy(store, commit)) {
      if (wanted.has(added.oid)) continue;
      wanted.add(added.oid);
      if (added.kind === "blob") blobs.push(added.oid);
      else {
        const chain = chains.get(added.path);
        if (chain) chain.push(added.oid);
        else chains.set(added.path, [added.oid]);
      }
    }
  }
  const stored = [...wanted]
    .map((oid) => ({ oid, entry: store.storedEntry(oid) }))
    .filter((s): s is { oid: string; entry: NonNullable<ReturnType<ChannelStore["storedEntry"]>> } => s.entry !== undefined)
    .sort((a, b) => a.entry.order[0] - b.entry.order[0] || a.entry.order[1] - b.entry.order[1]);
  const chunks: Uint8Array[] = [];
  const writer = new PackWriter(wanted.size, (bytes) => chunks.push(bytes));
  for (const { oid, entry } of stored) {
    if (!writer.addStored(oid, entry.bytes, entry.header, entry.baseOid)) {
      const { type, content } = await store.readObject(oid);
      writer.add(oid, type, content);
    }
  }
  // What is not packed yet (loose: merges, or objects of a pack being folded right now).
  await writeTreeChains(
    writer,
    [...chains.values()].map((chain) => chain.filter((oid) => !writer.holds(oid))),
    (oid) => store.readObject(oid),
  );
  for (const oid of [...commits, ...blobs]) {
    if (writer.holds(oid)) continue;
    const { type, content } = await store.readObject(oid);
    writer.add(oid, type, content);
  }
  writer.finish();
  return { pack: Buffer.concat(chunks), objects: wanted.size, commits: commits.length };
};

export type PushResult = { commits: number; objects: number; bytes: number };

/**
 * Pushes `main`. The remote checks that its branch has not moved since we
 * looked (`old` in the command); when it has, this throws PushRejectedError
 * and nothing changed on either side: fetch, merge and push again.
 */
export const pushChannel = async (store: ChannelStore, remote: SmartHttpRemote): Promise<PushResult> => {
  const local = await store.head();
  const { refs } = await remote.advertisement("git-receive-pack");
  const remoteTip = refs.get(REF);
  if (!local || remoteTip === local) {
    if (remoteTip) await store.setRemoteHead(remoteTip);
    return { commits: 0, objects: 0, bytes: 0 };
  }
  if (remoteTip && !(await store.hasObject(remoteTip))) {
    throw new PushRejectedError("the remote has commits this server has not fetched yet");
  }
  const commits = await commitsBetween(store, [local], remoteTip ? [remoteTip] : []);
  const { pack, objects } = await packForPush(store, commits);
  await remote.push(REF, remoteTip, local, pack);
  await store.setRemoteHead(local);
  return { commits: commits.length, objects, bytes: pack.length };
};

/** How many commits of `main`'s first-parent line `haves` reads at most. */
const HAVES_WALK = 512;

/**
 * Commits to offer a remote as already held: the last known remote head,
 * then `main` and its first-parent line, thinning out. The walk reads at most
 * HAVES_WALK commits, so a pull costs the same in a long history as in a
 * short one; the last known remote head is what a remote nearly always needs.
 */
const haves = async (store: ChannelStore) => {
  const list: string[] = [];
  const remoteHead = store.remoteHead();
  if (remoteHead && (await store.hasObject(remoteHead))) list.push(remoteHead);
  let commit = await store.head();
  for (let step = 0, skip = 1; commit && list.length < 64 && step < HAVES_WALK; step++) {
    if (step % skip === 0) list.push(commit);
    if (step >= 16 && step % skip === 0) skip = Math.min(skip * 2, 64);
    commit = (await store.readCommit(commit)).parent[0];
  }
  return [...new Set(list)];
};

export type FetchResult = {
  remoteHead: string | undefined;
  objects: number;
  bytes: number;
  /** Whether the remote's head was not here before this fetch: then it cannot be in `main`'s history. */
  tipIsNew: boolean;
  /** The commits this fetch brought (undefined past NEW_COMMITS_KEPT): what `mergeRemote` need search. */
  newCommits: ReadonlySet<string> | undefined;
};

/** A fetch bringing more commits than this does not keep their ids (a first pull of a long history merges without a search). */
const NEW_COMMITS_KEPT = 100_000;

/** Fetches the remote's `main` and what it reaches that we lack, and records where it was. */
export const fetchChannel = async (store: ChannelStore, remote: SmartHttpRemote): Promise<FetchResult> => {
  const { refs, capabilities } = await remote.advertisement("git-upload-pack");
  const tip = refs.get(REF);
  if (!tip) return { remoteHead: undefined, objects: 0, bytes: 0, tipIsNew: false, newCommits: undefined };
  let objects = 0;
  let bytes = 0;
  const tipIsNew = !(await store.hasObject(tip));
  let newCommits: Set<string> | undefined = new Set();
  if (tipIsNew) {
    const offered = await haves(store);
    try {
      ({ objects, bytes } = await store.receivePack(
        (sink) => remote.fetchPack([tip], offered, sink, capabilities),
        (object) => {
          if (object.type !== "commit" || !newCommits) return;
          newCommits.add(object.oid);
          if (newCommits.size > NEW_COMMITS_KEPT) newCommits = undefined;
        },
      ));
    } catch (error) {
      if (!(error instanceof StoreIntegrityError)) throw error;
      throw new StoreIntegrityError(
        `the pack fetched from the remote of ${remote.label} was refused: ${error.message}; nothing of it was stored, and the next pull fetches it again`,
      );
    }
  }
  await store.setRemoteHead(tip);
  return { remoteHead: tip, objects, bytes, tipIsNew, newCommits: tipIsNew ? newCommits : undefined };
};

export type MergeResult = {
  outcome: "up-to-date" | "fast-forward" | "merge";
  head: string | undefined;
  /** Paths whose content differs on the two sides: ours stays at the path, theirs is kept beside it. */
  conflicts: string[];
  /** Files of ours (up to ten) that the remote's newer tree dropped or changed: why a fast-forward became a merge. */
  notKept: string[];
};

/**
 * Brings `remoteHead` into `main`: nothing, a fast-forward, or a merge commit
 * of the union of both trees. A remote that descends from our head is
 * fast-forwarded to only when its tree still holds every file of ours as it
 * is (same path, same blob); one that dropped or changed any (a deletion, an
 * edit, a rewrite) is merged like a diverged one, so that nothing this server
 * acknowledged leaves its tree.
 *
 * `fetched` (what the fetch that brought `remoteHead` reports) keeps the
 * ancestry checks to what the fetch brought: a tip the fetch had to bring is
 * in no history of ours (`main` cannot hold an object this repository did not
 * have), and our head descends into the new commits only from one of them,
 * so the search for it walks those alone. Without it, both checks search back
 * to a day before the older commit: in a history whose commits fall within a
 * day, a walk of the whole day. A search cut short can only make a
 * fast-forward a merge commit, never the reverse.
 */
export const mergeRemote = async (
  store: ChannelStore,
  remoteHead: string,
  now = Date.now(),
  fetched?: Pick<FetchResult, "tipIsNew" | "newCommits">,
): Promise<MergeResult> => {
  const conflicts: string[] = [];
  const notKept: string[] = [];
  let outcome: MergeResult["outcome"] = "up-to-date";
  const head = await store.updateHead(async (local) => {
    if (!local) {
      outcome = "fast-forward";
      return remoteHead;
    }
    if (local === remoteHead || (!fetched?.tipIsNew && (await isAncestor(store, remoteHead, local)))) return undefined;
    const [ours, theirs] = await Promise.all([store.readCommit(local), store.readCommit(remoteHead)]);
    const descends = fetched?.newCommits
      ? await reachesThrough(store, remoteHead, local, fetched.newCommits)
      : await isAncestor(store, local, remoteHead);
    if (descends) {
      for await (const file of filesNotIn(store, ours.tree, theirs.tree)) {
        if (notKept.push(file.path) >= 10) break;
      }
      if (notKept.length === 0) {
        outcome = "fast-forward";
        return remoteHead;
      }
    }
    const tree = await unionTrees(store, ours.tree, theirs.tree, conflicts);
    outcome = "merge";
    return store.writeMergeCommit(tree, [local, remoteHead], "Merge messages from the remote", now);
  });
  return { outcome, head, conflicts, notKept };
};
