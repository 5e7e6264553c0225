import { Elysia } from "elysia";
import type { Log } from "../log.ts";
import { openapi } from "@elysiajs/openapi";
import type { HealthService } from "../repositories/health.ts";
import type { MessageService } from "../messages/service.ts";
import type { RepositoryService } from "../repositories/service.ts";
import type { SyncService } from "../sync/service.ts";
import { syncRoutes } from "./routes/sync.ts";
import { pageRoutes } from "./routes/page.ts";
import { loginRoutes } from "./routes/login.ts";
import { checkRequest, clientAddress, corsHeaders, isGitHubWebhook, RateLimiter, securityHeaders, Sessions, StreamLimiter } from "./security.ts";
import { readBody } from "./body.ts";
import { toErrorResponse } from "./errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { messageRoutes } from "./routes/messages.ts";
import { repositoryRoutes } from "./routes/repositories.ts";
import { githubWebhookRoutes } from "./routes/github-webhook.ts";

export type Deps = {
  messages: MessageService;
  repositories: RepositoryService;
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
};

export type AccessSettings = { accessToken?: string; corsOrigins: string[]; rateLimit: number; trustProxy: boolean };

const OPEN: AccessSettings = { corsOrigins: [], rateLimit: 0, trustProxy: false };

export const createApp = (deps: Deps) => {
  const access = deps.access ?? OPEN;
  const sessions = new Sessions();
  const webhookSecret = deps.sync ? deps.githubWebhookSecret : undefined;
  const security = {
    accessToken: access.accessToken,
    corsOrigins: access.corsOrigins,
    sessions,
    messageLimit: new RateLimiter(access.rateLimit),
    // Guessing the token is limited far harder than talking.
    loginLimit: new RateLimiter(10),
    githubWebhook: webhookSecret !== undefined,
  };
  const streams = new StreamLimiter(10);
  return new Elysia()
    .onError(({ code, error }) => toErrorResponse(code, error, deps.log))
    .onRequest(({ request, set, server }) => {
      securityHeaders(set.headers, request, access.trustProxy);
      const origin = request.headers.get("origin");
      if (origin && access.corsOrigins.includes(origin)) Object.assign(set.headers, corsHeaders(origin));
      const address = clientAddress(request, server?.requestIP(request)?.address ?? "local", access.trustProxy);
      const refusal = checkRequest(request, address, security);
      if (refusal) for (const [key, value] of Object.entries(set.headers)) if (!refusal.headers.has(key)) refusal.headers.set(key, String(value));
      return refusal;
    })
    // The webhook's signature is over its raw bytes: its route reads them itself.
    .onParse(({ request, contentType, path }) => (isGitHubWebhook(path) ? undefined : readBody(request, contentType, path)))
    .use(
      openapi({
        path: "/openapi",
        specPath: "/openapi.json",
        provider: null,
        documentation: {
          info: {
            title: "gitchat",
            version: deps.version,
            description: "A chat whose history lives in git. Errors are `{error: {code, message}}`.",
          },
        },
      }),
    )
    .use(messageRoutes(deps.messages))
    .use(repositoryRoutes(deps.repositories, deps.sync))
    .use(syncRoutes(deps.sync))
    .use(githubWebhookRoutes({ secret: webhookSecret, sync: deps.sync, repositories: deps.repositories }))
    .use(loginRoutes({ accessToken: access.accessToken, sessions, defaultRepository: deps.defaultRepository, trustProxy: access.trustProxy }))
    .use(
      pageRoutes({
        messages: deps.messages,
        repositories: deps.repositories,
        sync: deps.sync,
        defaultRepository: deps.defaultRepository,
        streams,
        shutdown: deps.shutdown,
        loginRequired: Boolean(access.accessToken),
      }),
    )
    .use(healthRoutes(deps.health));
};

export type App = ReturnType<typeof createApp>;
