/**
 * POST /messages with an Idempotency-Key: a client that sends again (after an
 * error, a timeout, a restart) gets the original message back, never a copy.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Gitchat } from "../../src/gitchat.ts";
import type { MessageView } from "../../src/messages/service.ts";
import { call, openTestGitchat } from "../support/app.ts";
import { failIndexOf } from "../support/faults.ts";
import { runGit } from "../support/git.ts";
import { tempDir } from "../support/tmp.ts";

const send = (gitchat: Gitchat, body: Record<string, unknown>, key?: string) =>
  call(gitchat, "POST", "/messages", body, key === undefined ? {} : { "idempotency-key": key });

const contents = async (gitchat: Gitchat, repository = "local/general") => {
  const answer = await call(gitchat, "GET", `/messages?repository=${repository}`);
  return (answer.body as MessageView[]).map((m) => m.content);
};

/** The message files on `main`, as the git CLI lists them. */
const filesInGit = async (dataDir: string, repository = "local/general") => {
  const listed = await runGit(["--git-dir", join(dataDir, "repos", `${repository}.git`), "ls-tree", "-r", "--name-only", "main"]);
  return listed.stdout.split("\n").filter((p) => p.endsWith(".json"));
};

describe("one gitchat", () => {
  let gitchat: Gitchat;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = tempDir();
    gitchat = await openTestGitchat({ dataDir });
    const created = await call(gitchat, "POST", "/repositories", { owner: "team", name: "other" });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await gitchat.close();
  });

  test("the same key twice stores one message: 201, then 200 with the same message", async () => {
    const first = await send(gitchat, { content: "sent twice" }, "key-twice");
    const second = await send(gitchat, { content: "sent twice" }, "key-twice");
    expect([first.status, second.status, second.body]).toEqual([201, 200, first.body]);
    expect((await contents(gitchat)).filter((c) => c === "sent twice")).toEqual(["sent twice"]);
  });

  test("the same key in two channels is two messages, one in each", async () => {
    const general = await send(gitchat, { content: "one key, two channels" }, "key-two-channels");
    const other = await send(gitchat, { content: "one key, two channels", repository: "team/other" }, "key-two-channels");
    expect([general.status, other.status]).toEqual([201, 201]);
    expect(other.body.id).not.toBe(general.body.id);
    expect([(await contents(gitchat)).filter((c) => c === "one key, two channels"), await contents(gitchat, "team/other")]).toEqual([
      ["one key, two channels"],
      ["one key, two channels"],
    ]);
  });

  test("different keys are different messages, even with the same text", async () => {
    const a = await send(gitchat, { content: "same words" }, "key-a");
    const b = await send(gitchat, { content: "same words" }, "key-b");
    expect([a.status, b.status]).toEqual([201, 201]);
    expect((await contents(gitchat)).filter((c) => c === "same words")).toEqual(["same words", "same words"]);
  });

  test("a used key with a different message is refused with 422 and stores nothing", async () => {
    await send(gitchat, { content: "the original" }, "key-reused");
    const before = await contents(gitchat);
    const answer = await send(gitchat, { content: "something else" }, "key-reused");
    expect([answer.status, answer.body.error.code]).toEqual([422, "idempotency_key_reused"]);
    expect(await contents(gitchat)).toEqual(before);
  });

  test("a key that is empty, too long or not printable ASCII is refused with 400 and stores nothing", async () => {
    const before = await filesInGit(dataDir);
    for (const key of ["", "k".repeat(256), "caf\u00e9", "tab\there"]) {
      const answer = await send(gitchat, { content: `bad key ${JSON.stringify(key)}` }, key);
      expect([key.length, answer.status, answer.body.error]).toEqual([
        key.length,
        400,
        { code: "invalid_input", message: "Idempotency-Key must be 1 to 255 printable ASCII characters" },
      ]);
    }
    expect(await filesInGit(dataDir)).toEqual(before);
  });

  test("a retry that arrives while the first attempt is still committing gets that attempt's message", async () => {
    const answers = await Promise.all([
      send(gitchat, { content: "racing retry" }, "key-racing"),
      send(gitchat, { content: "racing retry" }, "key-racing"),
      send(gitchat, { content: "racing retry" }, "key-racing"),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect((await contents(gitchat)).filter((c) => c === "racing retry")).toEqual(["racing retry"]);
  });

  test("a retry after a failure that came after the commit gets the committed message back, not a copy", async () => {
    const lift = failIndexOf(gitchat, "failed after its commit");
    const failed = await send(gitchat, { content: "failed after its commit" }, "key-after-commit");
    lift();
    const retried = await send(gitchat, { content: "failed after its commit" }, "key-after-commit");
    expect([failed.status, retried.status]).toEqual([500, 200]);
    const inGit = (await filesInGit(dataDir)).filter((p) => p.endsWith(`${retried.body.id}.json`));
    expect([(await contents(gitchat)).filter((c) => c === "failed after its commit"), inGit.length]).toEqual([
      ["failed after its commit"],
      1,
    ]);
  });
});

test("a key outlives a restart, and a failure after the commit followed by a restart still gives the original back", async () => {
  const dataDir = tempDir();
  let gitchat = await openTestGitchat({ dataDir });
  const sent = await send(gitchat, { content: "before the restart" }, "key-restart");
  const lift = failIndexOf(gitchat, "lost answer");
  const failed = await send(gitchat, { content: "lost answer" }, "key-lost-answer");
  lift();
  await gitchat.close();

  gitchat = await openTestGitchat({ dataDir });
  try {
    const again = await send(gitchat, { content: "before the restart" }, "key-restart");
    const retried = await send(gitchat, { content: "lost answer" }, "key-lost-answer");
    expect([sent.status, again.status, again.body.id, failed.status, retried.status]).toEqual([201, 200, sent.body.id, 500, 200]);
    expect(await contents(gitchat)).toEqual(["before the restart", "lost answer"]);
  } finally {
    await gitchat.close();
  }
});

test("a key is remembered for 24 hours: a retry after that stores the message again", async () => {
  let now = Date.now();
  const gitchat = await openTestGitchat({ now: () => now });
  try {
    const first = await send(gitchat, { content: "long ago" }, "key-old");
    now += 25 * 3_600_000;
    // Any keyed send is when old keys are forgotten.
    await send(gitchat, { content: "a day later" }, "key-new");
    const late = await send(gitchat, { content: "long ago" }, "key-old");
    expect([first.status, late.status]).toEqual([201, 201]);
    expect(await contents(gitchat)).toEqual(["long ago", "a day later", "long ago"]);
  } finally {
    await gitchat.close();
  }
});
