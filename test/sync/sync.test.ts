import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { call } from "../support/app.ts";
import { fsck, runGit } from "../support/git.ts";
import { webhookSignature, type GitHubStandIn } from "../support/github.ts";
import { ALICE, closedAfterEach, contents, eventually, send, WEBHOOK_SECRET } from "./support.ts";

const { standIn, server, closeNow } = closedAfterEach();
const remoteFiles = async (github: GitHubStandIn, owner = "alice", name = "chat") => {
  const listed = await runGit(["--git-dir", github.repoPath(owner, name), "ls-tree", "-r", "--name-only", "main", "messages"]);
  return listed.stdout.trim().split("\n").filter(Boolean);
};

test("start-up creates the missing repository as private under the token's user, and sent messages reach it", async () => {
  const github = await standIn();
  const gitchat = await server(github);
  gitchat.sync!.start();
  await eventually(() => github.repo("alice", "chat") !== undefined);
  expect(github.repo("alice", "chat")!.private).toBe(true);

  const sent = await send(gitchat, "hello GitHub");
  await eventually(async () => (await remoteFiles(github)).some((f) => f.endsWith(`${sent.id}.json`)));
  const check = await fsck(github.repoPath("alice", "chat"));
  expect(check.code).toBe(0);
  const [listed] = (await call(gitchat, "GET", "/repositories")).body;
  await eventually(async () => (await call(gitchat, "GET", "/repositories")).body[0].sync.unpushed === 0);
  expect(listed.sync.enabled).toBe(true);
  expect(listed.sync.last_error).toBeNull();
});

test("a second server pointed at the same repository pulls the history and both see one conversation", async () => {
  const github = await standIn();
  const first = await server(github);
  for (let i = 0; i < 5; i++) await send(first, `from first ${i}`);
  expect((await call(first, "POST", "/push")).body.success).toBe(true);

  const second = await server(github);
  expect((await call(second, "POST", "/pull")).body.success).toBe(true);
  expect(await contents(second)).toEqual(await contents(first));

  // Both write at once; each push meets the other's and merges.
  await Promise.all([send(first, "first again"), send(second, "second again")]);
  const pushes = await Promise.all([call(first, "POST", "/push"), call(second, "POST", "/push")]);
  expect(pushes.map((p) => p.body.success)).toEqual([true, true]);
  // Whichever pushed last holds both; the other catches up on its next pull.
  await Promise.all([call(first, "POST", "/pull"), call(second, "POST", "/pull")]);
  expect((await contents(first)).sort()).toEqual((await contents(second)).sort());
  expect(await contents(first)).toHaveLength(7);
  expect(await remoteFiles(github)).toHaveLength(7);
  expect((await fsck(github.repoPath("alice", "chat"))).code).toBe(0);
  expect((await fsck(join(first.dataDir, "repos", "alice", "chat.git"))).code).toBe(0);
});

test("/health counts every message the index holds, after sends and after a pull, without counting them again", async () => {
  const github = await standIn();
  const first = await server(github);
  for (let i = 0; i < 5; i++) await send(first, `from first ${i}`);
  expect((await call(first, "POST", "/push")).body.success).toBe(true);

  const second = await server(github);
  const messagesInHealth = async () => {
    const answer = await call(second, "GET", "/health");
    expect(answer.status).toBe(200);
    return answer.body.database.messages as number;
  };
  // The count is taken once, here; from now on it is kept as messages arrive.
  expect(await messagesInHealth()).toBe(0);
  await Promise.all([send(second, "on the second server"), send(second, "and another")]);
  expect(await messagesInHealth()).toBe(2);
  expect((await call(second, "POST", "/pull")).body.success).toBe(true);
  expect(await messagesInHealth()).toBe(7);
  expect(second.db.countMessages()).toBe(7);
});

test("a pulled message older than what a poller has seen still reaches it through the cursor", async () => {
  const github = await standIn();
  const first = await server(github);
  const second = await server(github);
  await send(second, "written on the second server, first in time");
  await send(first, "written on the first server, later");
  const cursor = Number((await call(first, "GET", "/messages")).headers.get("x-next-cursor"));
  await call(second, "POST", "/push");
  await call(first, "POST", "/pull");
  const arrived = (await call(first, "GET", `/messages?after=${cursor}`)).body as { content: string }[];
  expect(arrived.map((m) => m.content)).toEqual(["written on the second server, first in time"]);
  expect(await contents(first)).toEqual(["written on the second server, first in time", "written on the first server, later"]);
});

test("while the remote is down sending goes on, and the backlog is pushed when it is back", async () => {
  const github = await standIn();
  const gitchat = await server(github);
  await call(gitchat, "POST", "/push");
  await github.down();
  const started = performance.now();
  for (let i = 0; i < 20; i++) await send(gitchat, `offline ${i}`);
  expect(performance.now() - started).toBeLessThan(5_000);
  const failed = await call(gitchat, "POST", "/push");
  expect(failed.body.success).toBe(false);
  expect(failed.body.repositories[0].message).toContain("alice/chat");
  const [state] = (await call(gitchat, "GET", "/repositories")).body;
  expect(state.sync.unpushed).toBe(20);
  expect(state.sync.last_error).toContain("alice/chat");
  await github.up();
  await eventually(async () => (await remoteFiles(github)).length === 20);
  await eventually(async () => (await call(gitchat, "GET", "/repositories")).body[0].sync.last_error === null);
});

test("a bad token gives one clear error naming the repository, and the server keeps serving", async () => {
  const github = await standIn();
  const gitchat = await server(github, { token: "ghp_wrongToken000000000000000000000000000" });
  const answer = await call(gitchat, "POST", "/push");
  expect(answer.status).toBe(200);
  expect(answer.body.success).toBe(false);
  expect(answer.body.repositories[0].repository).toBe("alice/chat");
  expect(answer.body.repositories[0].message).toMatch(/refused GITHUB_TOKEN/);
  expect(answer.body.repositories[0].message).not.toMatch(/\n\s+at /);
  expect((await send(gitchat, "still works")).content).toBe("still works");
});

test("a repository the token's user may not push to is refused with a message that says so", async () => {
  const github = await standIn();
  await github.createRepo("bob", "shared", { pushers: ["bob"], readers: ["alice"] });
  const gitchat = await server(github, { user: "bob", repo: "shared" });
  const answer = await call(gitchat, "POST", "/push");
  expect(answer.body.success).toBe(false);
  expect(answer.body.repositories[0].message).toContain("may not push to bob/shared");
});

test("a channel under another account that does not exist is not created, and the error says why", async () => {
  const github = await standIn();
  const gitchat = await server(github);
  const created = await call(gitchat, "POST", "/repositories", { owner: "someone-else", name: "room" });
  expect(created.status).toBe(201);
  expect(created.body.sync.last_error).toContain("someone-else/room does not exist on GitHub");
  expect(github.repo("someone-else", "room")).toBeUndefined();
});

test("rate limits and server errors from GitHub's API are waited out and retried", async () => {
  const github = await standIn();
  github.fail({ path: "/api/user", status: 429, headers: { "retry-after": "1" }, times: 1 });
  github.fail({ path: /\/api\/repos\/alice\/chat$/, status: 502, times: 2 });
  const gitchat = await server(github);
  await send(gitchat, "through the storm");
  const answer = await call(gitchat, "POST", "/push");
  expect(answer.body.success).toBe(true);
  expect(await remoteFiles(github)).toHaveLength(1);
});

test("the token and the webhook secret never reach git config, the data directory, a log line or a response", async () => {
  const github = await standIn();
  const lines: string[] = [];
  const gitchat = await server(github, { log: (line) => lines.push(line), webhookSecret: WEBHOOK_SECRET });
  gitchat.sync!.start();
  await send(gitchat, "secret-free");
  await call(gitchat, "POST", "/push");
  await github.down();
  await call(gitchat, "POST", "/push");
  await github.up();
  const answers = await Promise.all(
    ["/repositories", "/messages", "/health", "/openapi.json"].map(async (path) => JSON.stringify((await call(gitchat, "GET", path)).body)),
  );
  answers.push(JSON.stringify((await call(gitchat, "POST", "/push")).body));
  // GitHub's webhook, signed and forged: its answers name no secret either.
  const push = JSON.stringify(await github.pushPayload("alice", "chat"));
  for (const signature of [webhookSignature(WEBHOOK_SECRET, push), webhookSignature("not-the-secret-at-all", push), undefined]) {
    const headers: Record<string, string> = { "x-github-event": "push", ...(signature ? { "x-hub-signature-256": signature } : {}) };
    const answer = await call(gitchat, "POST", "/github/webhook", push, headers);
    expect(answer.status).toBe(signature === webhookSignature(WEBHOOK_SECRET, push) ? 202 : 401);
    answers.push(JSON.stringify(answer.body));
  }
  await closeNow(gitchat);
  const files = readdirSync(gitchat.dataDir, { recursive: true }) as string[];
  for (const file of files) {
    const path = join(gitchat.dataDir, file);
    if (statSync(path).isFile()) expect([file, readFileSync(path).includes(ALICE), readFileSync(path).includes(WEBHOOK_SECRET)]).toEqual([file, false, false]);
  }
  expect(files.some((f) => f.endsWith("config"))).toBe(true);
  for (const text of [...lines, ...answers]) {
    expect(text).not.toContain(ALICE);
    expect(text).not.toContain(WEBHOOK_SECRET);
  }
  expect(lines.some((l) => l.includes("sync failed"))).toBe(true);
});

test("a connection dropped in the middle of a git exchange is retried with backoff, and nothing is lost", async () => {
  const github = await standIn();
  const gitchat = await server(github);
  await send(gitchat, "before the drops");
  await call(gitchat, "POST", "/push");
  const fault = github.reset({ path: /git-receive-pack$/, method: "POST", times: 2 });
  await send(gitchat, "across the drops");
  const first = await call(gitchat, "POST", "/push");
  expect(first.body.success).toBe(false);
  // The worker retries by itself (backoff), without another request.
  await eventually(async () => (await remoteFiles(github)).length === 2);
  expect(fault.hits).toBe(2);
  expect((await fsck(github.repoPath("alice", "chat"))).code).toBe(0);
});

test("two servers filling the same day's segment at once merge to the union of both, and the next message opens a new segment", async () => {
  const github = await standIn();
  const first = await server(github);
  await send(first, "the day begins");
  expect((await call(first, "POST", "/push")).body.success).toBe(true);
  const second = await server(github);
  expect((await call(second, "POST", "/pull")).body.success).toBe(true);

  // 600 each, 100 at a time (so that they share commits), on both servers at once: both fill segment 000.
  const burst = async (gitchat: typeof first, label: string) => {
    for (let i = 0; i < 600; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => send(gitchat, `${label} ${i + k}`)));
  };
  await Promise.all([burst(first, "first"), burst(second, "second")]);
  for (const gitchat of [first, second, first]) expect((await call(gitchat, "POST", "/push")).body.success).toBe(true);
  await call(second, "POST", "/pull");

  const files = await remoteFiles(github);
  expect(files).toHaveLength(1201);
  const day = files[0]!.split("/").slice(0, 4).join("/");
  const inSegment0 = files.filter((f) => f.startsWith(`${day}/000/`)).length;
  expect(inSegment0).toBe(1201);
  expect((await contents(second)).length).toBe(1000); // the listing's limit; the index holds all
  expect(second.db.countMessages()).toBe(1201);

  const next = await send(second, "the next one");
  expect((await call(second, "POST", "/push")).body.success).toBe(true);
  expect(await remoteFiles(github)).toContain(`${day}/001/${next.id}.json`);
  expect((await fsck(github.repoPath("alice", "chat"))).code).toBe(0);
}, 60_000);
