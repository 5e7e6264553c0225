import { expect, test } from "bun:test";
import { join } from "node:path";
import { formatProgress, terminalProgress } from "../../src/cli/progress.ts";
import { encodeMessage, messagePath } from "../../src/messages/layout.ts";
import { CLI, ROOT } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

test("a progress line gives the count, the rate and what is left", () => {
  expect(formatProgress("local/general: indexing", 120_000, 1_000_000, 3_000)).toBe(
    "local/general: indexing 120,000 of 1,000,000 messages, 40,000/s, about 22 s left",
  );
  expect(formatProgress("local/general: indexing", 600, undefined, 2_000)).toBe("local/general: indexing 600 messages, 300/s");
  expect(formatProgress("local/general: checking", 1_000, 181_000, 1_000)).toBe(
    "local/general: checking 1,000 of 181,000 messages, 1,000/s, about 3 min 0 s left",
  );
});

test("verify's signature check counts commits, not messages", () => {
  expect(formatProgress("local/general: checking signatures of", 5_000, undefined, 2_000, "commits")).toBe(
    "local/general: checking signatures of 5,000 commits, 2,500/s",
  );
});

test("there is no progress line when stderr is not a terminal", () => {
  const written: string[] = [];
  expect(terminalProgress("x", { isTTY: false, write: (text: string) => written.push(text) })).toBeUndefined();
});

/** A channel of `count` messages written straight by the git CLI, in gitchat's layout and with its config. */
const channelOf = async (dataDir: string, count: number) => {
  const gitdir = join(dataDir, "repos", "local", "general.git");
  const git = async (args: string[], stdin?: Blob) => {
    const proc = Bun.spawn(["git", `--git-dir=${gitdir}`, ...args], { stdin: stdin ?? "ignore", stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) throw new Error(`git ${args[0]} failed: ${stderr}`);
  };
  await git(["init", "--bare", "--quiet", "--initial-branch=main", gitdir]);
  await git(["config", "gitchat.owner", "local"]);
  await git(["config", "gitchat.name", "general"]);
  await git(["config", "gitchat.createdAt", "2026-01-01T00:00:00.000Z"]);
  const parts: BlobPart[] = [];
  const start = Date.UTC(2026, 0, 1);
  for (let first = 0; first < count; first += 1000) {
    parts.push(`commit refs/heads/main\ncommitter local <local@gitchat.invalid> ${start / 1000 + first} +0000\ndata 4\nmany\n`);
    for (let n = first; n < Math.min(first + 1000, count); n++) {
      const at = start + n * 1000;
      const m = { id: Bun.randomUUIDv7("hex", at), author: "local", content: `message ${n}`, type: "message", created_at: new Date(at).toISOString() };
      const bytes = encodeMessage(m);
      parts.push(`M 100644 inline ${messagePath(m, Math.floor((n % 86_400) / 1000))}\ndata ${bytes.length}\n`, bytes as Uint8Array<ArrayBuffer>, "\n");
    }
  }
  await git(["fast-import", "--quiet"], new Blob(parts));
};

test("gitchat rebuild of a large channel writes no progress lines when stderr is not a terminal", async () => {
  const dataDir = tempDir();
  // Large enough that indexing takes longer than the one second before a first progress line.
  await channelOf(dataDir, 40_000);
  const proc = Bun.spawn([process.execPath, CLI, "rebuild"], { cwd: ROOT, env: { ...process.env, DATA_DIR: dataDir }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toContain("40000 message(s)");
  expect(stdout).not.toContain("indexing 1");
}, 120_000);
