/**
 * bench/sync.ts: how long gitchat takes to push 10,000 new messages to a
 * GitHub-like remote (a real git smart-HTTP server on 127.0.0.1), and to pull
 * them into a second server (fetch, merge, index), beside the git CLI doing
 * the same push and fetch over the same remote, and the same pull into a work
 * tree (`git pull`: fetch, merge, and checking out the new files, which is
 * how the git CLI makes the messages readable, as indexing does for gitchat).
 *
 * Then the same push and pull once more, step by step (push: the walk of the
 * commits to send, building the pack, sending it; pull: fetch, merge,
 * indexing), into a repository of their own, to say where the time goes.
 *
 *   bun bench/sync.ts [messages]      (default 10000, times BENCH_SCALE when set)
 *
 * Then 10 more messages written on the second server are pushed, and pulled
 * by the first: a small change on top of the whole history, which should cost
 * what the change costs, not what the history does.
 *
 * Three shapes of history, because a commit rewrites the trees along its
 * day's path and so the size of a day matters more than the count:
 *   spread   one message per commit, 100 messages a day over 100 days
 *   burst    one day, 50 concurrent senders (group commit: ~20 a commit)
 *   oneday   one message per commit, all on one day (the worst case)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { createGitHub } from "../src/github/client.ts";
import { openGitchat, type Gitchat } from "../src/gitchat.ts";
import { commitsBetween } from "../src/git/history.ts";
import { SmartHttpRemote } from "../src/git/smart-http.ts";
import { REF } from "../src/git/store.ts";
import { fetchChannel, mergeRemote, packForPush } from "../src/git/transfer.ts";
import { startGitHub } from "../test/support/github.ts";

const scale = Number(process.env.BENCH_SCALE ?? 1);
if (!(scale > 0 && scale <= 1)) throw new Error("BENCH_SCALE must be a fraction in (0, 1]");
const COUNT = Number(process.argv[2] ?? Math.round(10_000 * scale));
const MORE = 10;
const TOKEN = "ghp_benchTokenForTheStandIn0000000000000000";
const root = mkdtempSync(join(tmpdir(), "gitchat-bench-sync-"));
const github = await startGitHub({ users: [{ login: "alice", token: TOKEN }] });

const open = async (dataDir: string, repo: string, now?: () => number): Promise<Gitchat> =>
  openGitchat(
    loadConfig({
      DATA_DIR: dataDir,
      RATE_LIMIT: "0",
      GITHUB_TOKEN: TOKEN,
      GITHUB_USERNAME: "alice",
      GITHUB_REPO_NAME: repo,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_GIT_URL: github.gitUrl,
      SYNC_INTERVAL: "86400",
    }),
    () => {},
    { now, github: createGitHub({ token: TOKEN, apiUrl: github.apiUrl, fast: true }), sync: { debounceMs: 86_400_000 } },
  );

const seconds = (ms: number) => Math.round(ms) / 1000;
const timed = async <T>(work: () => Promise<T>) => {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
};

const git = async (args: string[], cwd?: string) => {
  const proc = Bun.spawn(["git", "-c", "credential.helper=", "-c", `http.extraHeader=Authorization: Basic ${btoa(`x-access-token:${TOKEN}`)}`, ...args], {
    cwd,
    env: { ...process.env, GIT_TERMINAL_PROMPT: "0", HOME: root },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`git ${args.join(" ")} failed: ${stderr}`);
};

type Row = {
  shape: string;
  messages: number;
  commits: number;
  buildSeconds: number;
  pushSeconds: number;
  pullSeconds: number;
  gitPushSeconds: number;
  gitFetchSeconds: number;
  /** `git pull` into an empty work tree: fetch, merge (a fast-forward) and checking out every message file. */
  gitPullSeconds: number;
  /** The same push, step by step: finding the commits the remote lacks, building the pack, sending it. */
  pushSteps: { walkSeconds: number; packSeconds: number; sendSeconds: number; objects: number; bytes: number };
  /** The same pull, step by step, into a third server: fetch (pack received, checked, indexed), merge, indexing the messages. */
  pullSteps: { fetchSeconds: number; mergeSeconds: number; indexSeconds: number };
  /** Pushing, then pulling, MORE messages written on top of the history (one a commit). */
  morePushSeconds: number;
  morePullSeconds: number;
};

const run = async (shape: "spread" | "burst" | "oneday"): Promise<Row> => {
  const repo = `bench-${shape}`;
  // A clock that moves one day every 100 messages, for the spread shape.
  let sent = 0;
  const start = Date.parse("2026-01-01T09:00:00Z");
  const now = shape === "spread" ? () => start + Math.floor(sent / 100) * 86_400_000 + (sent % 100) * 1000 : undefined;
  const first = await open(join(root, `${shape}-a`), repo, now);
  const build = await timed(async () => {
    if (shape === "burst") {
      let next = 0;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < COUNT) {
            next++;
            await first.messages.send({ viewer: { operator: true }, content: `burst message ${next} with some ordinary chat text` });
          }
        }),
      );
    } else {
      for (; sent < COUNT; sent++) await first.messages.send({ viewer: { operator: true }, content: `message ${sent} with some ordinary chat text` });
    }
  });
  const channel = first.repositories.resolve(`alice/${repo}`);
  await channel.store.idle();
  // Push: the GitHub repository is created first (REST), then the timed push over git.
  await first.sync!.ensureRemoteRepository(channel);
  const push = await timed(() => first.sync!.pushAll());
  if (!push.value.every((r) => r.success)) throw new Error(`push failed: ${JSON.stringify(push.value)}`);
  const commits = Number(
    await new Response(Bun.spawn(["git", "--git-dir", channel.store.gitdir, "rev-list", "--count", "main"], { stdout: "pipe" }).stdout).text(),
  );
  await first.close();

  // Pull into a second server: fetch, merge, and index every message in SQLite.
  const second = await open(join(root, `${shape}-b`), repo);
  const pull = await timed(() => second.sync!.pullAll());
  if (!pull.value.every((r) => r.success)) throw new Error(`pull failed: ${JSON.stringify(pull.value)}`);
  const indexed = second.db.countMessages(second.repositories.resolve(`alice/${repo}`).id);
  if (indexed !== COUNT) throw new Error(`the second server indexed ${indexed} of ${COUNT} messages`);

  // A small change on top of the history: MORE messages from the second server, pushed, then pulled by the first.
  for (let i = 0; i < MORE; i++) await second.messages.send({ viewer: { operator: true }, content: `one more message ${i}` });
  const morePush = await timed(() => second.sync!.pushAll());
  if (!morePush.value.every((r) => r.success && r.pushed === MORE)) throw new Error(`the small push failed: ${JSON.stringify(morePush.value)}`);
  await second.close();
  const firstAgain = await open(join(root, `${shape}-a`), repo);
  const morePull = await timed(() => firstAgain.sync!.pullAll());
  if (!morePull.value.every((r) => r.success)) throw new Error(`the small pull failed: ${JSON.stringify(morePull.value)}`);
  const total = firstAgain.db.countMessages(firstAgain.repositories.resolve(`alice/${repo}`).id);
  if (total !== COUNT + MORE) throw new Error(`the first server holds ${total} of ${COUNT + MORE} messages after the small pull`);
  await firstAgain.close();

  // The git CLI: the same history pushed to a fresh repository over the same remote, then fetched.
  const cliRepo = `${repo}-cli`;
  await github.createRepo("alice", cliRepo);
  const gitPush = await timed(() => git(["--git-dir", channel.store.gitdir, "push", "--quiet", github.remoteUrl("alice", cliRepo), "main"]));
  const clone = join(root, `${shape}-cli-clone.git`);
  mkdirSync(clone);
  await git(["init", "--quiet", "--bare", clone]);
  const gitFetch = await timed(() => git(["--git-dir", clone, "fetch", "--quiet", github.remoteUrl("alice", cliRepo), "main:main"]));
  const work = join(root, `${shape}-cli-work`);
  await git(["init", "--quiet", "-b", "main", work]);
  const gitPull = await timed(() => git(["-C", work, "pull", "--quiet", github.remoteUrl("alice", cliRepo), "main"]));

  // Step by step: the same history pushed to a repository of its own, then pulled by a third server.
  const stepsRepo = `${repo}-steps`;
  await github.createRepo("alice", stepsRepo);
  const remote = (name: string) => new SmartHttpRemote(`${github.gitUrl}/alice/${name}.git`, { token: TOKEN, label: `alice/${name}` });
  const pusher = await open(join(root, `${shape}-a`), repo);
  const source = pusher.repositories.resolve(`alice/${repo}`).store;
  const head = (await source.head())!;
  const walk = await timed(() => commitsBetween(source, [head], []));
  const built = await timed(() => packForPush(source, walk.value));
  const sendPack = await timed(() => remote(stepsRepo).push(REF, undefined, head, built.value.pack));
  await pusher.close();
  const third = await open(join(root, `${shape}-c`), stepsRepo);
  const target = third.repositories.resolve(`alice/${stepsRepo}`);
  const fetched = await timed(() => fetchChannel(target.store, remote(stepsRepo)));
  const merged = await timed(() => mergeRemote(target.store, fetched.value.remoteHead!, Date.now(), fetched.value));
  const indexing = await timed(() => third.messages.index(target));
  if (indexing.value.indexed !== COUNT + MORE) throw new Error(`the step-by-step pull indexed ${indexing.value.indexed} of ${COUNT + MORE} messages`);
  await third.close();
  return {
    shape,
    messages: COUNT,
    commits,
    buildSeconds: seconds(build.ms),
    pushSeconds: seconds(push.ms),
    pullSeconds: seconds(pull.ms),
    gitPushSeconds: seconds(gitPush.ms),
    gitFetchSeconds: seconds(gitFetch.ms),
    gitPullSeconds: seconds(gitPull.ms),
    pushSteps: {
      walkSeconds: seconds(walk.ms),
      packSeconds: seconds(built.ms),
      sendSeconds: seconds(sendPack.ms),
      objects: built.value.objects,
      bytes: built.value.pack.length,
    },
    pullSteps: { fetchSeconds: seconds(fetched.ms), mergeSeconds: seconds(merged.ms), indexSeconds: seconds(indexing.ms) },
    morePushSeconds: seconds(morePush.ms),
    morePullSeconds: seconds(morePull.ms),
  };
};

const rows: Row[] = [];
try {
  for (const shape of ["spread", "burst", "oneday"] as const) {
    const row = await run(shape);
    rows.push(row);
    console.log(
      `${shape.padEnd(7)} ${row.messages} messages in ${row.commits} commits (built in ${row.buildSeconds} s): ` +
        `push ${row.pushSeconds} s (git CLI ${row.gitPushSeconds} s, ratio ${(row.pushSeconds / row.gitPushSeconds).toFixed(2)}), ` +
        `pull into a second server ${row.pullSeconds} s (git CLI fetch ${row.gitFetchSeconds} s, ratio ${(row.pullSeconds / row.gitFetchSeconds).toFixed(2)}; ` +
        `git pull ${row.gitPullSeconds} s, ratio ${(row.pullSeconds / row.gitPullSeconds).toFixed(2)}); ` +
        `${MORE} more: push ${row.morePushSeconds} s, pull ${row.morePullSeconds} s\n` +
        `        push steps: walk ${row.pushSteps.walkSeconds} s, pack ${row.pushSteps.packSeconds} s (${row.pushSteps.objects} objects, ${row.pushSteps.bytes} bytes), send ${row.pushSteps.sendSeconds} s; ` +
        `pull steps: fetch ${row.pullSteps.fetchSeconds} s, merge ${row.pullSteps.mergeSeconds} s, index ${row.pullSteps.indexSeconds} s`,
    );
  }
  mkdirSync(join(import.meta.dir, "out"), { recursive: true });
  writeFileSync(
    join(import.meta.dir, "out", "sync.json"),
    JSON.stringify({ benchmark: "sync", finishedAt: new Date().toISOString(), bun: Bun.version, scale, rows }, null, 1),
  );
} finally {
  await github.stop().catch(() => {});
  rmSync(root, { recursive: true, force: true });
}
