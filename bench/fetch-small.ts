/**
 * bench/fetch-small.ts: what a fetch of a small change costs (10 new commits
 * of one message each, on top of a history of 1,000), the fetch alone: ref
 * advertisement, upload-pack, storing and indexing the pack. The remote is
 * the GitHub stand-in (a real `git http-backend` on 127.0.0.1), the history is
 * made by the git CLI. Each round copies a repository that holds the first
 * 1,000 commits and fetches the 10 into it; with BENCH_COMPARE_TREE=<another
 * checkout> the rounds alternate between the two versions (same process, same
 * load), and the medians are compared.
 *
 *   bun bench/fetch-small.ts [rounds]      (default 40)
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGitHub } from "../test/support/github.ts";

const ROUNDS = Number(process.argv[2] ?? 40);
const TOKEN = "ghp_benchFetchSmallTokenForTheStandIn0000000";
const root = mkdtempSync(join(tmpdir(), "gitchat-bench-fetch-small-"));
const here = join(import.meta.dir, "..");
const trees = [here, ...(process.env.BENCH_COMPARE_TREE ? [process.env.BENCH_COMPARE_TREE] : [])];

const git = async (cwd: string, ...args: string[]) => {
  const proc = Bun.spawn(["git", ...args], {
    cwd,
    env: { ...process.env, GIT_AUTHOR_NAME: "a", GIT_AUTHOR_EMAIL: "a@b", GIT_COMMITTER_NAME: "a", GIT_COMMITTER_EMAIL: "a@b" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`git ${args.join(" ")}: ${stderr}`);
};

/** `count` commits of one message file each, under messages/. */
const commit = async (work: string, from: number, count: number) => {
  for (let i = from; i < from + count; i++) {
    writeFileSync(join(work, "messages", `${String(i).padStart(6, "0")}.json`), `{"id":"${i}","author":"alice","content":"message ${i}"}\n`);
    await git(work, "add", "-A");
    await git(work, "commit", "-q", "-m", `alice: message ${i}`);
  }
};

const github = await startGitHub({ users: [{ login: "alice", token: TOKEN }] });
try {
  await github.createRepo("alice", "chat");
  const work = join(root, "work");
  mkdirSync(join(work, "messages"), { recursive: true });
  await git(work, "init", "-q", "-b", "main");
  await commit(work, 0, 1000);
  await git(work, "push", "-q", github.repoPath("alice", "chat"), "main");

  type Version = {
    tree: string;
    base: string;
    times: number[];
    modules: { ChannelStore: any; SmartHttpRemote: any; fetchChannel: any };
  };
  const versions: Version[] = [];
  for (const tree of trees) {
    const modules = {
      ChannelStore: (await import(join(tree, "src/git/store.ts"))).ChannelStore,
      SmartHttpRemote: (await import(join(tree, "src/git/smart-http.ts"))).SmartHttpRemote,
      fetchChannel: (await import(join(tree, "src/git/transfer.ts"))).fetchChannel,
    };
    const base = join(root, `base-${versions.length}.git`);
    const store = await modules.ChannelStore.open(base);
    await modules.fetchChannel(store, new modules.SmartHttpRemote(github.remoteUrl("alice", "chat"), { token: TOKEN, label: "bench" }));
    versions.push({ tree, base, times: [], modules });
  }
  await commit(work, 1000, 10);
  await git(work, "push", "-q", github.repoPath("alice", "chat"), "main");

  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which version goes first, so that neither always follows the other.
    const order = round % 2 === 0 ? versions : [...versions].reverse();
    for (const version of order) {
      const dir = join(root, `round-${round}-${versions.indexOf(version)}.git`);
      cpSync(version.base, dir, { recursive: true });
      const { ChannelStore, SmartHttpRemote, fetchChannel } = version.modules;
      const store = await ChannelStore.open(dir);
      const remote = new SmartHttpRemote(github.remoteUrl("alice", "chat"), { token: TOKEN, label: "bench" });
      const started = performance.now();
      const fetched = await fetchChannel(store, remote);
      version.times.push(performance.now() - started);
      if (fetched.objects < 10) throw new Error(`fetched ${fetched.objects} objects, expected the 10 new commits' objects`);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const results = versions.map((v) => ({ tree: v.tree, medianMs: Math.round(median(v.times) * 100) / 100, times: v.times.map((t) => Math.round(t * 100) / 100) }));
  for (const r of results) console.log(`${r.tree}: fetch of 10 new commits, median of ${ROUNDS}: ${r.medianMs} ms`);
  if (results.length === 2) console.log(`ratio: ${(results[0]!.medianMs / results[1]!.medianMs).toFixed(2)}x`);
  mkdirSync(join(import.meta.dir, "out"), { recursive: true });
  writeFileSync(join(import.meta.dir, "out", "fetch-small.json"), `${JSON.stringify({ rounds: ROUNDS, results }, null, 2)}\n`);
} finally {
  await github.stop();
  rmSync(root, { recursive: true, force: true });
}
