/**
 * The index never stays behind git: a commit whose index insert failed (as on
 * a full disk, after the commit landed) is indexed by the next commit, or at
 * the next start-up, and never skipped by marking the index past it.
 */
import { expect, test } from "bun:test";
import type { Gitchat } from "../../src/gitchat.ts";
import type { MessageView } from "../../src/messages/service.ts";
import { call, openTestGitchat } from "../support/app.ts";
import { failIndexOf } from "../support/faults.ts";
import { tempDir } from "../support/tmp.ts";

const send = (gitchat: Gitchat, content: string) => call(gitchat, "POST", "/messages", { content });

const contents = async (gitchat: Gitchat) =>
  ((await call(gitchat, "GET", "/messages")).body as MessageView[]).map((m) => m.content);

test("a message whose index insert failed after its commit is listed once the next message is committed", async () => {
  const gitchat = await openTestGitchat();
  try {
    const lift = failIndexOf(gitchat, "committed, not indexed");
    const failed = await send(gitchat, "committed, not indexed");
    lift();
    const next = await send(gitchat, "the next one");
    expect([failed.status, next.status, await contents(gitchat)]).toEqual([500, 201, ["committed, not indexed", "the next one"]]);
  } finally {
    await gitchat.close();
  }
});

test("a message whose index insert failed after its commit is listed after a restart", async () => {
  const dataDir = tempDir();
  const first = await openTestGitchat({ dataDir });
  const lift = failIndexOf(first, "committed before the restart");
  const failed = await send(first, "committed before the restart");
  lift();
  await first.close();
  const second = await openTestGitchat({ dataDir });
  try {
    expect([failed.status, await contents(second)]).toEqual([500, ["committed before the restart"]]);
  } finally {
    await second.close();
  }
});
