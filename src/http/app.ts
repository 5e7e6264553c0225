import { Elysia } from "elysia";
import { toOpenAPISchema } from "@elysiajs/openapi";
import type { AccountService } from "../accounts/service.ts";
import type { HookService } from "../accounts/hooks.ts";
import type { GitHubSignIn } from "../accounts/github-sign-in.ts";
import { RateLimiter } from "../rate-limit.ts";
import { authPlugin, undeclaredRoutes } from "./auth.ts";
import { accountRoutes } from "./routes/accounts.ts";
import type { Log } from "../log.ts";
import type { HealthService } from "../repositories/health.ts";
import type { MessageService } from "../messages/service.ts";
import type { RepositoryService } from "../repositories/service.ts";
import type { ChannelAccess } from "../repositories/access.ts";
import type { SyncService } from "../sync/service.ts";
import type { UnreadService } from "../messages/unread.ts";
import { unreadRoutes } from "./routes/unread.ts";
import { syncRoutes } from "./routes/sync.ts";
import { pageRoutes } from "./routes/page.ts";
import { loginRoutes } from "./routes/login.ts";
import { accountPageRoutes } from "./routes/account-pages.ts";
import { githubSignInRoutes } from "./routes/github-sign-in.ts";
import { corsHeaders, isGitHubWebhook, refuseForeign, securityHeaders, Sessions, StreamLimiter } from "./security.ts";
import { readBody } from "./body.ts";
import { toErrorResponse } from "./errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { messageRoutes } from "./routes/messages.ts";
import { repositoryRoutes } from "./routes/repositories.ts";
import { githubWebhookRoutes } from "./routes/github-webhook.ts";
import { hookRoutes } from "./routes/hooks.ts";
import { metricsRoutes } from "./routes/metrics.ts";
import type { Metrics } from "../metrics.ts";

export type Deps = {
  messages: MessageService;
  /** Read places and unread counts (issue 12). */
  unread: UnreadService;
  accounts: AccountService;
  hooks: HookService;
  /** The configured author (GITHUB_USERNAME or `local`): what the operator's messages are written under. */
  author: string;
  /** The CLI's per-start secret: a bearer of it is the operator. */
  controlSecret?: string;
  repositories: RepositoryService;
  /** Who sees which channel (private channels). */
  channelAccess: ChannelAccess;
  health: HealthService;
  sync?: SyncService;
  log: Log;
  version: string;
  defaultRepository: string;
  access?: AccessSettings;
  /** Aborted when the server stops: live streams end, so that the requests still in flight can finish. */
  shutdown?: AbortSignal;
  /** GITHUB_WEBHOOK_SECRET: with `sync`, turns on GitHub's push webhook. */
  githubWebhookSecret?: string;
  /** "Sign in with GitHub", when GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are set. */
  githubSignIn?: GitHubSignIn;
  /** The server's address as people reach it (PUBLIC_URL, or where it listens): GitHub sends people back there. */
  publicUrl?: () => string;
  /** What GET /metrics reports; the app counts rate-limited requests and reports its live streams there. */
  metrics: Metrics;
};

export type AccessSettings = { accessToken?: string; corsOrigins: string[]; rateLimit: number; trustProxy: boolean };

const OPEN: AccessSettings = { corsOrigins: [], rateLimit: 0, trustProxy: false };

export const createApp = (deps: Deps) => {
  const access = deps.access ?? OPEN;
  const sharedSessions = new Sessions();
  const webhookSecret = deps.sync ? deps.githubWebhookSecret : undefined;
  // One count for every message sent through the API, the page or an incoming webhook.
  const messageLimit = new RateLimiter(access.rateLimit);
  const auth = authPlugin({
    accounts: deps.accounts,
    author: deps.author,
    accessToken: access.accessToken,
    controlSecret: deps.controlSecret,
    sharedSessions,
    messageLimit,
    trustProxy: access.trustProxy,
  });
  const streams = new StreamLimiter(10, () => deps.metrics.rateLimited());
  deps.metrics.readLiveStreams(() => streams.total);
  const info = {
    title: "gitchat",
    version: deps.version,
    description:
      "A chat whose history lives in git. Errors are `{error: {code, message}}`. " +
      `Each operation's \`x-gitchat-auth\` says who may call it: public, member (anyone signed in, bots included) or admin. ` +
      "A private channel is seen only by its creator, its members and admins: to anyone else it answers 404 `unknown_repository`, as a channel that does not exist.",
  };
  const app = new Elysia()
    .onError(({ code, error }) => {
      const response = toErrorResponse(code, error, deps.log);
      if (response.status === 429) deps.metrics.rateLimited();
      return response;
    })
    .onRequest(({ request, set }) => {
      securityHeaders(set.headers, request, access.trustProxy);
      const origin = request.headers.get("origin");
      if (origin && access.corsOrigins.includes(origin)) Object.assign(set.headers, corsHeaders(origin));
      const refusal = refuseForeign(request, access.corsOrigins);
      if (refusal) for (const [key, value] of Object.entries(set.headers)) if (!refusal.headers.has(key)) refusal.headers.set(key, String(value));
      return refusal;
    })
    // The webhook's signature is over its raw bytes: its route reads them itself.
    .onParse(({ request, contentType, path }) => (isGitHubWebhook(path) ? undefined : readBody(request, contentType, path)))
    .use(auth)
    .get("/openapi.json", () => openApiDocument(), { auth: "member", detail: { hide: true } })
    .use(messageRoutes(deps.messages, auth))
    .use(repositoryRoutes(deps.repositories, deps.channelAccess, auth, deps.sync))
    .use(unreadRoutes(deps.unread, auth))
    .use(syncRoutes(auth, deps.channelAccess, deps.sync))
    .use(githubWebhookRoutes(auth, { secret: webhookSecret, sync: deps.sync, repositories: deps.repositories }))
    .use(accountRoutes(deps.accounts, auth, access.trustProxy))
    .use(hookRoutes({ hooks: deps.hooks, messages: deps.messages, repositories: deps.repositories, messageLimit }, auth))
    .use(
      loginRoutes(auth, {
        accessToken: access.accessToken,
        accounts: deps.accounts,
        sharedSessions,
        trustProxy: access.trustProxy,
        github: deps.githubSignIn !== undefined,
      }),
    )
    .use(githubSignInRoutes(auth, { signIn: deps.githubSignIn, publicUrl: deps.publicUrl ?? (() => "http://localhost"), trustProxy: access.trustProxy }))
    .use(accountPageRoutes(auth, { accounts: deps.accounts, trustProxy: access.trustProxy }))
    .use(
      pageRoutes(auth, {
        messages: deps.messages,
        unread: deps.unread,
        channelAccess: deps.channelAccess,
        sync: deps.sync,
        defaultRepository: deps.defaultRepository,
        streams,
        shutdown: deps.shutdown,
      }),
    )
    .use(healthRoutes(deps.health, auth))
    .use(metricsRoutes(deps.metrics, auth));
  // The document is made once, from the routes as they are now (they do not change after start).
  let document: unknown;
  const openApiDocument = () => {
    if (!document) {
      const { paths, components } = toOpenAPISchema(app);
      document = { openapi: "3.1.2", info, paths, components };
    }
    return document;
  };
  const undeclared = undeclaredRoutes(app);
  if (undeclared.length > 0) throw new Error(`routes without a declared auth rule: ${undeclared.join(", ")}`);
  return app;
};

export type App = ReturnType<typeof createApp>;
