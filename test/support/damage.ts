/** Real damage done to real files of a data directory, and what a test needs to look at the result. */
import { createHash } from "node:crypto";
import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export type Sent = { id: string; git_hash: string; content: string };

export const post = async (url: string, content: string, repository?: string) => {
  const response = await fetch(`${url}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content, repository }),
  });
  return { status: response.status, body: (await response.json()) as any };
};

/** Sends `count` messages one after the other (one commit each) and gives what was acknowledged. */
export const sendMany = async (url: string, count: number, prefix = "message") => {
  const sent: Sent[] = [];
  for (let i = 0; i < count; i++) {
    const { status, body } = await post(url, `${prefix} ${i}`);
    if (status !== 201) throw new Error(`send answered ${status}: ${JSON.stringify(body)}`);
    sent.push(body);
  }
  return sent;
};

/** Every message the API lists (all pages), as id → content. */
export const listAll = async (url: string, repository?: string) => {
  const all = new Map<string, string>();
  let before: string | undefined;
  for (;;) {
    const query = new URLSearchParams({ limit: "1000" });
    if (before) query.set("before", before);
    if (repository) query.set("repository", repository);
    const page = (await (await fetch(`${url}/messages?${query}`)).json()) as { id: string; content: string }[];
    if (page.length === 0) return all;
    for (const m of page) all.set(m.id, m.content);
    before = page[0]!.id;
  }
};

export const gitdirOf = (dataDir: string, channel = "local/general") => {
  const [owner, name] = channel.split("/");
  return join(dataDir, "repos", owner!, `${name}.git`);
};

/** The channel's packs, oldest first (a commit writes one small pack). */
export const packsOf = (gitdir: string) => {
  const dir = join(gitdir, "objects", "pack");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".pack"))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs || a.localeCompare(b));
};

/**
 * Every file and directory under `dir` with its kind, mode, size, mtime and
 * (for files) SHA-1: two snapshots are equal only if nothing was written.
 */
export const snapshotTree = (dir: string) => {
  const seen = new Map<string, string>();
  const walk = (path: string) => {
    const stat = lstatSync(path);
    const what = `${stat.mode.toString(8)} ${stat.size} ${stat.mtimeMs}`;
    if (stat.isDirectory()) {
      seen.set(path, `dir ${what}`);
      for (const name of readdirSync(path)) walk(join(path, name));
    } else {
      seen.set(path, `file ${what} ${createHash("sha1").update(readFileSync(path)).digest("hex")}`);
    }
  };
  walk(dir);
  return Object.fromEntries([...seen].sort(([a], [b]) => a.localeCompare(b)));
};

/** No line of a command's output is part of a stack trace. */
export const hasStackTrace = (text: string) => /^\s+at /m.test(text) || /\n\s*\d+ \|/.test(text);
