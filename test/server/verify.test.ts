/** `gitchat verify` only reads: it never creates a channel, indexes, packs or writes a file, and runs beside a server. */
import { Database } from "bun:sqlite";
import { expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { gitdirOf, post, sendMany, snapshotTree } from "../support/damage.ts";
import { runCli, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";
import { messageKey } from "../../src/db/database.ts";

setDefaultTimeout(60_000);

const dataDirWith = async (count: number) => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  expect((await fetch(`${server.url}/repositories`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ owner: "acme", name: "ops" }) })).status).toBe(201);
  const sent = await sendMany(server.url, count);
  expect((await post(server.url, "in ops", "acme/ops")).status).toBe(201);
  expect(await server.stop()).toBe(0);
  return { dataDir, sent };
};

test("gitchat verify writes nothing, and creates no channel, even when the default channel is missing", async () => {
  const { dataDir } = await dataDirWith(3);
  const before = snapshotTree(dataDir);
  // Set to a channel that does not exist: opening the directory as a server would creates it.
  const verified = await runCli(["verify"], { dataDir, env: { GITHUB_REPO_NAME: "elsewhere" } });
  expect(verified.stderr).toBe("");
  expect(verified.stdout).toContain("local/general: 3 message(s) in git, 3 indexed, consistent");
  expect(verified.stdout).toContain("acme/ops: 1 message(s) in git, 1 indexed, consistent");
  expect(verified.code).toBe(0);
  expect(existsSync(gitdirOf(dataDir, "local/elsewhere"))).toBe(false);
  expect(snapshotTree(dataDir)).toEqual(before);
});

test("gitchat verify reports an index that lags git, and indexes nothing", async () => {
  const { dataDir, sent } = await dataDirWith(3);
  // As if the process died between the commit and the index: the index knows the second commit only.
  const db = new Database(join(dataDir, "gitchat.db"));
  db.run("UPDATE repositories SET indexed_commit = ? WHERE name = 'general'", [sent[1]!.git_hash]);
  db.run("DELETE FROM messages WHERE id = ?", [messageKey(sent[2]!.id)]);
  db.close();
  const before = snapshotTree(dataDir);
  const verified = await runCli(["verify"], { dataDir });
  expect(verified.code).toBe(1);
  expect(verified.stdout).toContain(`git's head ${sent[2]!.git_hash} is newer than the last indexed commit ${sent[1]!.git_hash}`);
  expect(snapshotTree(dataDir)).toEqual(before);
});

test("gitchat verify runs beside a running server, while it takes messages", async () => {
  const { dataDir } = await dataDirWith(3);
  const server = await startServer({ dataDir });
  try {
    let sending = true;
    let sentMeanwhile = 0;
    const sender = (async () => {
      while (sending) {
        expect((await post(server.url, `while verifying ${sentMeanwhile}`)).status).toBe(201);
        sentMeanwhile++;
      }
    })();
    const verified = await runCli(["verify"], { dataDir });
    sending = false;
    await sender;
    expect(verified.stderr).toBe("");
    expect(verified.stdout).toMatch(/local\/general: \d+ message\(s\) in git, \d+ indexed, consistent/);
    expect(verified.code).toBe(0);
    expect(sentMeanwhile).toBeGreaterThan(0);
    expect((await post(server.url, "after verify")).status).toBe(201);
  } finally {
    await server.stop();
  }
});
