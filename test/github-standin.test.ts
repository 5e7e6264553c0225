/** The GitHub stand-in itself: a real git remote, a REST fake true to GitHub's schemas, and faults clients really see. */
import { afterEach, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import fs from "node:fs";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import git from "isomorphic-git";
import http from "isomorphic-git/http/web";
import { createHmac } from "node:crypto";
import {
  startGitHub,
  validateGitHubResponse,
  validateGitHubSchema,
  validateWebhookPayload,
  ZERO_SHA,
  type GitHubStandIn,
  type StartGitHubOptions,
} from "./support/github.ts";
import { fsck, runGit } from "./support/git.ts";
import { tempDir } from "./support/tmp.ts";

const ALICE = "ghp_aliceAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const BOB = "ghp_bobBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const CAROL = "ghp_carolCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC";
const USERS = [
  { login: "alice", token: ALICE },
  { login: "bob", token: BOB },
  { login: "carol", token: CAROL },
];

const started: GitHubStandIn[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((github) => github.stop()));
});
const start = async (options: StartGitHubOptions = { users: USERS }) => {
  const github = await startGitHub(options);
  started.push(github);
  return github;
};

/** The git CLI as a user would run it: no credential helper, no prompt, a throw-away HOME. */
const home = tempDir("gitchat-github-home-");
const cli = (args: string[], cwd?: string) =>
  runGit(["-c", "credential.helper=", "-c", "user.name=Test", "-c", "user.email=test@example.invalid", ...args], {
    cwd,
    env: { HOME: home, GIT_TERMINAL_PROMPT: "0" },
  });
const withToken = (token: string) => ["-c", `http.extraHeader=Authorization: Basic ${btoa(`x-access-token:${token}`)}`];

/** A work tree with `count` commits, each adding one file. */
const workTree = async (count: number, prefix = "m") => {
  const dir = tempDir("gitchat-github-work-");
  await cli(["init", "--quiet", "-b", "main", dir]);
  for (let i = 0; i < count; i++) {
    writeFileSync(join(dir, `${prefix}${i}.json`), JSON.stringify({ i }));
    await cli(["add", "."], dir);
    await cli(["commit", "--quiet", "-m", `${prefix} ${i}`], dir);
  }
  return dir;
};

const revParse = async (gitDir: string, ref = "main") => (await runGit(["--git-dir", gitDir, "rev-parse", ref])).stdout.trim();

const api = async (github: GitHubStandIn, method: string, path: string, token?: string, body?: unknown) => {
  const headers: Record<string, string> = { accept: "application/vnd.github+json" };
  if (token) headers.authorization = `token ${token}`;
  const response = await fetch(`${github.apiUrl}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
};

const fetchError = async (url: string, init?: RequestInit): Promise<string> => {
  try {
    const response = await fetch(url, init);
    await response.text();
    return `answered ${response.status}`;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
};

const author = { name: "Test", email: "test@example.invalid", timestamp: 1_700_000_000, timezoneOffset: 0 };

test("the git CLI pushes to and clones from the stand-in with a token, and is refused without one", async () => {
  const github = await start();
  await github.createRepo("alice", "chat", { private: true });
  const remote = github.remoteUrl("alice", "chat");
  const work = await workTree(3);
  const before = github.repo("alice", "chat")!.pushedAt.getTime();

  const refused = await cli(["push", remote, "main"], work);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain("could not read Username");
  // a wrong token gets the same 401, so git asks for other credentials, and cannot
  const wrong = await cli([...withToken("ghp_wrong"), "push", remote, "main"], work);
  expect(wrong.stderr).toContain("could not read Username");
  expect(github.requests.filter((r) => r.status === 401).map((r) => [r.authorization, r.user])).toEqual([
    [false, null],
    [true, null],
  ]);
  expect((await runGit(["--git-dir", github.repoPath("alice", "chat"), "for-each-ref"])).stdout).toBe("");

  const pushed = await cli([...withToken(ALICE), "push", remote, "main"], work);
  expect(pushed.code).toBe(0);
  expect(await revParse(github.repoPath("alice", "chat"))).toBe(await revParse(join(work, ".git")));
  expect((await fsck(github.repoPath("alice", "chat"))).code).toBe(0);
  expect(github.repo("alice", "chat")!.pushedAt.getTime()).toBeGreaterThan(before);

  const clone = join(tempDir("gitchat-github-clone-"), "chat");
  const withUrlToken = remote.replace("http://", `http://x-access-token:${ALICE}@`);
  expect((await cli(["clone", "--quiet", withUrlToken, clone])).code).toBe(0);
  expect(await revParse(join(clone, ".git"))).toBe(await revParse(join(work, ".git")));
  expect((await cli(["clone", "--quiet", remote, join(clone, "..", "nope")])).code).not.toBe(0);
});

test("a token without push permission gets 403 from receive-pack; an unknown or hidden repository is 404", async () => {
  const github = await start();
  await github.createRepo("alice", "chat", { private: true, readers: ["bob"] });
  const remote = github.remoteUrl("alice", "chat");
  const work = await workTree(1);
  expect((await cli([...withToken(ALICE), "push", remote, "main"], work)).code).toBe(0);

  // bob may read but not write
  expect((await cli([...withToken(BOB), "ls-remote", remote])).stdout).toContain("refs/heads/main");
  const denied = await cli([...withToken(BOB), "push", remote, "main:other"], work);
  expect(denied.stderr).toContain("403");
  expect(denied.stderr).toContain("Permission to alice/chat.git denied to bob.");
  const refs = (await runGit(["--git-dir", github.repoPath("alice", "chat"), "for-each-ref", "--format=%(refname)"])).stdout;
  expect(refs.trim()).toBe("refs/heads/main");

  // carol cannot see the private repository at all, and nobody sees one that does not exist
  const basic = (token: string) => ({ authorization: `Basic ${btoa(`x:${token}`)}` });
  const refsUrl = (path: string) => `${github.gitUrl}${path}/info/refs?service=git-upload-pack`;
  expect((await fetch(refsUrl("/alice/chat.git"), { headers: basic(CAROL) })).status).toBe(404);
  expect((await fetch(refsUrl("/alice/missing.git"), { headers: basic(ALICE) })).status).toBe(404);
  const anonymous = await fetch(refsUrl("/alice/missing.git"));
  expect(anonymous.status).toBe(401);
  expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="GitHub"');
  // GitHub's names are case-insensitive, and `.git` is optional
  expect((await fetch(refsUrl("/Alice/CHAT"), { headers: basic(BOB) })).status).toBe(200);
});

test("isomorphic-git pushes to and fetches from the stand-in, answering its 401 through onAuth", async () => {
  const github = await start();
  await github.createRepo("alice", "chat");
  const remote = github.remoteUrl("alice", "chat");
  let authAsked = 0;
  const onAuth = () => {
    authAsked += 1;
    return { username: "x-access-token", password: ALICE };
  };

  const dir = tempDir("gitchat-github-iso-");
  await git.init({ fs, dir, defaultBranch: "main" });
  writeFileSync(join(dir, "hello.json"), '{"hello":"world"}\n');
  await git.add({ fs, dir, filepath: "hello.json" });
  const first = await git.commit({ fs, dir, message: "hello", author });
  await git.addRemote({ fs, dir, remote: "origin", url: remote });
  const pushed = await git.push({ fs, http, dir, remote: "origin", ref: "main", onAuth });
  expect(pushed.ok).toBe(true);
  expect(authAsked).toBeGreaterThan(0);
  expect(await revParse(github.repoPath("alice", "chat"))).toBe(first);
  expect((await fsck(github.repoPath("alice", "chat"))).code).toBe(0);

  // someone else pushes with the git CLI; isomorphic-git fetches it
  const clone = join(tempDir("gitchat-github-clone-"), "chat");
  await cli([...withToken(ALICE), "clone", "--quiet", remote, clone]);
  writeFileSync(join(clone, "second.json"), "{}\n");
  await cli(["add", "."], clone);
  await cli(["commit", "--quiet", "-m", "second"], clone);
  expect((await cli([...withToken(ALICE), "push", "--quiet", "origin", "main"], clone)).code).toBe(0);
  const fetched = await git.fetch({ fs, http, dir, remote: "origin", ref: "main", onAuth });
  expect(fetched.fetchHead).toBe(await revParse(join(clone, ".git")));

  // a wrong token is refused, and isomorphic-git says so
  const refused = await git
    .push({ fs, http, dir, remote: "origin", ref: "main", force: true, onAuth: () => ({ username: "x", password: "ghp_wrong" }) })
    .then(() => "pushed", (error: { code?: string; data?: { statusCode?: number } }) => `${error.code} ${error.data?.statusCode}`);
  expect(refused).toBe("HttpError 401");
});

test("the REST fake's answers validate against GitHub's OpenAPI schemas", async () => {
  const github = await start();

  const me = await api(github, "GET", "/user", ALICE);
  expect(me.status).toBe(200);
  // Validate before toMatchObject: with expect.any() in it, Bun's toMatchObject overwrites
  // the matched fields of the received object (oven-sh/bun#3521), so none is used here.
  expect(validateGitHubResponse("GET /user", 200, me.body)).toEqual([]);
  expect(me.body).toMatchObject({ login: "alice", id: 1000, user_view_type: "private" });
  expect(me.headers.get("content-type")).toBe("application/json; charset=utf-8");
  for (const header of ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-used", "x-ratelimit-resource", "x-github-request-id"]) {
    expect(me.headers.get(header)).toBeTruthy();
  }
  expect(Number(me.headers.get("x-ratelimit-remaining"))).toBe(Number(me.headers.get("x-ratelimit-limit")) - 1);

  const bad = await api(github, "GET", "/user", "ghp_wrong");
  expect(bad.status).toBe(401);
  expect(bad.body.message).toBe("Bad credentials");
  expect(validateGitHubResponse("GET /user", 401, bad.body)).toEqual([]);

  const created = await api(github, "POST", "/user/repos", ALICE, { name: "chat", private: true, description: "our chat" });
  expect(created.status).toBe(201);
  expect(created.headers.get("location")).toBe(`${github.apiUrl}/repos/alice/chat`);
  expect(created.body).toMatchObject({
    full_name: "alice/chat",
    private: true,
    default_branch: "main",
    clone_url: github.remoteUrl("alice", "chat"),
    permissions: { admin: true, push: true, pull: true },
  });
  expect(validateGitHubResponse("POST /user/repos", 201, created.body)).toEqual([]);
  expect(existsSync(join(github.repoPath("alice", "chat"), "HEAD"))).toBe(true);

  const again = await api(github, "POST", "/user/repos", ALICE, { name: "chat", private: true });
  expect(again.status).toBe(422);
  expect(again.body).toMatchObject({
    message: "Repository creation failed.",
    errors: [{ resource: "Repository", code: "custom", field: "name", message: "name already exists on this account" }],
  });
  expect(validateGitHubResponse("POST /user/repos", 422, again.body)).toEqual([]);

  const got = await api(github, "GET", "/repos/Alice/Chat", ALICE);
  expect(got.status).toBe(200);
  expect(got.body.full_name).toBe("alice/chat");
  expect(validateGitHubResponse("GET /repos/{owner}/{repo}", 200, got.body)).toEqual([]);
  const asBob = await api(github, "GET", "/repos/alice/chat", BOB);
  expect(asBob.status).toBe(404); // private and bob is no collaborator: GitHub hides it
  const missing = await api(github, "GET", "/repos/alice/nothing", ALICE);
  expect(missing.status).toBe(404);
  expect(missing.body.message).toBe("Not Found");
  expect(validateGitHubResponse("GET /repos/{owner}/{repo}", 404, missing.body)).toEqual([]);

  // a public repository made by the helper: bob sees it with pull only
  await github.createRepo("alice", "open", { description: null });
  const open = await api(github, "GET", "/repos/alice/open", BOB);
  expect(open.body.permissions).toEqual({ admin: false, maintain: false, push: false, triage: false, pull: true });
  expect(validateGitHubResponse("GET /repos/{owner}/{repo}", 200, open.body)).toEqual([]);

  // two concurrent creations of one name: one wins, one gets 422 (what a retried POST sees)
  const racing = await Promise.all([1, 2].map(() => api(github, "POST", "/user/repos", BOB, { name: "race" })));
  expect(racing.map((r) => r.status).sort()).toEqual([201, 422]);

  // auto_init makes a first commit on main, as GitHub does
  const initialised = await api(github, "POST", "/user/repos", BOB, { name: "seeded", auto_init: true });
  expect(initialised.status).toBe(201);
  const tree = await runGit(["--git-dir", github.repoPath("bob", "seeded"), "ls-tree", "--name-only", "main"]);
  expect(tree.stdout.trim()).toBe("README.md");

  expect(github.problems).toEqual([]);
});

test("bodies that break GitHub's schemas do not validate; fail() refuses them, or stop() fails", async () => {
  const github = await start();
  await github.createRepo("alice", "chat");
  const good = (await api(github, "GET", "/repos/alice/chat", ALICE)).body;
  expect(validateGitHubResponse("GET /repos/{owner}/{repo}", 200, good)).toEqual([]);

  const { has_discussions: _dropped, ...withoutDiscussions } = good;
  expect(validateGitHubResponse("GET /repos/{owner}/{repo}", 200, withoutDiscussions).join()).toContain("has_discussions");
  expect(validateGitHubResponse("GET /repos/{owner}/{repo}", 200, { ...good, private: "yes" }).join()).toContain("/private");
  expect(validateGitHubResponse("GET /repos/{owner}/{repo}", 200, { ...good, html_url: "not a url" }).join()).toContain("uri");
  expect(validateGitHubResponse("GET /repos/{owner}/{repo}", 200, { ...good, description: null })).toEqual([]);
  expect(validateGitHubResponse("GET /user", 200, { login: "alice" })).not.toEqual([]);
  expect(validateGitHubResponse("POST /user/repos", 422, { message: "Repository creation failed." }).join()).toContain(
    "documentation_url",
  );
  expect(validateGitHubSchema("basic-error", { message: 42 })).not.toEqual([]);
  expect(() => validateGitHubResponse("GET /user", 204, {})).toThrow();

  // fail() checks a body for a documented answer up front...
  expect(() => github.fail({ path: "/api/user/repos", status: 422, body: { message: "nope" } })).toThrow("documentation_url");
  // ...and one that only a RegExp reaches when it is sent: that becomes a problem that fails stop()
  github.fail({ path: /^\/api\/repos\//, status: 404, body: { message: 404 } });
  expect((await api(github, "GET", "/repos/alice/chat", ALICE)).status).toBe(404);
  expect(github.problems.join()).toContain("breaks GitHub's schema");
  await expect(github.stop()).rejects.toThrow("breaks GitHub's schema");
});

test("a push delivery tells the push that just happened, passes GitHub's webhook schema, and is signed as GitHub signs", async () => {
  const github = await start();
  await github.createRepo("alice", "chat", { pushers: ["bob"] });
  const remote = github.remoteUrl("alice", "chat");
  const work = await workTree(1);
  expect((await cli([...withToken(ALICE), "push", remote, "main"], work)).code).toBe(0);
  const first = await revParse(join(work, ".git"));
  for (const n of [1, 2]) {
    writeFileSync(join(work, `n${n}.json`), "{}");
    await cli(["add", "."], work);
    await cli(["commit", "--quiet", "-m", `n ${n}`], work);
  }
  expect((await cli([...withToken(BOB), "push", remote, "main"], work)).code).toBe(0);
  const second = await revParse(join(work, ".git"));
  const repo = github.repo("alice", "chat")!;
  // Recorded when receive-pack has exited, just after git heard the answer.
  for (let i = 0; repo.pushes.length < 2 && i < 500; i++) await Bun.sleep(10);
  expect(repo.pushes).toEqual([
    { ref: "refs/heads/main", before: ZERO_SHA, after: first, pusher: "alice" },
    { ref: "refs/heads/main", before: first, after: second, pusher: "bob" },
  ]);

  const payload = await github.pushPayload("alice", "chat");
  expect(validateWebhookPayload("push", payload)).toEqual([]);
  const commits = payload.commits as { id: string; message: string; added: string[] }[];
  expect(commits.map((c) => [c.message, c.added])).toEqual([
    ["n 1", ["n1.json"]],
    ["n 2", ["n2.json"]],
  ]);
  expect(commits.at(-1)!.id).toBe(second);
  expect([payload.ref, payload.before, payload.after, payload.created, payload.forced]).toEqual(["refs/heads/main", first, second, false, false]);
  expect([(payload.repository as { full_name: string }).full_name, (payload.pusher as { name: string }).name]).toEqual(["alice/chat", "bob"]);
  expect((payload.head_commit as { id: string }).id).toBe(second);
  const created = await github.pushPayload("alice", "chat", repo.pushes[0]);
  expect([created.created, (created.commits as unknown[]).length, validateWebhookPayload("push", created)]).toEqual([true, 1, []]);
  expect(validateWebhookPayload("ping", github.pingPayload("alice", "chat", "http://127.0.0.1:1/hook"))).toEqual([]);

  // What a server receives: GitHub's headers, the signature over the exact bytes it got.
  const received: { headers: Headers; body: string }[] = [];
  const receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      received.push({ headers: request.headers, body: await request.text() });
      return Response.json({ ok: true }, { status: 202 });
    },
  });
  try {
    const url = `http://127.0.0.1:${receiver.port}/github/webhook`;
    const secret = "a-webhook-secret-of-some-length";
    const hmac = (body: string) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
    const delivery = await github.deliver(url, "push", payload, { secret });
    expect([delivery.status, delivery.body]).toEqual([202, { ok: true }]);
    const [signed] = received;
    expect(JSON.parse(signed!.body)).toEqual(payload);
    expect(signed!.headers.get("x-hub-signature-256")).toBe(hmac(signed!.body));
    expect([signed!.headers.get("x-github-event"), signed!.headers.get("content-type")]).toEqual(["push", "application/json"]);
    expect(signed!.headers.get("x-github-delivery")).toBe(delivery.guid);

    await github.deliver(url, "push", payload, { secret, signature: null });
    await github.deliver(url, "push", payload, { secret, signature: "sha256=forged" });
    await github.deliver(url, "push", payload, { secret, alter: (body) => body.replace('"forced":false', '"forced":true') });
    expect(received[1]!.headers.has("x-hub-signature-256")).toBe(false);
    expect(received[2]!.headers.get("x-hub-signature-256")).toBe("sha256=forged");
    expect(received[3]!.body).not.toBe(signed!.body);
    expect(received[3]!.headers.get("x-hub-signature-256")).toBe(hmac(signed!.body));
    expect(github.deliveries.map((d) => d.status)).toEqual([202, 202, 202, 202]);

    // A payload GitHub would never send is not sent, and fails stop().
    const { repository: _repository, ...broken } = payload;
    await expect(github.deliver(url, "push", broken, { secret })).rejects.toThrow("must have required property 'repository'");
    expect(received).toHaveLength(4);
    await expect(github.stop()).rejects.toThrow("breaks GitHub's webhook schema");
  } finally {
    receiver.stop(true);
  }
});

test("Octokit reads the stand-in's answers as GitHub's", async () => {
  const github = await start();
  const octokit = new Octokit({ auth: ALICE, baseUrl: github.apiUrl, log: { debug() {}, info() {}, warn() {}, error() {} } });
  expect((await octokit.rest.users.getAuthenticated()).data.login).toBe("alice");
  const created = await octokit.rest.repos.createForAuthenticatedUser({ name: "chat", private: true });
  expect([created.status, created.data.full_name, created.data.permissions?.push]).toEqual([201, "alice/chat", true]);
  expect((await octokit.rest.repos.get({ owner: "alice", repo: "chat" })).data.clone_url).toBe(github.remoteUrl("alice", "chat"));

  const statusOf = (promise: Promise<unknown>) =>
    promise.then(() => 0, (error: { status?: number; message?: string }) => `${error.status} ${error.message}`);
  expect(await statusOf(octokit.rest.repos.createForAuthenticatedUser({ name: "chat" }))).toContain("422 Repository creation failed.");
  expect(await statusOf(octokit.rest.repos.get({ owner: "alice", repo: "nope" }))).toContain("404 Not Found");
  const stranger = new Octokit({ auth: "ghp_wrong", baseUrl: github.apiUrl, log: { debug() {}, info() {}, warn() {}, error() {} } });
  expect(await statusOf(stranger.rest.users.getAuthenticated())).toContain("401 Bad credentials");
});

test("fail answers with the status, headers and body asked for, as many times as asked", async () => {
  const github = await start();
  await github.createRepo("alice", "chat", { autoInit: true });

  const reset = String(Math.floor(Date.now() / 1000) + 60);
  const limited = github.fail({ path: "/api/user", status: 429, headers: { "retry-after": "7" }, times: 2 });
  const primary = github.fail({
    path: "/api/repos/alice/chat",
    status: 403,
    headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset },
  });
  for (const _ of [1, 2]) {
    const answer = await api(github, "GET", "/user", ALICE);
    expect(answer.status).toBe(429);
    expect(answer.headers.get("retry-after")).toBe("7");
    expect(answer.body.message).toBe("API rate limit exceeded");
  }
  expect((await api(github, "GET", "/user", ALICE)).status).toBe(200);
  expect([limited.hits, limited.remaining]).toEqual([2, 0]);

  const forbidden = await api(github, "GET", "/repos/alice/chat", ALICE);
  expect(forbidden.status).toBe(403);
  expect(forbidden.headers.get("x-ratelimit-remaining")).toBe("0");
  expect(forbidden.headers.get("x-ratelimit-reset")).toBe(reset);
  expect(validateGitHubResponse("GET /repos/{owner}/{repo}", 403, forbidden.body)).toEqual([]);
  expect(primary.hits).toBe(1);

  github.fail({ path: "/api/user/repos", method: "POST", status: 502, body: "<html>Bad gateway</html>" });
  const gateway = await fetch(`${github.apiUrl}/user/repos`, { method: "POST", headers: { authorization: `token ${ALICE}` }, body: "{}" });
  expect([gateway.status, await gateway.text()]).toEqual([502, "<html>Bad gateway</html>"]);

  // git paths fail too: the git CLI reports the status
  const forever = github.fail({ path: /\/info\/refs$/, status: 503, times: Infinity });
  const refused = await cli([...withToken(ALICE), "ls-remote", github.remoteUrl("alice", "chat")]);
  expect(refused.stderr).toContain("503");
  forever.cancel();
  expect((await cli([...withToken(ALICE), "ls-remote", github.remoteUrl("alice", "chat")])).code).toBe(0);
  expect(github.requests.filter((r) => r.fault === "fail").length).toBe(5);
});

test("reset drops the connection with no answer; Bun's fetch retries a GET once on a reused connection", async () => {
  const github = await start();
  await github.createRepo("alice", "chat", { autoInit: true });
  const headers = { authorization: `token ${ALICE}` };
  const user = `${github.apiUrl}/user`;

  // a reused keep-alive connection is reset once: Bun resends the GET and the client never knows
  expect(await fetchError(user, { headers })).toBe("answered 200");
  const once = github.reset({ path: "/api/user" });
  expect(await fetchError(user, { headers })).toBe("answered 200");
  expect(once.hits).toBe(1);
  expect(github.requests.slice(-2).map((r) => [r.status, r.fault])).toEqual([
    [0, "reset"],
    [200, null],
  ]);

  // twice: the client sees ECONNRESET
  expect(await fetchError(user, { headers })).toBe("answered 200");
  github.reset({ path: "/api/user", times: 2 });
  expect(await fetchError(user, { headers })).toBe("ECONNRESET");

  // a POST is never resent
  expect(await fetchError(user, { headers })).toBe("answered 200");
  github.reset({ path: "/api/user/repos", method: "POST" });
  expect(await fetchError(`${github.apiUrl}/user/repos`, { method: "POST", headers, body: '{"name":"x"}' })).toBe("ECONNRESET");
  expect(github.repo("alice", "x")).toBeUndefined();

  // isomorphic-git's POST of a fetch, and the git CLI
  const dir = tempDir("gitchat-github-iso-");
  github.reset({ path: /\/git-upload-pack$/ });
  const cloned = await git
    .clone({ fs, http, dir, url: github.remoteUrl("alice", "chat"), onAuth: () => ({ username: "x", password: ALICE }) })
    .then(() => "cloned", (error: { code?: string }) => error.code);
  expect(cloned).toBe("ECONNRESET");
  github.reset({ path: /\/info\/refs$/ });
  const dropped = await cli([...withToken(ALICE), "ls-remote", github.remoteUrl("alice", "chat")]);
  expect(dropped.stderr).toMatch(/Connection reset by peer|Empty reply from server/);
});

test("down makes the whole remote unreachable until up, on the same port", async () => {
  const github = await start();
  await github.createRepo("alice", "chat", { autoInit: true });
  const remote = github.remoteUrl("alice", "chat");
  const dir = tempDir("gitchat-github-iso-");
  const onAuth = () => ({ username: "x", password: ALICE });
  await git.clone({ fs, http, dir, url: remote, onAuth });
  const port = github.port;

  await github.down();
  expect(github.isDown).toBe(true);
  expect(await fetchError(`${github.apiUrl}/user`, { headers: { authorization: `token ${ALICE}` } })).toBe("ECONNREFUSED");
  const offline = await git.fetch({ fs, http, dir, onAuth }).then(() => "fetched", (error: { code?: string }) => error.code);
  expect(offline).toBe("ECONNREFUSED");
  expect((await cli([...withToken(ALICE), "ls-remote", remote])).stderr).toContain("Failed to connect");

  await github.up();
  expect(github.port).toBe(port);
  expect((await api(github, "GET", "/repos/alice/chat", ALICE)).status).toBe(200);
  expect((await git.fetch({ fs, http, dir, onAuth })).fetchHead).toBe(await revParse(github.repoPath("alice", "chat")));
});

test("the request log says whether credentials came and whose they were, never the token", async () => {
  const github = await start();
  await github.createRepo("alice", "chat");
  await api(github, "GET", "/user", ALICE);
  await api(github, "GET", "/user");
  await api(github, "GET", "/user", "ghp_not_a_token");
  await cli([...withToken(BOB), "ls-remote", github.remoteUrl("alice", "chat")]);
  expect(github.requests.map((r) => [r.method, r.path, r.status, r.authorization, r.user])).toEqual([
    ["GET", "/api/user", 200, true, "alice"],
    ["GET", "/api/user", 401, false, null],
    ["GET", "/api/user", 401, true, null],
    ["GET", "/git/alice/chat.git/info/refs", 200, true, "bob"],
    ["POST", "/git/alice/chat.git/git-upload-pack", 200, true, "bob"], // protocol v2's ls-refs
  ]);
  expect(github.requests[3]!.query).toBe("?service=git-upload-pack");
  const logged = JSON.stringify(github.requests);
  for (const token of [ALICE, BOB, "ghp_not_a_token", btoa(`x-access-token:${BOB}`)]) expect(logged).not.toContain(token);
});

test("stop ends the server and removes its repositories", async () => {
  const github = await startGitHub();
  expect(github.users.map((u) => u.login)).toEqual(["alice"]);
  expect(github.token("alice")).toMatch(/^ghp_[A-Za-z0-9]{36}$/);
  await github.createRepo("alice", "chat");
  const root = github.root;
  await github.stop();
  expect(await fetchError(`${github.apiUrl}/user`)).toBe("ECONNREFUSED");
  expect(existsSync(root)).toBe(false);
  await github.stop(); // a second stop is harmless
});

test("the collaborators check answers 204 or 404 with no body, as GitHub's description gives it, and Octokit reads it", async () => {
  const github = await start();
  await github.createRepo("alice", "team", { private: true, pushers: ["bob"], readers: ["carol"] });
  const check = (username: string) => fetch(`${github.apiUrl}/repos/alice/team/collaborators/${username}`, { headers: { authorization: `token ${ALICE}` } });
  const bob = await check("bob");
  const stranger = await check("mallory");
  expect([bob.status, await bob.text(), stranger.status, await stranger.text()]).toEqual([204, "", 404, ""]);
  expect(validateGitHubResponse("GET /repos/{owner}/{repo}/collaborators/{username}", 204, undefined)).toEqual([]);
  // A body where the description gives none is caught.
  expect(validateGitHubResponse("GET /repos/{owner}/{repo}/collaborators/{username}", 404, { message: "Not Found" })).not.toEqual([]);

  const octokit = new Octokit({ auth: ALICE, baseUrl: github.apiUrl, log: { debug() {}, info() {}, warn() {}, error() {} } });
  expect((await octokit.rest.repos.checkCollaborator({ owner: "alice", repo: "team", username: "bob" })).status).toBe(204);
  await expect(octokit.rest.repos.checkCollaborator({ owner: "alice", repo: "team", username: "mallory" })).rejects.toMatchObject({ status: 404 });
  // Only someone with push access may ask: bob may, carol (a reader, and a collaborator herself) may not.
  expect((await check("carol")).status).toBe(204);
  expect((await fetch(`${github.apiUrl}/repos/alice/team/collaborators/alice`, { headers: { authorization: `token ${BOB}` } })).status).toBe(204);
  expect((await fetch(`${github.apiUrl}/repos/alice/team/collaborators/alice`, { headers: { authorization: `token ${CAROL}` } })).status).toBe(403);
});

test("the OAuth web flow: an approved code is exchanged once for a token that reads GET /user; a wrong secret, code or redirect_uri gets GitHub's 200 error", async () => {
  const github = await start();
  const redirect = "http://127.0.0.1:9/callback";
  const authorize = new URLSearchParams({ client_id: github.oauthApp.clientId, redirect_uri: redirect, state: "s1" });
  expect((await fetch(`${github.url}/login/oauth/authorize?${authorize}`)).status).toBe(200);
  const approved = await fetch(`${github.url}/login/oauth/authorize`, {
    method: "POST",
    body: new URLSearchParams({ redirect_uri: redirect, state: "s1", login: "bob" }),
    redirect: "manual",
  });
  const back = new URL(approved.headers.get("location")!);
  expect([back.origin + back.pathname, back.searchParams.get("state")]).toEqual([redirect, "s1"]);
  const code = back.searchParams.get("code")!;

  const exchange = (fields: Record<string, string>) =>
    fetch(`${github.url}/login/oauth/access_token`, {
      method: "POST",
      headers: { accept: "application/json" },
      body: new URLSearchParams({ client_id: github.oauthApp.clientId, client_secret: github.oauthApp.clientSecret, code, redirect_uri: redirect, ...fields }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, string> }));
  expect((await exchange({ client_secret: "wrong" })).body.error).toBe("incorrect_client_credentials");
  expect((await exchange({ redirect_uri: "http://127.0.0.1:9/elsewhere" })).body.error).toBe("redirect_uri_mismatch");
  const granted = await exchange({});
  expect([granted.status, granted.body.token_type, granted.body.access_token]).toEqual([200, "bearer", expect.stringMatching(/^gho_\w{36}$/)]);
  const again = await exchange({});
  expect([again.status, again.body.error]).toEqual([200, "bad_verification_code"]);

  const me = await api(github, "GET", "/user", granted.body.access_token);
  expect([me.status, me.body.login]).toEqual([200, "bob"]);
});
