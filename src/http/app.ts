import { Elysia } from "elysia";
import { openapi } from "@elysiajs/openapi";
import type { MessageDatabase } from "../db/database.ts";
import type { MessageService } from "../messages/service.ts";
import type { RepositoryService } from "../repositories/service.ts";
import type { SyncService } from "../sync/service.ts";
import { syncRoutes } from "./routes/sync.ts";
import { pageRoutes } from "./routes/page.ts";
import { readBody } from "./body.ts";
import { toErrorResponse } from "./errors.ts";
import { healthRoutes } from "./routes/health.ts";
import { messageRoutes } from "./routes/messages.ts";
import { repositoryRoutes } from "./routes/repositories.ts";

export type Deps = {
  db: MessageDatabase;
  messages: MessageService;
  repositories: RepositoryService;
  sync?: SyncService;
  log: (line: string) => void;
  version: string;
  defaultRepository: string;
};

/** Scripts and styles only from gitchat itself; nothing inline, nothing framed. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const createApp = (deps: Deps) =>
  new Elysia()
    .onError(({ code, error }) => toErrorResponse(code, error, deps.log))
    .onRequest(({ set }) => {
      set.headers["x-content-type-options"] = "nosniff";
      set.headers["content-security-policy"] = CSP;
      set.headers["referrer-policy"] = "no-referrer";
      set.headers["cross-origin-opener-policy"] = "same-origin";
    })
    .onParse(({ request, contentType, path }) => readBody(request, contentType, path))
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
    .use(pageRoutes({ messages: deps.messages, repositories: deps.repositories, sync: deps.sync, defaultRepository: deps.defaultRepository }))
    .use(healthRoutes(deps.db, deps.repositories));

export type App = ReturnType<typeof createApp>;
