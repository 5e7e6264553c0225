/**
 * A full disk, for real: gitchat runs as a process with its data directory on
 * a small tmpfs and is sent messages until the disk fills. Every answer is 201
 * or 507 (never a 500, never a hang); what was acknowledged is in the API and
 * in git; once space is freed, retries with the same Idempotency-Key store
 * nothing twice, and a restart and `gitchat verify` find git and the index
 * consistent. A read-only data directory answers 503.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fsck, runGit } from "../support/git.ts";
import { CLI, startServer, type RunningServer } from "../support/server.ts";
import { makeReadOnly, mountTmpfs, type Tmpfs } from "../support/tmpfs.ts";
import { tempDir } from "../support/tmp.ts";

/** No server env leaks in: local only, whatever the shell holds. */
const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };
const GITDIR = join("repos", "local", "general.git");

const mounted = mountTmpfs("768k");
const tmpfs: Tmpfs | undefined = "skip" in mounted ? undefined : mounted;
if ("skip" in mounted) console.warn(`test/server/full-disk.test.ts is skipped: ${mounted.skip}`);

const servers: RunningServer[] = [];
afterAll(async () => {
  for (const server of servers) if (server.proc.exitCode === null) await server.kill9();
  tmpfs?.unmount();
});

type Answer = { status: number | "no answer"; body: any };

const send = async (url: string, content: string, key?: string): Promise<Answer> => {
  try {
    const response = await fetch(`${url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key === undefined ? {} : { "idempotency-key": key }) },
      body: JSON.stringify({ content }),
      // Generous: a hang is what this catches, not slowness.
      signal: AbortSignal.timeout(30_000),
    });
    return { status: response.status, body: await response.json() };
  } catch (error) {
    return { status: "no answer", body: String(error) };
  }
};

const listAll = async (url: string) => {
  const response = await fetch(`${url}/messages?limit=1000`);
  expect(response.status).toBe(200);
  return (await response.json()) as { id: string; content: string; git_hash: string }[];
};

const tmpFilesIn = (gitdir: string) =>
  [join(gitdir, "objects", "pack"), gitdir].flatMap((dir) => readdirSync(dir).filter((f) => f.startsWith("tmp_")));

test.skipIf(!tmpfs)(
  "sent until the disk is full: 201 or 507 only; acknowledged messages are kept; after freeing space retries store nothing twice",
  async () => {
    const dataDir = join(tmpfs!.dir, "full");
    const gitdir = join(dataDir, GITDIR);
    // Space to give back a little at a time, later: written before gitchat starts.
    const filler = join(tmpfs!.dir, "filler");
    mkdirSync(filler);
    for (let i = 0; i < 4; i++) writeFileSync(join(filler, String(i)), Buffer.alloc(16 * 1024, 1));
    let server = await startServer({ dataDir, env: LOCAL_ONLY });
    servers.push(server);

    // Four clients, two with an Idempotency-Key on every message and two without,
    // each sending until it has been refused three times in a row.
    const answers: { content: string; key?: string; answer: Answer }[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async (_, client) => {
        for (let i = 0, refusedInARow = 0; refusedInARow < 3 && i < 2000; i++) {
          const content = `client ${client} message ${i} ${"padding ".repeat(40)}`;
          const key = client < 2 ? `full-disk-${client}-${i}` : undefined;
          const answer = await send(server.url, content, key);
          answers.push({ content, key, answer });
          refusedInARow = answer.status === 507 ? refusedInARow + 1 : 0;
          if (answer.status !== 201 && answer.status !== 507) return;
        }
      }),
    );
    // A little space back, not enough for everything a message needs: part of it may land.
    for (let i = 0; i < 4; i++) {
      rmSync(join(filler, String(i)));
      const content = `sent with 16 KiB freed, ${i}`;
      answers.push({ content, answer: await send(server.url, content) });
    }
    expect([...new Set(answers.map((a) => a.answer.status))].sort()).toEqual([201, 507]);
    const refused = answers.filter((a) => a.answer.status === 507);
    expect(refused[0]!.answer.body.error.code).toBe("disk_full");
    expect(refused[0]!.answer.body.error.message).toContain("disk holding gitchat's data directory is full");
    expect(tmpFilesIn(gitdir)).toEqual([]);

    // Space again: the same server takes messages, and every refused one sent
    // again with its key is stored once (200 when it had reached git after all).
    tmpfs!.resize("16m");
    expect((await send(server.url, "after the disk was freed")).status).toBe(201);
    const retried: Answer["status"][] = [];
    for (const { content, key } of refused) if (key !== undefined) retried.push((await send(server.url, content, key)).status);
    expect(retried.filter((status) => status !== 200 && status !== 201)).toEqual([]);
    const acknowledged = answers.filter((a) => a.answer.status === 201).map((a) => a.answer.body as { id: string; git_hash: string });
    const listed = await listAll(server.url);
    const byId = new Map(listed.map((m) => [m.id, m]));
    expect(acknowledged.filter((m) => byId.get(m.id)?.git_hash !== m.git_hash)).toEqual([]);
    // Each message is listed once; every keyed one is there (retried), and the
    // index holds exactly what git holds (refused messages whose commit landed included).
    const listedContents = listed.map((m) => m.content);
    expect(listedContents.length).toBe(new Set(listedContents).size);
    const keyed = answers.filter((a) => a.key !== undefined).map((a) => a.content);
    expect(keyed.filter((c) => !listedContents.includes(c))).toEqual([]);
    const files = (await runGit(["--git-dir", gitdir, "ls-tree", "-r", "--name-only", "main", "messages"])).stdout.trim().split("\n");
    expect(files.map((f) => f.split("/").pop()!.replace(/\.json$/, "")).sort()).toEqual([...byId.keys()].sort());

    // Git holds every acknowledged message in the commit its answer named.
    for (const m of acknowledged) {
      const path = files.find((f) => f.endsWith(`/${m.id}.json`));
      const shown = await runGit(["--git-dir", gitdir, "show", `${m.git_hash}:${path}`]);
      expect(JSON.parse(shown.stdout).id).toBe(m.id);
    }
    const check = await fsck(gitdir);
    expect([check.code, check.stderr]).toEqual([0, ""]);

    // A restart, then verify: git and the index agree.
    expect(await server.stop()).toBe(0);
    const verify = Bun.spawn([process.execPath, CLI, "verify"], {
      env: { ...process.env, ...LOCAL_ONLY, DATA_DIR: dataDir },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, code] = await Promise.all([new Response(verify.stdout).text(), verify.exited]);
    expect({ code, consistent: out.includes(`${listed.length} indexed, consistent`) }).toEqual({ code: 0, consistent: true });
    server = await startServer({ dataDir, env: LOCAL_ONLY });
    servers.push(server);
    expect((await listAll(server.url)).length).toBe(listed.length);
    await server.stop();
  },
  180_000,
);

test.skipIf(!tmpfs)("a data directory that turns read-only answers 503, and the same key goes through once it is writable", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir, env: LOCAL_ONLY });
  servers.push(server);
  expect((await send(server.url, "while writable", "ro-1")).status).toBe(201);
  const packDir = join(dataDir, GITDIR, "objects", "pack");
  const writable = makeReadOnly(packDir);
  let refused: Answer;
  try {
    refused = await send(server.url, "while read-only", "ro-2");
  } finally {
    writable();
  }
  const retried = await send(server.url, "while read-only", "ro-2");
  expect([refused.status, refused.body.error.code, retried.status]).toEqual([503, "storage_read_only", 201]);
  expect((await listAll(server.url)).map((m) => m.content)).toEqual(["while writable", "while read-only"]);
  await server.stop();
}, 60_000);
