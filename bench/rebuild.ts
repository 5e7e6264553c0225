/**
 * bench/rebuild.ts: how long `gitchat rebuild` takes to index a channel of a
 * million messages, its peak memory, and the size of the index it makes,
 * beside `git cat-file --batch` reading the same message blobs in the same run.
 *
 *   bun bench/rebuild.ts [messages]      (default 1,000,000 × BENCH_SCALE; BENCH_KEEP=1 keeps the data)
 *
 * The history is made with the git CLI's `fast-import`, in gitchat's layout
 * (`messages/YYYY/MM/DD/<segment>/<id>.json`, the files exactly as
 * `encodeMessage` writes them): 1,000 messages a commit, 10,000 a day, so a
 * day has ten segments. The data directory is a real gitchat one
 * (`repos/local/general.git` with the `gitchat.*` config keys), and the
 * rebuild is a real `gitchat rebuild` process; its peak RSS is what the
 * kernel reports for it (getrusage's ru_maxrss).
 *
 * Then a new server joins the channel: the history is pushed to the GitHub
 * stand-in (a real `git http-backend` on 127.0.0.1), and a real `gitchat pull`
 * process, on an empty data directory, fetches it and indexes every message,
 * beside `git clone --bare` of the same repository over the same remote, and
 * a fetch alone (bench/fetch-only.ts: the pack received and stored, no
 * index) shows what the transport costs apart from indexing the messages.
 * BENCH_COMPARE_TREE=<a checkout of another version> runs its pull and its
 * fetch too, in the same run, for a before/after on the same machine load.
 * Raw numbers: bench/out/rebuild.json.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commitMessageFor, encodeMessage, messagePath, type MessageRecord } from "../src/messages/layout.ts";
import { startGitHub } from "../test/support/github.ts";
import { Database } from "bun:sqlite";
import { loadavg } from "node:os";

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
if (!(SCALE > 0 && SCALE <= 1)) throw new Error("BENCH_SCALE must be a fraction in (0, 1]");
const COUNT = Math.round(Number(process.argv[2] ?? 1_000_000) * SCALE);
const PER_COMMIT = 1_000;
const PER_DAY = 10_000;
const DAY_MS = 86_400_000;
const START = Date.UTC(2026, 0, 1);

const root = mkdtempSync(join(tmpdir(), "gitchat-bench-rebuild-"));
const dataDir = join(root, "data");
const gitdir = join(dataDir, "repos", "local", "general.git");
mkdirSync(gitdir, { recursive: true });

const run = async (cmd: string[], options: { stdin?: "pipe" | Blob; env?: Record<string, string> } = {}) => {
  const proc = Bun.spawn(cmd, { stdin: options.stdin ?? "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...options.env } });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (${code}): ${stderr}`);
  return { stdout, stderr, proc };
};

const git = (...args: string[]) => run(["git", `--git-dir=${gitdir}`, ...args]);

/** Bytes under a path (files only, recursively). */
const sizeOf = (path: string): number => {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
};

const WORDS = "deploy went out fine the build is green again who broke staging lunch at noon review my pull request please logs show a timeout on the queue we should ship it tomorrow".split(" ");
const AUTHORS = ["ann", "bo", "cy", "dee", "eli", "fay", "gus", "hal"];
/** A deterministic sentence of 4 to 19 words. */
const sentence = (n: number) => {
  let x = (n * 2654435761) >>> 0;
  const words: string[] = [];
  for (let i = 0, length = 4 + (n % 16); i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    words.push(WORDS[(x >>> 8) % WORDS.length]!);
  }
  // A ticket number: a vocabulary that grows with the channel, as real ones do.
  words.splice(n % words.length, 0, `#${(n * 7919) % 100_000}`);
  return words.join(" ");
};

/** Writes the whole history through one `git fast-import`, streaming. */
const generate = async () => {
  await git("init", "--bare", "--quiet", "--initial-branch=main");
  await git("config", "gitchat.owner", "local");
  await git("config", "gitchat.name", "general");
  await git("config", "gitchat.createdAt", new Date(START).toISOString());
  const proc = Bun.spawn(["git", `--git-dir=${gitdir}`, "fast-import", "--quiet", "--done"], { stdin: "pipe", stdout: "ignore", stderr: "pipe" });
  const encoder = new TextEncoder();
  const out = proc.stdin;
  for (let first = 0, commit = 0; first < COUNT; first += PER_COMMIT, commit++) {
    const messages: MessageRecord[] = [];
    const day = Math.floor(first / PER_DAY);
    for (let n = first; n < Math.min(first + PER_COMMIT, COUNT); n++) {
      const at = START + day * DAY_MS + Math.floor(((n % PER_DAY) * DAY_MS) / PER_DAY);
      messages.push({ id: Bun.randomUUIDv7("hex", at), author: AUTHORS[n % AUTHORS.length]!, content: sentence(n), type: "message", created_at: new Date(at).toISOString() });
    }
    const segment = Math.floor((first % PER_DAY) / PER_COMMIT);
    const last = messages[messages.length - 1]!;
    const subject = encoder.encode(commitMessageFor(messages));
    const when = Math.floor(Date.parse(last.created_at) / 1000);
    out.write(`commit refs/heads/main\ncommitter gitchat <gitchat@gitchat.invalid> ${when} +0000\ndata ${subject.length}\n`);
    out.write(subject);
    out.write("\n");
    for (const m of messages) {
      const bytes = encodeMessage(m);
      out.write(`M 100644 inline ${messagePath(m, segment)}\ndata ${bytes.length}\n`);
      out.write(bytes);
      out.write("\n");
    }
    if (commit % 20 === 0) await out.flush();
  }
  out.write("done\n");
  await out.end();
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`git fast-import failed: ${stderr}`);
};

const seconds = (ms: number) => Math.round(ms) / 1000;
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

console.log(`rebuild bench: ${COUNT} messages, ${PER_COMMIT} a commit, ${PER_DAY} a day (data in ${root})`);
let started = performance.now();
await generate();
const generateMs = performance.now() - started;
console.log(`fast-import: ${seconds(generateMs)} s`);

// The reference: the git CLI reads every message blob, given their ids.
const blobs = (await git("ls-tree", "-r", "--object-only", "main", "messages")).stdout;
const listFile = join(root, "blobs.txt");
writeFileSync(listFile, blobs);
started = performance.now();
const catFile = Bun.spawn(["git", `--git-dir=${gitdir}`, "cat-file", "--batch"], { stdin: Bun.file(listFile), stdout: "pipe", stderr: "ignore" });
let catBytes = 0;
for (const reader = catFile.stdout.getReader(); ; ) {
  const { done, value } = await reader.read();
  if (done) break;
  catBytes += value.length;
}
if ((await catFile.exited) !== 0) throw new Error("git cat-file --batch failed");
const catFileMs = performance.now() - started;

// gitchat rebuild, as a real process.
started = performance.now();
const rebuild = Bun.spawn([process.execPath, "src/cli/main.ts", "rebuild"], {
  cwd: join(import.meta.dir, ".."),
  env: { ...process.env, DATA_DIR: dataDir },
  stdin: "ignore",
  stdout: "pipe",
  stderr: "pipe",
});
const [rebuildOut, rebuildErr, rebuildCode] = await Promise.all([new Response(rebuild.stdout).text(), new Response(rebuild.stderr).text(), rebuild.exited]);
const rebuildMs = performance.now() - started;
if (rebuildCode !== 0) throw new Error(`gitchat rebuild failed (${rebuildCode}): ${rebuildErr}`);
// ru_maxrss of the rebuild process, in bytes.
const peakBytes = rebuild.resourceUsage()?.maxRSS ?? 0;
console.log(rebuildOut.trim());

// A new server joins: first pull (fetch and index everything) against git clone, over the same smart-HTTP remote.
const TOKEN = "ghp_benchJoinTokenForTheStandIn000000000000";
const github = await startGitHub({ users: [{ login: "alice", token: TOKEN }] });
let joinMs = 0;
let cloneMs = 0;
let joinPeakBytes = 0;
let joinOut = "";
type Measured = { ms: number; peakBytes: number; out: string };
let fetched: Measured | undefined;
const compareTree = process.env.BENCH_COMPARE_TREE;
let compareFetched: Measured | undefined;
let comparePulled: Measured | undefined;
try {
  await github.createRepo("alice", "chat", { private: true });
  await git("push", "--quiet", github.repoPath("alice", "chat"), "main");
  const authed = github.remoteUrl("alice", "chat").replace("://", `://x-access-token:${TOKEN}@`);
  started = performance.now();
  await run(["git", "clone", "--quiet", "--bare", authed, join(root, "clone.git")]);
  cloneMs = performance.now() - started;
  /** A real process in `cwd`; its time and its peak RSS (ru_maxrss). */
  const measure = async (cmd: string[], cwd: string, env: Record<string, string> = {}) => {
    const began = performance.now();
    const proc = Bun.spawn(cmd, { cwd, env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) throw new Error(`${cmd.join(" ")} failed in ${cwd} (${code}): ${out}${err}`);
    return { ms: performance.now() - began, peakBytes: proc.resourceUsage()?.maxRSS ?? 0, out: out.trim() };
  };
  const fetchOnly = (tree: string, name: string) =>
    measure([process.execPath, join(import.meta.dir, "fetch-only.ts"), tree, join(root, name), github.remoteUrl("alice", "chat"), TOKEN], tree);
  const pullInto = async (tree: string, name: string) => {
    const pulled = await measure([process.execPath, "src/cli/main.ts", "pull"], tree, {
      DATA_DIR: join(root, name),
      GITHUB_TOKEN: TOKEN,
      GITHUB_USERNAME: "alice",
      GITHUB_REPO_NAME: "chat",
      GITHUB_API_URL: github.apiUrl,
      GITHUB_GIT_URL: github.gitUrl,
    });
    // The figure counts only if the new server really holds every message.
    const joined = new Database(join(root, name, "gitchat.db"), { readonly: true });
    const held = joined.query<{ n: number }, []>("SELECT count(*) AS n FROM messages").get()!.n;
    joined.close();
    if (held !== COUNT) throw new Error(`the joining server (${tree}) indexed ${held} messages, not ${COUNT}`);
    return pulled;
  };
  const here = join(import.meta.dir, "..");
  fetched = await fetchOnly(here, "fetched.git");
  if (compareTree) compareFetched = await fetchOnly(compareTree, "compare-fetched.git");
  const pulled = await pullInto(here, "joined");
  joinMs = pulled.ms;
  joinPeakBytes = pulled.peakBytes;
  joinOut = pulled.out;
  if (compareTree) comparePulled = await pullInto(compareTree, "compare-joined");
} finally {
  await github.stop();
}

const dbBytes = sizeOf(join(dataDir, "gitchat.db")) + sizeOf(join(dataDir, "gitchat.db-wal")) + sizeOf(join(dataDir, "gitchat.db-shm"));
const gitBytes = sizeOf(gitdir);
// What each table and index of the rebuilt index takes (SQLite's dbstat: pages, with their free space).
const stats = new Database(join(dataDir, "gitchat.db"), { readonly: true });
const indexParts = Object.fromEntries(
  stats
    .query<{ name: string; bytes: number }, []>("SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC")
    .all()
    .map((part) => [part.name, part.bytes]),
);
stats.close();
console.log(`index parts: ${Object.entries(indexParts).filter(([, bytes]) => bytes >= 1e5).map(([name, bytes]) => `${name} ${mb(bytes)} MB`).join(", ")}`);

const rows = [
  ["work", "gitchat", "reference", "ratio"],
  ["--- ", "---", "---", "---"],
  [`read/index ${COUNT} messages`, `rebuild ${seconds(rebuildMs)} s`, `git cat-file --batch ${seconds(catFileMs)} s`, `${(rebuildMs / catFileMs).toFixed(1)}x`],
  ["peak RSS", `${mb(peakBytes)} MB`, "target < 400 MB", ""],
  ["disk", `index ${mb(dbBytes)} MB (db + wal)`, `git repository ${mb(gitBytes)} MB`, `${(dbBytes / gitBytes).toFixed(2)}x`],
  [`a new server joins: first pull of ${COUNT}`, `gitchat pull ${seconds(joinMs)} s, peak RSS ${mb(joinPeakBytes)} MB`, `git clone --bare ${seconds(cloneMs)} s`, `${(joinMs / cloneMs).toFixed(1)}x`],
  [`its fetch alone (no index)`, `${seconds(fetched!.ms)} s, peak RSS ${mb(fetched!.peakBytes)} MB`, `git clone --bare ${seconds(cloneMs)} s`, `${(fetched!.ms / cloneMs).toFixed(1)}x`],
  ...(compareTree
    ? [
        [`${compareTree}: pull`, `${seconds(comparePulled!.ms)} s, peak RSS ${mb(comparePulled!.peakBytes)} MB`, "", `${(comparePulled!.ms / cloneMs).toFixed(1)}x`],
        [`${compareTree}: fetch alone`, `${seconds(compareFetched!.ms)} s, peak RSS ${mb(compareFetched!.peakBytes)} MB`, "", `${(compareFetched!.ms / cloneMs).toFixed(1)}x`],
      ]
    : []),
];
for (const row of rows) console.log(`| ${row.join(" | ")} |`);

const result = {
  messages: COUNT,
  perCommit: PER_COMMIT,
  perDay: PER_DAY,
  generateMs: Math.round(generateMs),
  catFileMs: Math.round(catFileMs),
  catFileBytes: catBytes,
  rebuildMs: Math.round(rebuildMs),
  ratio: rebuildMs / catFileMs,
  peakRssBytes: peakBytes,
  indexBytes: dbBytes,
  gitBytes,
  indexToGit: dbBytes / gitBytes,
  indexParts,
  rebuildOutput: rebuildOut.trim(),
  joinMs: Math.round(joinMs),
  joinPeakRssBytes: joinPeakBytes,
  cloneMs: Math.round(cloneMs),
  joinOutput: joinOut,
  fetchOnlyMs: Math.round(fetched!.ms),
  fetchOnlyPeakRssBytes: fetched!.peakBytes,
  fetchOnlyOutput: fetched!.out,
  compare: compareTree
    ? {
        tree: compareTree,
        joinMs: Math.round(comparePulled!.ms),
        joinPeakRssBytes: comparePulled!.peakBytes,
        fetchOnlyMs: Math.round(compareFetched!.ms),
        fetchOnlyPeakRssBytes: compareFetched!.peakBytes,
      }
    : undefined,
  loadAverageAtEnd: loadavg(),
};
mkdirSync(join(import.meta.dir, "out"), { recursive: true });
writeFileSync(join(import.meta.dir, "out", "rebuild.json"), `${JSON.stringify(result, null, 2)}\n`);
// BENCH_KEEP=1 leaves the data directory for a closer look.
if (!process.env.BENCH_KEEP) rmSync(root, { recursive: true, force: true });
