import { expect, test } from "bun:test";
import { join } from "node:path";
import { fsck, runGit } from "../support/git.ts";
import { startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const send = async (url: string, content: string) => {
  const response = await fetch(`${url}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content }),
  });
  return response.status === 201 ? ((await response.json()) as { id: string; git_hash: string }) : undefined;
};

const listAll = async (url: string) => {
  const ids = new Map<string, string>();
  let before: string | undefined;
  for (;;) {
    const page = (await (await fetch(`${url}/messages?limit=1000${before ? `&before=${before}` : ""}`)).json()) as {
      id: string;
      git_hash: string;
    }[];
    if (page.length === 0) return ids;
    for (const m of page) ids.set(m.id, m.git_hash);
    before = page[0]!.id;
  }
};

test("every acknowledged message survives kill -9 during a stream of concurrent sends", async () => {
  const dataDir = tempDir();
  const acknowledged = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    // A low pack threshold so that packing, too, is running when the kill lands.
    const server = await startServer({ dataDir, env: { PACK_THRESHOLD: "300" } });
    let stop = false;
    const clients = Array.from({ length: 20 }, async (_, client) => {
      for (let i = 0; !stop; i++) {
        try {
          const answer = await send(server.url, `round ${round} client ${client} message ${i}`);
          if (answer) acknowledged.set(answer.id, answer.git_hash);
        } catch {
          return; // the connection died with the server
        }
      }
    });
    await Bun.sleep(700 + round * 300);
    await server.kill9();
    stop = true;
    await Promise.all(clients);
  }
  expect(acknowledged.size).toBeGreaterThan(100);

  const server = await startServer({ dataDir });
  try {
    const listed = await listAll(server.url);
    const missing = [...acknowledged.keys()].filter((id) => !listed.has(id));
    expect(missing).toEqual([]);
    for (const [id, hash] of acknowledged) expect(listed.get(id)).toBe(hash);
  } finally {
    await server.stop();
  }

  const gitdir = join(dataDir, "repos", "local", "general.git");
  const files = await runGit(["--git-dir", gitdir, "ls-tree", "-r", "--name-only", "main"]);
  const inGit = new Set(files.stdout.trim().split("\n").map((p) => p.split("/").pop()!.replace(".json", "")));
  expect([...acknowledged.keys()].filter((id) => !inGit.has(id))).toEqual([]);
  for (const [id, hash] of [...acknowledged].slice(0, 50)) {
    const inCommit = await runGit(["--git-dir", gitdir, "ls-tree", "-r", "--name-only", hash]);
    expect(inCommit.stdout).toContain(`${id}.json`);
  }
  const check = await fsck(gitdir);
  expect(check.stderr).toBe("");
  expect(check.code).toBe(0);
}, 90_000);
