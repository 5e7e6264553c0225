/**
 * A stand-in for GitHub on 127.0.0.1, for tests: one Bun.serve that is both
 *  - a real git smart-HTTP remote (`git http-backend` as a CGI over bare repositories,
 *    so isomorphic-git and the git CLI push and fetch over the real protocol), and
 *  - a fake of the few REST operations gitchat calls, whose every JSON body is checked
 *    against GitHub's official OpenAPI description (cut into ./github-openapi.json),
 * with tokens checked like GitHub checks them, and faults a test can inject. It also
 * sends webhook deliveries (push, ping) to a server, signed as GitHub signs them or
 * forged, each payload made from GitHub's own example and checked against GitHub's
 * published webhook schemas (@octokit/webhooks-schemas) before it leaves.
 *
 * Paths seen by `fail`, `reset` and the request log are the server's own pathnames:
 * `/api/user`, `/api/repos/alice/chat`, `/git/alice/chat.git/info/refs`, ...
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { STATUS_CODES } from "node:http";
import { tmpdir } from "node:os";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import Ajv from "ajv";
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import webhookExamples from "@octokit/webhooks-examples" with { type: "json" };
import webhookSchema from "@octokit/webhooks-schemas" with { type: "json" };
import cutDocument from "./github-openapi.json" with { type: "json" };
import { runGit } from "./git.ts";

// ---------------------------------------------------------------------------
// Validation against the cut of GitHub's OpenAPI description

export type GitHubOperation =
  | "GET /user"
  | "GET /repos/{owner}/{repo}"
  | "POST /user/repos"
  | "GET /repos/{owner}/{repo}/collaborators/{username}";

type CutDocument = {
  /** `noBody`: the statuses GitHub's description answers with no body (e.g. 204). */
  operations: Record<string, { operationId: string | null; responses: Record<string, object>; noBody?: string[] }>;
  $defs: Record<string, object>;
};
const cut = cutDocument as unknown as CutDocument;

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
addFormats(ajv);
const validators = new Map<string, ValidateFunction>();

const compiled = (key: string, schema: object): ValidateFunction => {
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile({ ...schema, $defs: cut.$defs });
    validators.set(key, validate);
  }
  return validate;
};

const problemsOf = (validate: ValidateFunction, body: unknown): string[] =>
  validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`);

/** Problems of `body` against one component schema of the cut (e.g. "basic-error"); empty when valid. */
export const validateGitHubSchema = (schema: string, body: unknown): string[] => {
  if (!(schema in cut.$defs)) throw new Error(`github-openapi.json has no schema ${schema}`);
  return problemsOf(compiled(`#${schema}`, { $ref: `#/$defs/${schema}` }), body);
};

/**
 * Problems of `body` as the answer of `operation` with `status`, per GitHub's description;
 * empty when valid. GitHub answers any error with a basic-error, and its description lists
 * only some error statuses per operation, so an unlisted status >= 400 is checked as
 * basic-error. An unlisted success status is a mistake in the caller and throws.
 */
export const validateGitHubResponse = (operation: GitHubOperation, status: number, body: unknown): string[] => {
  const responses = cut.operations[operation]?.responses;
  if (!responses) throw new Error(`github-openapi.json has no operation ${operation}`);
  if (cut.operations[operation]!.noBody?.includes(String(status))) {
    return body === undefined ? [] : [`GitHub's description gives ${operation} ${status} no body`];
  }
  const schema = responses[String(status)];
  if (schema) return problemsOf(compiled(`${operation} ${status}`, schema), body);
  if (status >= 400) return validateGitHubSchema("basic-error", body);
  throw new Error(`GitHub's description has no ${status} answer for ${operation}`);
};

// ---------------------------------------------------------------------------
// Webhook payloads: GitHub's published schemas (draft-07) and examples

export type WebhookEvent = "push" | "ping";

const webhookAjv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
addFormats(webhookAjv);
const webhookDefinitions = (webhookSchema as unknown as { definitions: Record<string, object> }).definitions;
const webhookValidators = new Map<WebhookEvent, ValidateFunction>();

/** Problems of `payload` as a delivery of `event`, per @octokit/webhooks-schemas; empty when valid. */
export const validateWebhookPayload = (event: WebhookEvent, payload: unknown): string[] => {
  let validate = webhookValidators.get(event);
  if (!validate) {
    validate = webhookAjv.compile({ $ref: `#/definitions/${event}$event`, definitions: webhookDefinitions });
    webhookValidators.set(event, validate);
  }
  return problemsOf(validate, payload);
};

/** GitHub's first example of `event` that passes the schema and `fits`, with what belongs to an app installation removed. */
const webhookExample = (event: WebhookEvent, fits: (example: Record<string, unknown>) => boolean) => {
  const definition = (webhookExamples as unknown as { name: string; examples: Record<string, unknown>[] }[]).find((d) => d.name === event);
  const example = definition?.examples.find((e) => fits(e) && validateWebhookPayload(event, e).length === 0);
  if (!example) throw new Error(`@octokit/webhooks-examples has no valid ${event} example to start from`);
  const { installation: _installation, ...rest } = structuredClone(example);
  return rest;
};

/** X-Hub-Signature-256 as GitHub computes it: `sha256=` and the hex HMAC-SHA256 of the exact body with the webhook's secret. */
export const webhookSignature = (secret: string, body: string | Uint8Array) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

export const ZERO_SHA = "0000000000000000000000000000000000000000";

// ---------------------------------------------------------------------------
// Types

export type GitHubUser = {
  login: string;
  /** The token that authenticates as this user (REST: `token`/`Bearer`; git: Basic password). */
  token: string;
  id?: number;
  name?: string | null;
  email?: string | null;
  /** Sent back as `x-oauth-scopes`, as GitHub does for classic tokens; null: a fine-grained token, which has no scopes and gets no such header. */
  scopes?: string[] | null;
};

export type StartGitHubOptions = {
  /** Default: one user `alice` with a random `ghp_` token. */
  users?: GitHubUser[];
  /** Where the bare repositories live; default a temp dir removed by `stop()`. */
  root?: string;
  /** Check every JSON body against the OpenAPI cut (default true). */
  validate?: boolean;
  /** Rate limit announced in `x-ratelimit-limit` (default 5000; never enforced, use `fail`). */
  rateLimit?: number;
  /**
   * The OAuth app's callback URL as registered on GitHub: a `redirect_uri`
   * must be on its host and port and under its path, as GitHub checks. Default: any.
   */
  oauthCallbackUrl?: string;
};

/** The stand-in's one OAuth app, as its settings page on GitHub shows it. */
export type StandInOAuthApp = { clientId: string; clientSecret: string };

export type CreateRepoOptions = {
  private?: boolean;
  /** Logins with push (and pull) permission besides the owner. */
  pushers?: string[];
  /** Logins with pull-only permission on a private repository (everyone can pull a public one). */
  readers?: string[];
  description?: string | null;
  /** Commit a README.md on `main`, as GitHub's `auto_init` does. */
  autoInit?: boolean;
};

export type StandInRepo = {
  readonly owner: string;
  readonly name: string;
  readonly id: number;
  readonly path: string;
  private: boolean;
  description: string | null;
  pushers: Set<string>;
  readers: Set<string>;
  createdAt: Date;
  updatedAt: Date;
  /** Set by a successful `git-receive-pack`, as GitHub's `pushed_at`. */
  pushedAt: Date;
  /** Every ref a successful `git-receive-pack` changed, oldest first: what a push delivery tells. */
  pushes: PushRecord[];
};

export type PushRecord = {
  ref: string;
  /** The ref's commit before the push; ZERO_SHA when the push created it. */
  before: string;
  /** After the push; ZERO_SHA when the push deleted it. */
  after: string;
  /** The login that pushed. */
  pusher: string;
};

export type DeliverOptions = {
  /** The webhook's secret: the delivery is signed with it as GitHub signs (X-Hub-Signature-256, and the older sha1 X-Hub-Signature). */
  secret: string;
  /** Sent as X-Hub-Signature-256 instead of the real signature (a forgery), or null to send none. */
  signature?: string | null;
  /** Changes the body after it was signed, as someone on the way would. */
  alter?: (body: string) => string;
};

export type Delivery = {
  event: WebhookEvent;
  /** X-GitHub-Delivery */
  guid: string;
  url: string;
  /** The server's answer; 0 when it could not be reached. */
  status: number;
  /** The answer's body, parsed when it is JSON. */
  body: any;
};

export type LoggedRequest = {
  method: string;
  /** Pathname on the stand-in, without the query. */
  path: string;
  query: string;
  /** 0 when the connection was dropped with no answer. */
  status: number;
  /** Whether an Authorization header came with the request; the token itself is never kept. */
  authorization: boolean;
  /** The login the credentials resolved to, if they were valid. */
  user: string | null;
  fault: "fail" | "reset" | "tamper" | null;
  /** For git requests: what `git http-backend` wrote to stderr, once it has exited. */
  gitStderr?: string;
};

export type FailSpec = {
  path: RegExp | string;
  method?: string;
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string as is. Default: a GitHub basic-error (REST) or a line of text (git). */
  body?: unknown;
  /** How many matching requests fail (default 1; `Infinity` until cancelled). */
  times?: number;
};

export type ResetSpec = {
  path: RegExp | string;
  method?: string;
  /** How many matching requests are dropped (default 1). Bun's fetch retries a GET once on a reset reused connection, so a GET needs 2 to be seen. */
  times?: number;
};

export type TamperSpec = {
  path: RegExp | string;
  method?: string;
  /**
   * The answer's body as the real remote made it, and what to send instead
   * (cut short, changed, replaced), or a stream (one that never ends stalls the client).
   */
  body: (real: Uint8Array) => Uint8Array | ReadableStream<Uint8Array>;
  /** How many matching requests are tampered with (default 1). */
  times?: number;
};

export type Fault = {
  /** Requests this fault has answered so far. */
  readonly hits: number;
  readonly remaining: number;
  cancel: () => void;
};

export type GitHubStandIn = {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Stands for GITHUB_API_URL: `http://127.0.0.1:PORT/api` */
  readonly apiUrl: string;
  /** Stands for GITHUB_GIT_URL: `http://127.0.0.1:PORT/git`; a channel's remote is `${gitUrl}/${owner}/${name}.git`. */
  readonly gitUrl: string;
  readonly port: number;
  /** The directory of bare repositories, `<root>/<owner>/<name>.git`. */
  readonly root: string;
  readonly users: readonly Required<GitHubUser>[];
  /** The token of a configured user. */
  token: (login: string) => string;
  /** Creates a bare repository (`git init --bare -b main`) that the remote and the REST fake then know. */
  createRepo: (owner: string, name: string, options?: CreateRepoOptions) => Promise<StandInRepo>;
  /** A known repository, looked up case-insensitively as GitHub does. */
  repo: (owner: string, name: string) => StandInRepo | undefined;
  /** Path of the bare repository on disk, for inspection with the git CLI. */
  repoPath: (owner: string, name: string) => string;
  /** `${gitUrl}/${owner}/${name}.git` */
  remoteUrl: (owner: string, name: string) => string;
  /** Answers matching requests with `status` instead of serving them. */
  fail: (spec: FailSpec) => Fault;
  /** Drops matching requests' connections with no answer at all. */
  reset: (spec: ResetSpec) => Fault;
  /** Serves matching requests for real, then sends `body(real answer)` as the answer's body (same status and headers). */
  tamper: (spec: TamperSpec) => Fault;
  clearFaults: () => void;
  /** Closes the listener and every connection: clients get ECONNREFUSED until `up()`. */
  down: () => Promise<void>;
  /** Listens again on the same port. */
  up: () => Promise<void>;
  readonly isDown: boolean;
  /**
   * The push delivery GitHub would send for `push` (default: the repository's
   * latest), made from GitHub's example payload and filled with this
   * repository, the ref, before/after and the commits pushed (at most 20, as GitHub).
   */
  pushPayload: (owner: string, name: string, push?: PushRecord) => Promise<Record<string, unknown>>;
  /** The ping GitHub sends when a webhook to `url` is created on the repository. */
  pingPayload: (owner: string, name: string, url: string) => Record<string, unknown>;
  /**
   * POSTs one delivery to `url` (a payload URL such as `http://127.0.0.1:PORT/github/webhook`)
   * with GitHub's headers. The payload must pass GitHub's webhook schema: the stand-in
   * sends nothing that GitHub would not (it throws instead).
   */
  deliver: (url: string, event: WebhookEvent, payload: Record<string, unknown>, options: DeliverOptions) => Promise<Delivery>;
  /** Every delivery sent, in order. */
  readonly deliveries: Delivery[];
  /** Every request, in arrival order. */
  readonly requests: LoggedRequest[];
  /**
   * GitHub's OAuth web flow for one app: `GET /login/oauth/authorize` shows a
   * page with an "Authorize as LOGIN" button per configured user (the one
   * signed in to GitHub, in a test) and a Cancel button; it sends the browser
   * back to `redirect_uri` with a one-time code (10 minutes) and the state, or
   * `error=access_denied`. `POST /login/oauth/access_token` exchanges a code
   * for a new `gho_` token of that user (JSON or form-encoded by Accept), or
   * answers 200 with `error`, as GitHub does.
   */
  readonly oauthApp: StandInOAuthApp;
  /** Every access token the OAuth flow handed out, in order. */
  readonly oauthTokens: readonly string[];
  /** Bodies the stand-in refused to send because they broke the schema; `stop()` throws if any. */
  readonly problems: string[];
  /** Ends the server and every git process, removes the temp root; throws if `problems` is not empty. */
  stop: () => Promise<void>;
};

/** Who a request's Authorization header says it is: `present` without `user` means a bad token. */
type Identity = { present: boolean; user: Required<GitHubUser> | null };

// ---------------------------------------------------------------------------
// Small helpers

const DOCS = "https://docs.github.com/rest";
const REPO_NAME = /^[A-Za-z0-9._-]+$/;

const randomHex = (length: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(length)), (b) => (b % 16).toString(16)).join("").toUpperCase();

const requestId = () => [4, 5, 6, 7, 8].map(randomHex).join(":");

const randomToken = () => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return `ghp_${Array.from(crypto.getRandomValues(new Uint8Array(36)), (b) => alphabet[b % alphabet.length]).join("")}`;
};

/** GitHub's timestamps: ISO 8601 without milliseconds. */
const stamp = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");

const nodeId = (prefix: string, id: number) => `${prefix}_${Buffer.from(`0:${id}`).toString("base64url")}`;

const isRest = (path: string) => path === "/api" || path.startsWith("/api/");

const key = (owner: string, name: string) => `${owner.toLowerCase()}/${name.toLowerCase()}`;

const matches = (rule: { path: RegExp | string; method?: string }, method: string, path: string) =>
  (rule.method === undefined || rule.method.toUpperCase() === method) &&
  (typeof rule.path === "string" ? rule.path === path : rule.path.test(path));

/** The git CLI (without blocking the event loop, which the server shares); throws unless it succeeds. */
const runGitCli = async (args: string[], options: { env?: Record<string, string>; stdin?: string } = {}) => {
  const { stdout, stderr, code } = await runGit(args, options);
  if (code !== 0) throw new Error(`git ${args.join(" ")} exited ${code}: ${stderr.trim()}`);
  return stdout.trim();
};

/** Splits a CGI answer into its header block and a stream of the rest. */
const readCgiHead = async (stdout: ReadableStream<Uint8Array>) => {
  const reader = stdout.getReader();
  let buffered = new Uint8Array(0);
  for (;;) {
    const text = new TextDecoder("latin1").decode(buffered);
    const crlf = text.indexOf("\r\n\r\n");
    const lf = text.indexOf("\n\n");
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (end >= 0) {
      const headers = new Headers();
      let status = 200;
      for (const line of text.slice(0, end).split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
        else headers.append(name, value);
      }
      const rest = buffered.subarray(end);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          if (rest.length > 0) controller.enqueue(rest);
        },
        async pull(controller) {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      });
      return { status, headers, body };
    }
    const { done, value } = await reader.read();
    if (done) return { status: 502, headers: new Headers(), body: null };
    const grown = new Uint8Array(buffered.length + value.length);
    grown.set(buffered);
    grown.set(value, buffered.length);
    buffered = grown;
  }
};

// ---------------------------------------------------------------------------
// The stand-in

export const startGitHub = async (options: StartGitHubOptions = {}): Promise<GitHubStandIn> => {
  const users: Required<GitHubUser>[] = (options.users ?? [{ login: "alice", token: randomToken() }]).map((user, i) => ({
    id: 1000 + i,
    name: user.login,
    email: `${user.login}@users.noreply.github.invalid`,
    scopes: ["repo"],
    ...user,
  }));
  const byToken = new Map(users.map((user) => [user.token, user]));
  const validate = options.validate ?? true;
  const rateLimit = options.rateLimit ?? 5000;
  const ownRoot = options.root === undefined;
  const root = options.root ?? (await mkdtemp(join(tmpdir(), "gitchat-github-")));
  const home = await mkdtemp(join(tmpdir(), "gitchat-github-home-"));
  const startedAt = new Date();

  const repos = new Map<string, { repo: StandInRepo; ready: Promise<void> }>();
  let nextRepoId = 100_000;
  const rules: { rule: FailSpec | ResetSpec | TamperSpec; kind: "fail" | "reset" | "tamper"; hits: number; remaining: number }[] = [];
  const requests: LoggedRequest[] = [];
  const problems: string[] = [];
  const gitProcesses = new Set<Bun.Subprocess>();
  const rateUsed = new Map<string, number>();
  const rateReset = Math.floor(Date.now() / 1000) + 3600;

  let server: ReturnType<typeof Bun.serve> | undefined;
  let stopped = false;
  let port = 0;
  const origin = () => `http://127.0.0.1:${port}`;
  const apiUrl = () => `${origin()}/api`;
  const gitUrl = () => `${origin()}/git`;

  // --- people and permissions

  const userByLogin = (login: string) => users.find((u) => u.login.toLowerCase() === login.toLowerCase());

  const permissionsOf = (repo: StandInRepo, login: string | null) => {
    const admin = login !== null && login.toLowerCase() === repo.owner.toLowerCase();
    const push = admin || (login !== null && repo.pushers.has(login.toLowerCase()));
    const pull = push || !repo.private || (login !== null && repo.readers.has(login.toLowerCase()));
    return { admin, maintain: admin, push, triage: push, pull };
  };

  /** The user behind a REST Authorization header: `token X`, `Bearer X` or Basic with X as password. */
  const restUser = (header: string | null): Identity => {
    if (!header) return { present: false, user: null };
    const [scheme = "", value = ""] = header.split(/\s+/, 2);
    let token = value;
    if (scheme.toLowerCase() === "basic") token = basicPassword(value) ?? "";
    else if (!["token", "bearer"].includes(scheme.toLowerCase())) token = "";
    return { present: true, user: byToken.get(token) ?? null };
  };

  const basicPassword = (encoded: string) => {
    const decoded = Buffer.from(encoded, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon < 0 ? null : decoded.slice(colon + 1);
  };

  /** git over HTTPS takes only Basic: any username, the token as password. */
  const gitUser = (header: string | null): Identity => {
    if (!header) return { present: false, user: null };
    const [scheme = "", value = ""] = header.split(/\s+/, 2);
    const token = scheme.toLowerCase() === "basic" ? basicPassword(value) : null;
    return { present: true, user: token === null ? null : byToken.get(token) ?? null };
  };

  // --- repositories

  const findRepo = async (owner: string, name: string) => {
    const entry = repos.get(key(owner, name));
    if (!entry) return undefined;
    await entry.ready;
    return repos.get(key(owner, name))?.repo;
  };

  const initialCommit = async (repo: StandInRepo, author: { name: string; email: string }) => {
    const gitDir = ["--git-dir", repo.path];
    const readme = `# ${repo.name}\n${repo.description ? `\n${repo.description}\n` : ""}`;
    const blob = await runGitCli([...gitDir, "hash-object", "-w", "--stdin"], { stdin: readme });
    const tree = await runGitCli([...gitDir, "mktree"], { stdin: `100644 blob ${blob}\tREADME.md\n` });
    const identity = {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: "GitHub",
      GIT_COMMITTER_EMAIL: "noreply@github.invalid",
    };
    const commit = await runGitCli([...gitDir, "commit-tree", tree, "-m", "Initial commit"], { env: identity });
    await runGitCli([...gitDir, "update-ref", "refs/heads/main", commit]);
  };

  /** Registers the repository at once (so a concurrent create sees it), then makes it on disk. */
  const makeRepo = (owner: string, name: string, opts: CreateRepoOptions): { repo: StandInRepo; ready: Promise<void> } => {
    const now = new Date();
    const repo: StandInRepo = {
      owner,
      name,
      id: nextRepoId++,
      path: join(root, owner, `${name}.git`),
      private: opts.private ?? false,
      description: opts.description ?? null,
      pushers: new Set((opts.pushers ?? []).map((l) => l.toLowerCase())),
      readers: new Set((opts.readers ?? []).map((l) => l.toLowerCase())),
      createdAt: now,
      updatedAt: now,
      pushedAt: now,
      pushes: [],
    };
    const ready = (async () => {
      await mkdir(join(root, owner), { recursive: true });
      await runGitCli(["init", "--quiet", "--bare", "-b", "main", repo.path]);
      if (opts.autoInit) {
        const user = userByLogin(owner);
        await initialCommit(repo, { name: user?.name ?? owner, email: user?.email ?? `${owner}@users.noreply.github.invalid` });
      }
    })();
    const entry = { repo, ready };
    repos.set(key(owner, name), entry);
    ready.catch(() => repos.delete(key(owner, name)));
    return entry;
  };

  const createRepo = async (owner: string, name: string, opts: CreateRepoOptions = {}) => {
    if (!REPO_NAME.test(owner) || !REPO_NAME.test(name) || name === "." || name === "..") {
      throw new Error(`createRepo: invalid owner/name ${owner}/${name}`);
    }
    if (repos.has(key(owner, name))) throw new Error(`createRepo: ${owner}/${name} already exists`);
    const entry = makeRepo(owner, name, opts);
    await entry.ready;
    return entry.repo;
  };

  // --- REST bodies, built from the schemas' required fields

  const simpleUser = (login: string) => {
    const user = userByLogin(login);
    const id = user?.id ?? 900_000 + [...login.toLowerCase()].reduce((sum, c) => (sum * 31 + c.charCodeAt(0)) % 99_991, 0);
    const api = `${apiUrl()}/users/${login}`;
    return {
      login: user?.login ?? login,
      id,
      node_id: nodeId("U", id),
      avatar_url: `${origin()}/avatars/u/${id}?v=4`,
      gravatar_id: "",
      url: api,
      html_url: `${origin()}/${login}`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type: "User",
      user_view_type: "public",
      site_admin: false,
    };
  };

  const privateUser = (user: Required<GitHubUser>) => {
    const owned = [...repos.values()].map((e) => e.repo).filter((r) => r.owner.toLowerCase() === user.login.toLowerCase());
    const privateCount = owned.filter((r) => r.private).length;
    return {
      ...simpleUser(user.login),
      user_view_type: "private",
      name: user.name,
      company: null,
      blog: "",
      location: null,
      email: user.email,
      notification_email: user.email,
      hireable: null,
      bio: null,
      twitter_username: null,
      public_repos: owned.length - privateCount,
      public_gists: 0,
      followers: 0,
      following: 0,
      created_at: stamp(startedAt),
      updated_at: stamp(startedAt),
      private_gists: 0,
      total_private_repos: privateCount,
      owned_private_repos: privateCount,
      disk_usage: 0,
      collaborators: 0,
      two_factor_authentication: true,
      plan: { name: "free", space: 976_562_499, collaborators: 0, private_repos: 10_000 },
    };
  };

  const fullRepository = (repo: StandInRepo, login: string | null) => {
    const full = `${repo.owner}/${repo.name}`;
    const api = `${apiUrl()}/repos/${full}`;
    const html = `${origin()}/${full}`;
    return {
      id: repo.id,
      node_id: nodeId("R", repo.id),
      name: repo.name,
      full_name: full,
      owner: simpleUser(repo.owner),
      private: repo.private,
      visibility: repo.private ? "private" : "public",
      html_url: html,
      description: repo.description,
      fork: false,
      url: api,
      archive_url: `${api}/{archive_format}{/ref}`,
      assignees_url: `${api}/assignees{/user}`,
      blobs_url: `${api}/git/blobs{/sha}`,
      branches_url: `${api}/branches{/branch}`,
      collaborators_url: `${api}/collaborators{/collaborator}`,
      comments_url: `${api}/comments{/number}`,
      commits_url: `${api}/commits{/sha}`,
      compare_url: `${api}/compare/{base}...{head}`,
      contents_url: `${api}/contents/{+path}`,
      contributors_url: `${api}/contributors`,
      deployments_url: `${api}/deployments`,
      downloads_url: `${api}/downloads`,
      events_url: `${api}/events`,
      forks_url: `${api}/forks`,
      git_commits_url: `${api}/git/commits{/sha}`,
      git_refs_url: `${api}/git/refs{/sha}`,
      git_tags_url: `${api}/git/tags{/sha}`,
      git_url: `git://127.0.0.1/${full}.git`,
      issue_comment_url: `${api}/issues/comments{/number}`,
      issue_events_url: `${api}/issues/events{/number}`,
      issues_url: `${api}/issues{/number}`,
      keys_url: `${api}/keys{/key_id}`,
      labels_url: `${api}/labels{/name}`,
      languages_url: `${api}/languages`,
      merges_url: `${api}/merges`,
      milestones_url: `${api}/milestones{/number}`,
      notifications_url: `${api}/notifications{?since,all,participating}`,
      pulls_url: `${api}/pulls{/number}`,
      releases_url: `${api}/releases{/id}`,
      ssh_url: `git@127.0.0.1:${full}.git`,
      stargazers_url: `${api}/stargazers`,
      statuses_url: `${api}/statuses/{sha}`,
      subscribers_url: `${api}/subscribers`,
      subscription_url: `${api}/subscription`,
      tags_url: `${api}/tags`,
      teams_url: `${api}/teams`,
      trees_url: `${api}/git/trees{/sha}`,
      clone_url: `${gitUrl()}/${full}.git`,
      mirror_url: null,
      hooks_url: `${api}/hooks`,
      svn_url: html,
      homepage: null,
      language: null,
      forks_count: 0,
      stargazers_count: 0,
      watchers_count: 0,
      size: 0,
      default_branch: "main",
      open_issues_count: 0,
      is_template: false,
      topics: [],
      has_issues: true,
      has_projects: true,
      has_wiki: true,
      has_pages: false,
      has_downloads: true,
      has_discussions: false,
      archived: false,
      disabled: false,
      pushed_at: stamp(repo.pushedAt),
      created_at: stamp(repo.createdAt),
      updated_at: stamp(repo.updatedAt),
      ...(login === null ? {} : { permissions: permissionsOf(repo, login) }),
      allow_forking: true,
      web_commit_signoff_required: false,
      license: null,
      forks: 0,
      open_issues: 0,
      watchers: 0,
      network_count: 0,
      subscribers_count: 0,
    };
  };

  const basicError = (message: string, status: number, documentation = DOCS) => ({
    message,
    documentation_url: documentation,
    status: String(status),
  });

  // --- REST answers

  const restHeaders = (login: string | null) => {
    const identity = login ?? "anonymous";
    const limit = login === null ? 60 : rateLimit;
    const used = (rateUsed.get(identity) ?? 0) + 1;
    rateUsed.set(identity, used);
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      "x-github-request-id": requestId(),
      "x-github-api-version-selected": "2022-11-28",
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(Math.max(0, limit - used)),
      "x-ratelimit-reset": String(rateReset),
      "x-ratelimit-used": String(used),
      "x-ratelimit-resource": "core",
    };
    const user = login === null ? undefined : userByLogin(login);
    if (user?.scopes) headers["x-oauth-scopes"] = user.scopes.join(", ");
    return headers;
  };

  /** A JSON answer, refused (500, and a problem that fails `stop()`) if it breaks GitHub's schema. */
  const json = (
    operation: GitHubOperation | null,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ): Response => {
    if (validate && operation) {
      const found = validateGitHubResponse(operation, status, body);
      if (found.length > 0) {
        const problem = `stand-in body for ${operation} ${status} breaks GitHub's schema: ${found.join("; ")}`;
        problems.push(problem);
        console.error(problem);
        return Response.json(basicError(problem, 500), { status: 500, headers });
      }
    }
    return new Response(JSON.stringify(body), { status, headers });
  };

  /** An answer with no body, refused like `json` if GitHub's description gives this status a body. */
  const empty = (operation: GitHubOperation, status: number, headers: Record<string, string>): Response => {
    if (validate) {
      const found = validateGitHubResponse(operation, status, undefined);
      if (found.length > 0) {
        const problem = `stand-in answer for ${operation} ${status} breaks GitHub's description: ${found.join("; ")}`;
        problems.push(problem);
        console.error(problem);
        return Response.json(basicError(problem, 500), { status: 500, headers });
      }
    }
    const { "content-type": _type, ...rest } = headers;
    return new Response(null, { status, headers: rest });
  };

  const restOperation = (method: string, path: string): { operation: GitHubOperation; owner?: string; repo?: string; username?: string } | null => {
    if (path === "/user" && method === "GET") return { operation: "GET /user" };
    if (path === "/user/repos" && method === "POST") return { operation: "POST /user/repos" };
    const collaborator = /^\/repos\/([^/]+)\/([^/]+)\/collaborators\/([^/]+)$/.exec(path);
    if (collaborator && method === "GET") {
      return {
        operation: "GET /repos/{owner}/{repo}/collaborators/{username}",
        owner: decodeURIComponent(collaborator[1]!),
        repo: decodeURIComponent(collaborator[2]!),
        username: decodeURIComponent(collaborator[3]!),
      };
    }
    const repoPath = /^\/repos\/([^/]+)\/([^/]+)$/.exec(path);
    if (repoPath && method === "GET") {
      return { operation: "GET /repos/{owner}/{repo}", owner: decodeURIComponent(repoPath[1]!), repo: decodeURIComponent(repoPath[2]!) };
    }
    return null;
  };

  const serveRest = async (req: Request, path: string, auth: Identity): Promise<Response> => {
    const headers = restHeaders(auth.user?.login ?? null);
    const route = restOperation(req.method, path);
    if (auth.present && !auth.user) return json(route?.operation ?? null, 401, basicError("Bad credentials", 401), headers);
    if (!route) return json(null, 404, basicError("Not Found", 404), headers);
    const login = auth.user?.login ?? null;

    switch (route.operation) {
      case "GET /user": {
        if (!auth.user) {
          return json(route.operation, 401, basicError("Requires authentication", 401, `${DOCS}/users/users#get-the-authenticated-user`), headers);
        }
        return json(route.operation, 200, privateUser(auth.user), headers);
      }
      case "GET /repos/{owner}/{repo}": {
        const repo = await findRepo(route.owner!, route.repo!);
        if (!repo || !permissionsOf(repo, login).pull) {
          return json(route.operation, 404, basicError("Not Found", 404, `${DOCS}/repos/repos#get-a-repository`), headers);
        }
        return json(route.operation, 200, fullRepository(repo, login), headers);
      }
      case "GET /repos/{owner}/{repo}/collaborators/{username}": {
        const documentation = `${DOCS}/collaborators/collaborators#check-if-a-user-is-a-repository-collaborator`;
        if (!auth.user) return json(route.operation, 401, basicError("Requires authentication", 401, documentation), headers);
        const repo = await findRepo(route.owner!, route.repo!);
        if (!repo || !permissionsOf(repo, login).pull) return empty(route.operation, 404, headers);
        if (!permissionsOf(repo, login).push) {
          return json(route.operation, 403, basicError("Must have push access to view repository collaborators.", 403, documentation), headers);
        }
        // Collaborators are the people given access: the owner, and everyone added with push or read permission.
        const username = route.username!.toLowerCase();
        const member = username === repo.owner.toLowerCase() || repo.pushers.has(username) || repo.readers.has(username);
        return empty(route.operation, member ? 204 : 404, headers);
      }
      case "POST /user/repos": {
        const documentation = `${DOCS}/repos/repos#create-a-repository-for-the-authenticated-user`;
        if (!auth.user) return json(route.operation, 401, basicError("Requires authentication", 401, documentation), headers);
        let input: unknown;
        try {
          input = await req.json();
        } catch {
          return json(route.operation, 400, basicError("Problems parsing JSON", 400, documentation), headers);
        }
        const invalid = (message: string, errors?: object[]) =>
          json(route.operation, 422, { message, ...(errors ? { errors } : {}), documentation_url: documentation, status: "422" }, headers);
        if (typeof input !== "object" || input === null || Array.isArray(input)) return invalid("Invalid request.\n\nBody must be an object.");
        const body = input as Record<string, unknown>;
        if (typeof body.name !== "string" || body.name === "") {
          return invalid("Repository creation failed.", [{ resource: "Repository", code: "missing_field", field: "name" }]);
        }
        for (const flag of ["private", "auto_init"]) {
          if (body[flag] !== undefined && typeof body[flag] !== "boolean") {
            return invalid(`Invalid request.\n\nFor 'properties/${flag}', ${JSON.stringify(body[flag])} is not a boolean.`);
          }
        }
        if (body.description !== undefined && body.description !== null && typeof body.description !== "string") {
          return invalid(`Invalid request.\n\nFor 'properties/description', ${JSON.stringify(body.description)} is not a string or null.`);
        }
        // GitHub turns characters it does not allow in a name into hyphens.
        const name = body.name.replace(/[^A-Za-z0-9._-]+/g, "-");
        if (name === "." || name === "..") {
          return invalid("Repository creation failed.", [{ resource: "Repository", code: "custom", field: "name", message: "name is invalid" }]);
        }
        if (repos.has(key(auth.user.login, name))) {
          return invalid("Repository creation failed.", [
            { resource: "Repository", code: "custom", field: "name", message: "name already exists on this account" },
          ]);
        }
        const entry = makeRepo(auth.user.login, name, {
          private: body.private === true,
          description: typeof body.description === "string" ? body.description : null,
          autoInit: body.auto_init === true,
        });
        await entry.ready;
        return json(route.operation, 201, fullRepository(entry.repo, login), {
          ...headers,
          location: `${apiUrl()}/repos/${entry.repo.owner}/${entry.repo.name}`,
        });
      }
    }
  };

  // --- git smart HTTP through `git http-backend`

  const gitText = (status: number, text: string, headers: Record<string, string> = {}) =>
    new Response(`${text}\n`, {
      status,
      headers: { "content-type": "text/plain; charset=utf-8", "x-github-request-id": requestId(), ...headers },
    });

  const serveGit = async (req: Request, url: URL, path: string, auth: Identity, log: LoggedRequest): Promise<Response> => {
    const route = /^\/([^/]+)\/([^/]+?)(?:\.git)?(\/info\/refs|\/git-upload-pack|\/git-receive-pack)$/.exec(path);
    if (!auth.user) {
      return gitText(401, "Invalid username or token. Password authentication is not supported for Git operations.", {
        "www-authenticate": 'Basic realm="GitHub"',
      });
    }
    if (!route) return gitText(404, "Not Found");
    const [, owner = "", name = "", tail = ""] = route;
    const service = tail === "/info/refs" ? url.searchParams.get("service") : tail.slice(1);
    if (service !== "git-upload-pack" && service !== "git-receive-pack") {
      return gitText(403, "Please upgrade your git client. GitHub.com does not support dumb-http git access.");
    }
    if (req.method !== (tail === "/info/refs" ? "GET" : "POST")) return gitText(405, "Method Not Allowed");
    const repo = await findRepo(owner, name);
    const permissions = repo ? permissionsOf(repo, auth.user.login) : undefined;
    if (!repo || !permissions?.pull) return gitText(404, "Repository not found.");
    if (service === "git-receive-pack" && !permissions.push) {
      return gitText(403, `Permission to ${repo.owner}/${repo.name}.git denied to ${auth.user.login}.`);
    }

    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_PROTOCOL: "HTTP/1.1",
      REMOTE_USER: auth.user.login,
      REMOTE_ADDR: "127.0.0.1",
      REQUEST_METHOD: req.method,
      PATH_INFO: `/${repo.owner}/${repo.name}.git${tail}`,
      QUERY_STRING: url.search.slice(1),
      CONTENT_TYPE: req.headers.get("content-type") ?? "",
    };
    const length = req.headers.get("content-length");
    if (length !== null) env.CONTENT_LENGTH = length;
    const protocol = req.headers.get("git-protocol");
    if (protocol !== null) env.HTTP_GIT_PROTOCOL = protocol;
    const encoding = req.headers.get("content-encoding");
    if (encoding !== null) env.HTTP_CONTENT_ENCODING = encoding;

    // What a push changes is known by comparing the refs around it, as GitHub's push event tells it.
    const receiving = service === "git-receive-pack" && tail !== "/info/refs";
    const pusher = auth.user.login;
    const refsBefore = receiving ? await listRefs(repo.path) : undefined;
    const proc = Bun.spawn(["git", "http-backend"], {
      env,
      stdin: req.method === "POST" && req.body ? req : "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    gitProcesses.add(proc);
    const stderr = new Response(proc.stderr).text();
    void proc.exited.then(async (code) => {
      gitProcesses.delete(proc);
      const text = (await stderr.catch(() => "")).trim();
      if (text) log.gitStderr = text;
      if (code === 0 && receiving && refsBefore) {
        repo.pushedAt = new Date();
        repo.updatedAt = repo.pushedAt;
        const refsAfter = await listRefs(repo.path).catch(() => undefined);
        for (const ref of new Set([...refsBefore.keys(), ...(refsAfter?.keys() ?? [])])) {
          const before = refsBefore.get(ref) ?? ZERO_SHA;
          const after = refsAfter?.get(ref) ?? ZERO_SHA;
          if (refsAfter && before !== after) repo.pushes.push({ ref, before, after, pusher });
        }
      }
    });
    const head = await readCgiHead(proc.stdout);
    if (!head.body) return gitText(502, `git http-backend ended without an answer: ${(await stderr).trim()}`);
    head.headers.set("x-github-request-id", requestId());
    return new Response(head.body, { status: head.status, headers: head.headers });
  };

  // --- webhook deliveries

  const listRefs = async (path: string) =>
    new Map(
      (await runGitCli(["--git-dir", path, "for-each-ref", "--format=%(refname) %(objectname)"]))
        .split("\n")
        .filter(Boolean)
        .map((line) => line.split(" ") as [string, string]),
    );

  const deliveries: Delivery[] = [];
  let nextHookId = 500_000;

  /** GitHub's example, retargeted: its URLs, names and ids become this stand-in's. */
  const retarget = <T>(value: T, replacements: [string, string][]): T =>
    JSON.parse(replacements.reduce((text, [from, to]) => text.replaceAll(from, to), JSON.stringify(value)));

  const githubUrls = (): [string, string][] => [
    ["https://api.github.com", apiUrl()],
    ["https://avatars1.githubusercontent.com", `${origin()}/avatars`],
    ["https://github.com", origin()],
    ["git://github.com/", "git://127.0.0.1/"],
    ["git@github.com:", "git@127.0.0.1:"],
  ];

  /** A user object of a delivery (`sender`, `repository.owner`), from the example's. */
  const webhookUser = (template: unknown, login: string) => {
    const user = retarget(template, [...githubUrls(), ["Codertocat", login]]) as Record<string, unknown>;
    const { id, node_id } = simpleUser(login);
    return { ...user, id, node_id };
  };

  /** The example's repository, made this one (a push delivery gives times as Unix seconds, as GitHub does there). */
  const webhookRepository = (template: Record<string, unknown>, repo: StandInRepo, unixTimes: boolean) => {
    const full = `${repo.owner}/${repo.name}`;
    const base = retarget(template, [...githubUrls(), ["Codertocat/Hello-World", full], ["Hello-World", repo.name], ["Codertocat", repo.owner]]);
    const owner = userByLogin(repo.owner);
    const time = (date: Date) => (unixTimes ? Math.floor(date.getTime() / 1000) : stamp(date));
    return {
      ...base,
      id: repo.id,
      node_id: nodeId("R", repo.id),
      name: repo.name,
      full_name: full,
      private: repo.private,
      visibility: repo.private ? "private" : "public",
      description: repo.description,
      owner: {
        ...webhookUser(template.owner, repo.owner),
        ...("name" in (template.owner as object) ? { name: repo.owner, email: owner?.email ?? null } : {}),
      },
      clone_url: `${gitUrl()}/${full}.git`,
      created_at: time(repo.createdAt),
      updated_at: stamp(repo.updatedAt),
      pushed_at: time(repo.pushedAt),
      default_branch: "main",
      ...("master_branch" in base ? { master_branch: "main" } : {}),
    };
  };

  /** A commit as a push delivery lists it. */
  const webhookCommit = async (repo: StandInRepo, sha: string) => {
    const gitDir = ["--git-dir", repo.path];
    const [tree = "", authorName = "", authorEmail = "", timestamp = "", committerName = "", committerEmail = "", message = ""] = (
      await runGitCli([...gitDir, "show", "-s", "--format=%T%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%B", sha])
    ).split("\0");
    const changes = (await runGitCli([...gitDir, "diff-tree", "--root", "--no-commit-id", "--name-status", "-r", sha])).split("\n").filter(Boolean);
    const files = (status: string) => changes.filter((line) => line.startsWith(status)).map((line) => line.slice(line.indexOf("\t") + 1));
    return {
      id: sha,
      tree_id: tree,
      distinct: true,
      message,
      timestamp,
      url: `${origin()}/${repo.owner}/${repo.name}/commit/${sha}`,
      author: { name: authorName, email: authorEmail },
      committer: { name: committerName, email: committerEmail },
      added: files("A"),
      removed: files("D"),
      modified: files("M"),
    };
  };

  const pushPayload = async (owner: string, name: string, push?: PushRecord) => {
    const repo = await findRepo(owner, name);
    if (!repo) throw new Error(`pushPayload: no stand-in repository ${owner}/${name}`);
    const change = push ?? repo.pushes.at(-1);
    if (!change) throw new Error(`pushPayload: nothing was pushed to ${owner}/${name} yet`);
    const example = webhookExample("push", (e) => String(e.ref).startsWith("refs/heads/") && e.head_commit !== null);
    const created = change.before === ZERO_SHA;
    const deleted = change.after === ZERO_SHA;
    const gitDir = ["--git-dir", repo.path];
    // The newest 20 commits the push brought, oldest first.
    const shas = deleted
      ? []
      : (await runGitCli([...gitDir, "rev-list", "-n", "20", "--reverse", created ? change.after : `${change.before}..${change.after}`]))
          .split("\n")
          .filter(Boolean);
    const commits = await Promise.all(shas.map((sha) => webhookCommit(repo, sha)));
    const forced =
      !created && !deleted && (await runGit([...gitDir, "merge-base", "--is-ancestor", change.before, change.after])).code !== 0;
    const pusher = userByLogin(change.pusher);
    const full = `${repo.owner}/${repo.name}`;
    return {
      ...example,
      ref: change.ref,
      before: change.before,
      after: change.after,
      created,
      deleted,
      forced,
      base_ref: null,
      compare: created
        ? `${origin()}/${full}/commit/${change.after.slice(0, 12)}`
        : `${origin()}/${full}/compare/${change.before.slice(0, 12)}...${change.after.slice(0, 12)}`,
      commits,
      head_commit: deleted ? null : (commits.at(-1) ?? (await webhookCommit(repo, change.after))),
      repository: webhookRepository(example.repository as Record<string, unknown>, repo, true),
      pusher: { name: change.pusher, email: pusher?.email ?? null },
      sender: webhookUser(example.sender, change.pusher),
    };
  };

  const pingPayload = (owner: string, name: string, url: string) => {
    const repo = repos.get(key(owner, name))?.repo;
    if (!repo) throw new Error(`pingPayload: no stand-in repository ${owner}/${name}`);
    const example = webhookExample("ping", (e) => "repository" in e && (e.hook as { type?: string }).type === "Repository");
    const hookId = nextHookId++;
    const api = `${apiUrl()}/repos/${repo.owner}/${repo.name}/hooks/${hookId}`;
    const hook = example.hook as Record<string, unknown>;
    return {
      ...example,
      hook_id: hookId,
      hook: {
        ...hook,
        id: hookId,
        active: true,
        events: ["push"],
        config: { content_type: "json", insecure_ssl: "0", secret: "********", url },
        url: api,
        test_url: `${api}/test`,
        ping_url: `${api}/pings`,
        deliveries_url: `${api}/deliveries`,
      },
      repository: webhookRepository(example.repository as Record<string, unknown>, repo, false),
      sender: webhookUser(example.sender, repo.owner),
    };
  };

  const deliver = async (url: string, event: WebhookEvent, payload: Record<string, unknown>, options: DeliverOptions): Promise<Delivery> => {
    const found = validateWebhookPayload(event, payload);
    if (found.length > 0) {
      const problem = `a ${event} delivery breaks GitHub's webhook schema: ${found.join("; ")}`;
      problems.push(problem);
      throw new Error(problem);
    }
    const body = JSON.stringify(payload);
    const guid = crypto.randomUUID();
    const repository = payload.repository as { id?: number } | undefined;
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "GitHub-Hookshot/stand-in",
      "x-github-event": event,
      "x-github-delivery": guid,
      "x-github-hook-id": String((payload.hook_id as number | undefined) ?? 500_000),
      "x-github-hook-installation-target-type": "repository",
      "x-github-hook-installation-target-id": String(repository?.id ?? 0),
      "x-hub-signature": `sha1=${createHmac("sha1", options.secret).update(body).digest("hex")}`,
    };
    const signature = options.signature === undefined ? webhookSignature(options.secret, body) : options.signature;
    if (signature !== null) headers["x-hub-signature-256"] = signature;
    const delivery: Delivery = { event, guid, url, status: 0, body: undefined };
    deliveries.push(delivery);
    let answer: Response;
    try {
      answer = await fetch(url, { method: "POST", headers, body: options.alter ? options.alter(body) : body });
    } catch {
      return delivery; // Unreachable: GitHub records the failed delivery, and so does the stand-in (status 0).
    }
    delivery.status = answer.status;
    const text = await answer.text();
    try {
      delivery.body = JSON.parse(text);
    } catch {
      delivery.body = text;
    }
    return delivery;
  };

  // --- faults and dispatch

  const addRule = (rule: FailSpec | ResetSpec | TamperSpec, kind: "fail" | "reset" | "tamper"): Fault => {
    const entry = { rule, kind, hits: 0, remaining: rule.times ?? 1 };
    rules.push(entry);
    return {
      get hits() {
        return entry.hits;
      },
      get remaining() {
        return entry.remaining;
      },
      cancel: () => {
        entry.remaining = 0;
      },
    };
  };

  /** What `fail` sends: GitHub-like headers on REST paths, with the test's own on top. */
  const failure = (spec: FailSpec, req: Request, path: string, auth: Identity): Response => {
    const rest = isRest(path);
    const headers: Record<string, string> = rest
      ? restHeaders(auth.user?.login ?? null)
      : { "content-type": "text/plain; charset=utf-8", "x-github-request-id": requestId() };
    let body: string;
    if (spec.body === undefined) {
      const limited = spec.status === 429 || spec.headers?.["x-ratelimit-remaining"] === "0";
      const message = limited ? "API rate limit exceeded" : (STATUS_CODES[spec.status] ?? `Error ${spec.status}`);
      body = rest ? JSON.stringify(basicError(message, spec.status)) : `${message}\n`;
    } else if (typeof spec.body === "string") body = spec.body;
    else {
      body = JSON.stringify(spec.body);
      headers["content-type"] = "application/json; charset=utf-8";
      // A fault with a RegExp path is checked only now, when its operation is known.
      const operation = rest ? restOperation(req.method, path.slice("/api".length))?.operation : undefined;
      if (validate && operation && cut.operations[operation]?.responses[String(spec.status)]) {
        const found = validateGitHubResponse(operation, spec.status, spec.body);
        if (found.length > 0) {
          const problem = `fault body for ${req.method} ${path} ${spec.status} breaks GitHub's schema: ${found.join("; ")}`;
          problems.push(problem);
          console.error(problem);
        }
      }
    }
    return new Response(body, { status: spec.status, headers: { ...headers, ...spec.headers } });
  };

  // --- OAuth web application flow (https://docs.github.com/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps)

  const alphanumeric = (length: number) => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return Array.from(crypto.getRandomValues(new Uint8Array(length)), (b) => alphabet[b % alphabet.length]).join("");
  };
  const oauthApp: StandInOAuthApp = { clientId: `Ov23li${alphanumeric(14)}`, clientSecret: randomHex(40).toLowerCase() };
  const oauthCodes = new Map<string, { login: string; redirectUri: string; expires: number }>();
  const oauthTokens: string[] = [];
  const OAUTH_DOCS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

  /** GitHub's rule: a redirect_uri on the registered callback's host and port, under its path. */
  const redirectAllowed = (redirectUri: string) => {
    let given: URL;
    try {
      given = new URL(redirectUri);
    } catch {
      return false;
    }
    if (options.oauthCallbackUrl === undefined) return true;
    const registered = new URL(options.oauthCallbackUrl);
    return given.host === registered.host && given.protocol === registered.protocol && given.pathname.startsWith(registered.pathname);
  };

  const htmlPage = (status: number, body: string) =>
    new Response(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>GitHub stand-in</title></head><body>${body}</body></html>`, {
      status,
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  const serveOAuth = async (req: Request, url: URL, path: string): Promise<Response | undefined> => {
    if (path === "/login/oauth/authorize" && req.method === "GET") {
      const query = url.searchParams;
      if (query.get("client_id") !== oauthApp.clientId) return htmlPage(404, "<h1>404</h1><p>This OAuth app does not exist.</p>");
      const redirectUri = query.get("redirect_uri") ?? "";
      if (!redirectAllowed(redirectUri)) {
        return htmlPage(200, "<h1>Be careful!</h1><p>The redirect_uri is not associated with this application.</p>");
      }
      const hidden = ["redirect_uri", "state", "scope"]
        .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(query.get(name) ?? "")}">`)
        .join("");
      const buttons = users.map((u) => `<button type="submit" name="login" value="${escapeHtml(u.login)}">Authorize as ${escapeHtml(u.login)}</button>`).join(" ");
      return htmlPage(
        200,
        `<h1>Authorize gitchat</h1><form method="post" action="/login/oauth/authorize">${hidden}${buttons} <button type="submit" name="deny" value="1">Cancel</button></form>`,
      );
    }
    if (path === "/login/oauth/authorize" && req.method === "POST") {
      const form = new URLSearchParams(await req.text());
      const redirectUri = form.get("redirect_uri") ?? "";
      if (!redirectAllowed(redirectUri)) return htmlPage(400, "<p>The redirect_uri is not associated with this application.</p>");
      const back = new URL(redirectUri);
      const state = form.get("state");
      const user = userByLogin(form.get("login") ?? "");
      if (form.get("deny") || !user) {
        back.searchParams.set("error", "access_denied");
        back.searchParams.set("error_description", "The user has denied your application access.");
        back.searchParams.set("error_uri", "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied");
      } else {
        const code = randomHex(20).toLowerCase();
        oauthCodes.set(code, { login: user.login, redirectUri, expires: Date.now() + 10 * 60_000 });
        back.searchParams.set("code", code);
      }
      if (state !== null) back.searchParams.set("state", state);
      return new Response(null, { status: 302, headers: { location: back.toString() } });
    }
    if (path === "/login/oauth/access_token" && req.method === "POST") {
      const text = await req.text();
      const type = req.headers.get("content-type") ?? "";
      let params: Record<string, string> = {};
      try {
        params = type.includes("json") ? (JSON.parse(text) as Record<string, string>) : Object.fromEntries(new URLSearchParams(text));
      } catch {}
      const json = (req.headers.get("accept") ?? "").includes("application/json");
      const answer = (body: Record<string, string>) =>
        json
          ? new Response(JSON.stringify(body), { headers: { "content-type": "application/json; charset=utf-8" } })
          : new Response(new URLSearchParams(body).toString(), { headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" } });
      const error = (code: string, description: string) =>
        answer({ error: code, error_description: description, error_uri: `${OAUTH_DOCS}#${code.replaceAll("_", "-")}` });
      if (params.client_id !== oauthApp.clientId || params.client_secret !== oauthApp.clientSecret) {
        return error("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
      }
      const grant = oauthCodes.get(params.code ?? "");
      if (!grant || grant.expires < Date.now()) return error("bad_verification_code", "The code passed is incorrect or expired.");
      if (params.redirect_uri !== undefined && params.redirect_uri !== grant.redirectUri) {
        return error("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.");
      }
      oauthCodes.delete(params.code!);
      const user = userByLogin(grant.login)!;
      const token = `gho_${alphanumeric(36)}`;
      byToken.set(token, user);
      oauthTokens.push(token);
      return answer({ access_token: token, scope: "read:user", token_type: "bearer" });
    }
    return undefined;
  };

  /** A response whose body errors before a byte is sent: Bun closes the connection with no answer. */
  const dropped = () =>
    new Response(
      new ReadableStream({
        pull(controller) {
          // No reason given: Bun then drops the socket without printing the error.
          controller.error();
        },
      }),
    );

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    const log: LoggedRequest = {
      method: req.method,
      path,
      query: url.search,
      status: 0,
      authorization: req.headers.has("authorization"),
      user: null,
      fault: null,
    };
    requests.push(log);
    const rest = isRest(path);
    const auth = (rest ? restUser : gitUser)(req.headers.get("authorization"));
    log.user = auth.user?.login ?? null;

    const rule = rules.find((r) => r.remaining > 0 && matches(r.rule, req.method, path));
    if (rule) {
      rule.remaining -= 1;
      rule.hits += 1;
      log.fault = rule.kind;
      if (rule.kind === "reset") return dropped();
      if (rule.kind === "tamper") {
        const real = path.startsWith("/git/") ? await serveGit(req, url, path.slice("/git".length), auth, log) : await serveRest(req, path.slice("/api".length) || "/", auth);
        const body = (rule.rule as TamperSpec).body(new Uint8Array(await real.arrayBuffer()));
        const headers = new Headers(real.headers);
        headers.delete("content-length");
        log.status = real.status;
        return new Response(body as Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>, { status: real.status, headers });
      }
      const response = failure(rule.rule as FailSpec, req, path, auth);
      log.status = response.status;
      return response;
    }

    let response: Response;
    if (rest) response = await serveRest(req, path.slice("/api".length) || "/", auth);
    else if (path.startsWith("/git/")) response = await serveGit(req, url, path.slice("/git".length), auth, log);
    else response = (await serveOAuth(req, url, path)) ?? new Response("Not Found\n", { status: 404 });
    log.status = response.status;
    return response;
  };

  const listen = () =>
    Bun.serve({
      hostname: "127.0.0.1",
      port,
      // A push can be silent for long while the remote indexes a big pack.
      idleTimeout: 0,
      maxRequestBodySize: 1024 ** 3,
      fetch: handle,
      error(error) {
        const problem = `stand-in crashed on a request: ${error.stack ?? error.message}`;
        problems.push(problem);
        console.error(problem);
        return new Response(JSON.stringify(basicError("Stand-in error", 500)), { status: 500 });
      },
    });

  server = listen();
  port = server.port ?? 0;

  const standIn: GitHubStandIn = {
    get url() {
      return origin();
    },
    get apiUrl() {
      return apiUrl();
    },
    get gitUrl() {
      return gitUrl();
    },
    port,
    root,
    users,
    token: (login) => {
      const user = userByLogin(login);
      if (!user) throw new Error(`no stand-in user ${login}`);
      return user.token;
    },
    createRepo,
    repo: (owner, name) => repos.get(key(owner, name))?.repo,
    repoPath: (owner, name) => repos.get(key(owner, name))?.repo.path ?? join(root, owner, `${name}.git`),
    remoteUrl: (owner, name) => `${gitUrl()}/${owner}/${name}.git`,
    fail: (spec) => {
      if (validate && typeof spec.path === "string" && spec.path.startsWith("/api/") && typeof spec.body === "object" && spec.body !== null) {
        for (const method of spec.method ? [spec.method.toUpperCase()] : ["GET", "POST"]) {
          const operation = restOperation(method, spec.path.slice("/api".length))?.operation;
          if (!operation || !cut.operations[operation]?.responses[String(spec.status)]) continue;
          const found = validateGitHubResponse(operation, spec.status, spec.body);
          if (found.length > 0) throw new Error(`fail(): this body for ${operation} ${spec.status} breaks GitHub's schema: ${found.join("; ")}`);
        }
      }
      return addRule(spec, "fail");
    },
    reset: (spec) => addRule(spec, "reset"),
    tamper: (spec) => addRule(spec, "tamper"),
    clearFaults: () => {
      rules.length = 0;
    },
    down: async () => {
      if (!server) return;
      const closing = server;
      server = undefined;
      await closing.stop(true);
    },
    up: async () => {
      if (server || stopped) return;
      server = listen();
    },
    get isDown() {
      return server === undefined;
    },
    pushPayload,
    pingPayload,
    deliver,
    deliveries,
    requests,
    oauthApp,
    oauthTokens,
    problems,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (server) {
        const closing = server;
        server = undefined;
        await closing.stop(true);
      }
      for (const proc of gitProcesses) proc.kill(9);
      await Promise.all([...gitProcesses].map((proc) => proc.exited));
      await Promise.all([...repos.values()].map((entry) => entry.ready.catch(() => {})));
      if (ownRoot) await rm(root, { recursive: true, force: true });
      await rm(home, { recursive: true, force: true });
      if (problems.length > 0) throw new Error(`the GitHub stand-in saw problems:\n${problems.join("\n")}`);
    },
  };
  return standIn;
};

/**
 * The settings that point a gitchat at the stand-in: channel `owner/name`
 * (alice/chat unless told) synced with `token`, pulled only on demand (an
 * hour between interval pulls, so that a test decides when one happens).
 */
export const standInSettings = (github: GitHubStandIn, options: { token: string; owner?: string; name?: string }): Record<string, string> => ({
  GITHUB_TOKEN: options.token,
  GITHUB_USERNAME: options.owner ?? "alice",
  GITHUB_REPO_NAME: options.name ?? "chat",
  GITHUB_API_URL: github.apiUrl,
  GITHUB_GIT_URL: github.gitUrl,
  SYNC_INTERVAL: "3600",
});
