import { expect, spyOn, test } from "bun:test";
import { call } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { closedAfterEach, send } from "./support.ts";

const { standIn, server, closeNow } = closedAfterEach();
type Gitchat = Awaited<ReturnType<typeof server>>;
const waiting = async (gitchat: Gitchat) => (await call(gitchat, "GET", "/repositories")).body[0].sync.unpushed as number;
/** What the git CLI counts: commits of main that the remote's last seen head does not reach. */
const gitCount = async (gitchat: Gitchat) => {
  const gitdir = gitchat.repositories.resolve("alice/chat").store.gitdir;
  return Number((await runGit(["--git-dir", gitdir, "rev-list", "--count", "main", "--not", "refs/remotes/origin/main"])).stdout.trim());
};

test("the waiting count is the sends the remote lacks, through a failed push, a restart and the push that lands", async () => {
  const github = await standIn();
  const first = await server(github);
  await call(first, "POST", "/push");
  await github.down();
  for (let i = 0; i < 7; i++) await send(first, `offline ${i}`);
  expect((await call(first, "POST", "/push")).body.success).toBe(false);
  expect(await waiting(first)).toBe(7);

  // A restart counts again from the repository.
  const dataDir = first.dataDir;
  await closeNow(first);
  const again = await server(github, { dataDir });
  expect(await waiting(again)).toBe(7);
  await send(again, "after the restart");
  expect(await waiting(again)).toBe(8);

  await github.up();
  expect((await call(again, "POST", "/push")).body.success).toBe(true);
  expect(await waiting(again)).toBe(0);
  await closeNow(again);
  expect(await waiting(await server(github, { dataDir }))).toBe(0);
});

test("a channel listing reads no commit: the count was kept up to date by the sends and the failed push", async () => {
  const github = await standIn();
  const gitchat = await server(github);
  await call(gitchat, "POST", "/push");
  await github.down();
  for (let i = 0; i < 5; i++) await send(gitchat, `offline ${i}`);
  await call(gitchat, "POST", "/push");
  const store = gitchat.repositories.resolve("alice/chat").store;
  const reads = spyOn(store, "readCommit");
  try {
    expect(await waiting(gitchat)).toBe(5);
    expect((await call(gitchat, "GET", "/ui/channels")).status).toBe(200);
    expect(reads).toHaveBeenCalledTimes(0);
  } finally {
    reads.mockRestore();
  }
});

test("after a pull merges what another server pushed, our sends and the merge commit are waiting, as git counts them", async () => {
  const github = await standIn();
  const first = await server(github);
  const second = await server(github);
  await call(first, "POST", "/push");
  await send(second, "from the second server");
  await send(second, "and another");
  expect((await call(second, "POST", "/push")).body.success).toBe(true);

  // The first server's pushes fail from here on: its sends wait.
  const refused = github.fail({ path: /git-receive-pack$/, method: "POST", status: 500, times: Infinity });
  for (let i = 0; i < 3; i++) await send(first, `from the first server ${i}`);
  expect((await call(first, "POST", "/pull")).body.success).toBe(true);
  expect(await waiting(first)).toBe(4);
  expect(await gitCount(first)).toBe(4);

  refused.cancel();
  expect((await call(first, "POST", "/push")).body.success).toBe(true);
  expect(await waiting(first)).toBe(0);
});

test("a pull of commits built on ours fast-forwards: main becomes the remote's head, and nothing waits", async () => {
  const github = await standIn();
  const first = await server(github);
  const second = await server(github);
  for (let i = 0; i < 2; i++) await send(first, `first ${i}`);
  expect((await call(first, "POST", "/push")).body.success).toBe(true);
  expect((await call(second, "POST", "/pull")).body.success).toBe(true);
  for (let i = 0; i < 3; i++) await send(second, `second ${i}`);
  expect((await call(second, "POST", "/push")).body.success).toBe(true);

  expect((await call(first, "POST", "/pull")).body.success).toBe(true);
  const remoteMain = (await runGit(["--git-dir", github.repoPath("alice", "chat"), "rev-parse", "main"])).stdout.trim();
  expect((await first.repositories.resolve("alice/chat").store.head()) ?? "").toBe(remoteMain);
  expect(await waiting(first)).toBe(0);
});
