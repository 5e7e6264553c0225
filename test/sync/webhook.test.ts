/**
 * GitHub's push webhook, end to end: two real gitchat servers share a channel
 * through the GitHub stand-in with SYNC_INTERVAL an hour long, so only the
 * webhook can explain a message arriving; the stand-in sends deliveries
 * signed as GitHub signs them, and forged ones.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import fc from "fast-check";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { signatureOf } from "../../src/http/routes/github-webhook.ts";
import { call, openTestGitchat } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { standInSettings, startGitHub, webhookSignature, ZERO_SHA, type GitHubStandIn } from "../support/github.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";
import { ALICE, BOB, eventually } from "./support.ts";

const SECRET = "webhook-secret-for-the-tests-5f1c9a";
const ACCESS = "access-token-of-server-b";
const bearer = { authorization: `Bearer ${ACCESS}` };

let github: GitHubStandIn;
/** Sends and pushes; has no webhook secret, so its webhook is off. */
let serverA: RunningServer;
/** Hears GitHub's webhook; needs an access token for everything else; RATE_LIMIT 3. Its channel is spelled Alice/Chat. */
let serverB: RunningServer;
let hookB: string;

// An hour between interval pulls: nothing but the webhook makes B pull during a test.
const syncEnv = (token: string, owner: string, name: string, extra: Record<string, string> = {}) => ({
  ...standInSettings(github, { token, owner, name }),
  ...extra,
});

const channelOf = async (server: RunningServer, headers: Record<string, string> = {}) => {
  const list = (await (await fetch(`${server.url}/repositories`, { headers })).json()) as {
    full_name: string;
    head: string | null;
    sync: { last_pull_at: string | null; last_push_at: string | null; last_error: string | null };
  }[];
  return list.find((c) => c.full_name.toLowerCase() === "alice/chat")!;
};

const contentsOnB = async () =>
  ((await (await fetch(`${serverB.url}/messages?limit=1000`, { headers: bearer })).json()) as { content: string }[]).map((m) => m.content);

/** A sends a message and pushes it; resolves with the push the stand-in recorded. */
const sendAndPushFromA = async (content: string) => {
  const sent = await fetch(`${serverA.url}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content }),
  });
  expect(sent.status).toBe(201);
  const pushed = (await (await fetch(`${serverA.url}/push`, { method: "POST" })).json()) as { success: boolean };
  expect(pushed.success).toBe(true);
  const head = (await channelOf(serverA)).head;
  const repo = github.repo("alice", "chat")!;
  // The stand-in records a push once git's receive-pack has exited, just after it answered.
  await eventually(() => repo.pushes.some((p) => p.after === head));
  return repo.pushes.find((p) => p.after === head)!;
};

/** How many times `login`'s server has fetched the channel from the stand-in (each pull asks for the refs once). */
const fetchesBy = (login: "alice" | "bob") =>
  github.requests.filter(
    (r) => r.user === login && r.path.toLowerCase() === "/git/alice/chat.git/info/refs" && r.query === "?service=git-upload-pack",
  ).length;

/**
 * The server pulled nothing since `fetchesBefore` was counted: a pull started by a
 * delivery runs before any later one (one sync at a time per channel), so once the
 * server's own POST /pull has answered, every pull queued before it has finished and
 * been counted, and only that one may be new.
 */
const expectNoPullSince = async (server: RunningServer, login: "alice" | "bob", fetchesBefore: number) => {
  const pulled = await fetch(`${server.url}/pull`, { method: "POST", headers: server === serverB ? bearer : {} });
  expect(((await pulled.json()) as { success: boolean }).success).toBe(true);
  expect(fetchesBy(login) - fetchesBefore).toBe(1);
};

/** A git work tree with one commit, pushed as alice to `ref` of `owner/name` on the stand-in. */
const pushWithGitCli = async (owner: string, name: string, ref: string) => {
  const work = tempDir("gitchat-webhook-work-");
  const git = (args: string[]) =>
    runGit(["-c", "user.name=Alice", "-c", "user.email=alice@example.invalid", "-c", "credential.helper=", ...args], { cwd: work });
  await git(["init", "--quiet", "-b", "main"]);
  writeFileSync(join(work, "notes.md"), "not a chat message\n");
  await git(["add", "."]);
  await git(["commit", "--quiet", "-m", "notes"]);
  const header = `http.extraHeader=Authorization: Basic ${btoa(`x-access-token:${ALICE}`)}`;
  const pushed = await git(["-c", header, "push", "--quiet", github.remoteUrl(owner, name), `main:${ref}`]);
  expect(pushed.code).toBe(0);
  const repo = github.repo(owner, name)!;
  await eventually(() => repo.pushes.some((p) => p.ref === ref));
  return repo.pushes.findLast((p) => p.ref === ref)!;
};

beforeAll(async () => {
  github = await startGitHub({ users: [{ login: "alice", token: ALICE }, { login: "bob", token: BOB }] });
  await github.createRepo("alice", "chat", { private: true, pushers: ["bob"] });
  serverA = await startServer({ dataDir: tempDir(), env: syncEnv(ALICE, "alice", "chat") });
  serverB = await startServer({
    dataDir: tempDir(),
    // A rate limit of 3 messages a minute, which GitHub's deliveries are not subject to.
    env: syncEnv(BOB, "Alice", "Chat", { ACCESS_TOKEN: ACCESS, GITHUB_WEBHOOK_SECRET: SECRET, RATE_LIMIT: "3" }),
  });
  hookB = `${serverB.url}/github/webhook`;
  // A real push to a repository that is no channel of either server, for tests that need any delivery.
  await github.createRepo("alice", "notes");
  await pushWithGitCli("alice", "notes", "refs/heads/main");
  // Both have made their first sync (a pull) at start-up; from now on only a webhook makes B pull.
  await eventually(async () => (await channelOf(serverA)).sync.last_pull_at !== null, 30_000);
  await eventually(async () => (await channelOf(serverB, bearer)).sync.last_pull_at !== null, 30_000);
});

afterAll(async () => {
  await serverA?.stop();
  await serverB?.stop();
  await github?.stop();
});

test("a message sent on A shows on B as soon as GitHub delivers the push, long before SYNC_INTERVAL", async () => {
  const push = await sendAndPushFromA("hello from A, heard through the webhook");
  expect(push.ref).toBe("refs/heads/main");
  const delivery = await github.deliver(hookB, "push", await github.pushPayload("alice", "chat", push), { secret: SECRET });
  // Answered at once; the pull goes on behind the answer.
  expect(delivery.status).toBe(202);
  expect(delivery.body).toEqual({ action: "pull", message: "pulling Alice/Chat now" });
  await eventually(async () => (await contentsOnB()).includes("hello from A, heard through the webhook"), 30_000);
});

describe("a delivery that GitHub did not sign", () => {
  test("missing, forged, made with another secret, or altered after signing: 401, and B does not pull", async () => {
    await sendAndPushFromA("must not reach B by an unsigned delivery");
    const payload = await github.pushPayload("alice", "chat");
    const pullsBefore = (await channelOf(serverB, bearer)).sync.last_pull_at;
    const fetchesBefore = fetchesBy("bob");
    const attempts = {
      missing: await github.deliver(hookB, "push", payload, { secret: SECRET, signature: null }),
      forged: await github.deliver(hookB, "push", payload, { secret: SECRET, signature: `sha256=${"ab".repeat(32)}` }),
      "wrong secret": await github.deliver(hookB, "push", payload, { secret: "another-secret-of-some-length" }),
      altered: await github.deliver(hookB, "push", payload, {
        secret: SECRET,
        alter: (body) => body.replace(`"forced":false`, `"forced":true`),
      }),
    };
    for (const [what, delivery] of Object.entries(attempts)) {
      expect([what, delivery.status, delivery.body.error?.code]).toEqual([what, 401, "invalid_signature"]);
    }
    expect(attempts.missing.body.error.message).toContain("no X-Hub-Signature-256");
    expect(attempts.forged.body.error.message).toContain("does not match the body");
    expect((await channelOf(serverB, bearer)).sync.last_pull_at).toBe(pullsBefore);
    expect(await contentsOnB()).not.toContain("must not reach B by an unsigned delivery");
    await expectNoPullSince(serverB, "bob", fetchesBefore);
  });
});

describe("deliveries that are signed but not for B to act on", () => {
  test("a push to another branch of the channel's repository is ignored (202), and B does not pull", async () => {
    const push = await pushWithGitCli("alice", "chat", "refs/heads/feature");
    expect(push.before).toBe(ZERO_SHA);
    const fetchesBefore = fetchesBy("bob");
    const delivery = await github.deliver(hookB, "push", await github.pushPayload("alice", "chat", push), { secret: SECRET });
    expect(delivery.status).toBe(202);
    expect(delivery.body).toEqual({ action: "ignored", message: "only pushes to refs/heads/main are pulled, not to refs/heads/feature" });
    await expectNoPullSince(serverB, "bob", fetchesBefore);
  });

  test("a push to a repository that is not one of B's channels is ignored (202), and B does not pull", async () => {
    const fetchesBefore = fetchesBy("bob");
    const delivery = await github.deliver(hookB, "push", await github.pushPayload("alice", "notes"), { secret: SECRET });
    expect(delivery.status).toBe(202);
    expect(delivery.body).toEqual({ action: "ignored", message: "alice/notes is not a channel of this server" });
    await expectNoPullSince(serverB, "bob", fetchesBefore);
  });

  test("ping, sent when the webhook is created on GitHub, answers 200", async () => {
    const delivery = await github.deliver(hookB, "ping", github.pingPayload("alice", "chat", hookB), { secret: SECRET });
    expect(delivery.status).toBe(200);
    expect(delivery.body.action).toBe("pong");
  });

  test("a payload URL entered with a trailing slash or a query string is the same webhook", async () => {
    for (const url of [`${hookB}/`, `${hookB}?from=github`]) {
      const delivery = await github.deliver(url, "ping", github.pingPayload("alice", "chat", url), { secret: SECRET });
      expect([url, delivery.status, delivery.body.action]).toEqual([url, 200, "pong"]);
    }
  });
});

describe("deliveries that are signed but malformed get a 4xx that says what is wrong", () => {
  const signed = (body: string, headers: Record<string, string> = {}) =>
    fetch(hookB, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-hub-signature-256": webhookSignature(SECRET, body),
        ...headers,
      },
      body,
    });

  test("a push without repository.full_name or ref: 400 naming the field", async () => {
    const payload = await github.pushPayload("alice", "notes");
    const { full_name: _dropped, ...repository } = payload.repository as Record<string, unknown>;
    const answer = await signed(JSON.stringify({ ...payload, repository }));
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { error: { message: string } }).error.message).toContain("repository.full_name");
    const { ref: _ref, ...withoutRef } = payload;
    const noRef = await signed(JSON.stringify(withoutRef));
    expect(noRef.status).toBe(400);
    expect(((await noRef.json()) as { error: { message: string } }).error.message).toContain("lacks ref");
  });

  test("a body that is not JSON: 400; a form-encoded delivery: 415; no X-GitHub-Event: 400", async () => {
    expect((await signed("{not json")).status).toBe(400);
    const form = await signed("payload=%7B%7D", { "content-type": "application/x-www-form-urlencoded" });
    expect(form.status).toBe(415);
    expect(((await form.json()) as { error: { message: string } }).error.message).toContain("application/json");
    const noEvent = await fetch(hookB, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": webhookSignature(SECRET, "{}") },
      body: "{}",
    });
    expect(noEvent.status).toBe(400);
  });

  test("a delivery over 512 KiB: 413, whatever its signature", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main", padding: "x".repeat(600 * 1024) });
    const answer = await signed(body);
    expect(answer.status).toBe(413);
    expect(((await answer.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    // The rest of the body is not read: the connection ends with the answer.
    expect(answer.headers.get("connection")).toBe("close");
  });
});

test("whatever arrives, signed or not, the webhook answers a 2xx or a 4xx of the documented shape, never a 5xx, never rate-limited", async () => {
  // Weighted toward what gets past each check, so that the later checks are reached too.
  const field = fc.oneof(
    fc.constantFrom("refs/heads/main", "Alice/Chat", "alice/chat"),
    fc.string({ maxLength: 20 }),
    fc.constantFrom(null, 0, 1.5, true, {}, []),
  );
  const payload = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        ref: fc.oneof({ weight: 3, arbitrary: fc.constant("refs/heads/main") }, { weight: 1, arbitrary: field }),
        repository: fc.oneof(field, fc.record({ full_name: field }, { requiredKeys: [] })),
      }),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
  const body = fc.oneof(
    { weight: 4, arbitrary: payload.map((p) => JSON.stringify(p) ?? "") },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => new TextDecoder("latin1").decode(bytes)) },
  );
  const delivery = fc.record({
    body,
    event: fc.oneof(
      { weight: 4, arbitrary: fc.constant("push") },
      { weight: 1, arbitrary: fc.constantFrom("ping", "issues", "", "PUSH") },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }).filter((e) => /^[\x21-\x7e]*$/.test(e)) },
    ),
    contentType: fc.oneof(
      { weight: 4, arbitrary: fc.constant("application/json") },
      { weight: 1, arbitrary: fc.constantFrom("application/x-www-form-urlencoded", "text/plain", "") },
    ),
    signature: fc.oneof(
      { weight: 4, arbitrary: fc.constant("right") },
      { weight: 1, arbitrary: fc.constantFrom("wrong", "none", "garbage") },
    ),
  });
  await fc.assert(
    fc.asyncProperty(delivery, async ({ body, event, contentType, signature }) => {
      const headers: Record<string, string> = { "x-github-event": event };
      if (contentType) headers["content-type"] = contentType;
      if (signature === "right") headers["x-hub-signature-256"] = webhookSignature(SECRET, body);
      if (signature === "wrong") headers["x-hub-signature-256"] = webhookSignature("a-different-secret-entirely", body);
      if (signature === "garbage") headers["x-hub-signature-256"] = "sha256=ø";
      const answer = await fetch(hookB, { method: "POST", headers, body });
      const json = (await answer.json()) as { error?: { code: string; message: string }; action?: string; message?: string };
      expect(answer.status).toBeLessThan(500);
      expect(answer.status).not.toBe(429);
      if (answer.status >= 400) expect(Object.keys(json.error ?? {}).sort()).toEqual(["code", "message"]);
      else expect(typeof json.action === "string" && typeof json.message === "string").toBe(true);
      if (signature !== "right") expect(answer.status).toBe(401);
    }),
    { numRuns: 200 },
  );
});

describe("where the webhook is off, it is not there at all", () => {
  test("without GITHUB_WEBHOOK_SECRET (server A), a perfectly signed push answers 404 and A does not pull", async () => {
    const push = await sendAndPushFromA("a message of A's own");
    const fetchesBefore = fetchesBy("alice");
    const payload = await github.pushPayload("alice", "chat", push);
    const delivery = await github.deliver(`${serverA.url}/github/webhook`, "push", payload, { secret: SECRET });
    expect(delivery.status).toBe(404);
    expect(delivery.body.error.code).toBe("not_found");
    await expectNoPullSince(serverA, "alice", fetchesBefore);
  });

  test("with GITHUB_WEBHOOK_SECRET but GitHub sync off: 404; with ACCESS_TOKEN too, 401 like any route", async () => {
    const open = await openTestGitchat({ env: { GITHUB_WEBHOOK_SECRET: SECRET } });
    const locked = await openTestGitchat({ env: { GITHUB_WEBHOOK_SECRET: SECRET, ACCESS_TOKEN: ACCESS } });
    try {
      const body = JSON.stringify(github.pingPayload("alice", "chat", "http://127.0.0.1/github/webhook"));
      const headers = { "x-github-event": "ping", "x-hub-signature-256": webhookSignature(SECRET, body) };
      expect((await call(open, "POST", "/github/webhook", body, headers)).status).toBe(404);
      expect((await call(locked, "POST", "/github/webhook", body, headers)).status).toBe(401);
    } finally {
      await open.close();
      await locked.close();
    }
  });
});

test("gitchat and the stand-in sign as GitHub's documentation does for its published test vector", () => {
  // From "Validating webhook deliveries" in GitHub's documentation.
  const expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  expect(signatureOf("It's a Secret to Everybody", new TextEncoder().encode("Hello, World!"))).toBe(expected);
  expect(webhookSignature("It's a Secret to Everybody", "Hello, World!")).toBe(expected);
});

test("GITHUB_WEBHOOK_SECRET must be at least 16 printable characters without spaces, and the error does not repeat it", () => {
  for (const weak of ["short-secret", "sixteen and more with spaces", "tab\tin-the-middle-of-it"]) {
    let message = "";
    try {
      loadConfig({ GITHUB_WEBHOOK_SECRET: weak });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("GITHUB_WEBHOOK_SECRET is too weak");
    expect(message).not.toContain(weak);
  }
  const config = loadConfig({ GITHUB_WEBHOOK_SECRET: SECRET, GITHUB_TOKEN: ALICE, GITHUB_USERNAME: "alice" });
  expect(config.github?.webhookSecret).toBe(SECRET);
});
