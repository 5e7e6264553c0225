import type { AuthPlugin } from "../auth.ts";
import { Elysia } from "elysia";
import type { PushReport, SyncService } from "../../sync/service.ts";
import type { ChannelAccess } from "../../repositories/access.ts";
import { SyncReport } from "../schemas.ts";

const OFF = "GitHub sync is off: set GITHUB_TOKEN and GITHUB_USERNAME to back channels up to GitHub";

const summary = (verb: string, reports: PushReport[]) => {
  const failed = reports.filter((r) => !r.success);
  return {
    success: failed.length === 0,
    message:
      failed.length === 0
        ? `${verb} ${reports.length} channel(s): all in sync`
        : `${failed.length} of ${reports.length} channel(s) failed: ${failed.map((r) => `${r.repository}: ${r.message}`).join("; ")}`,
    repositories: reports,
  };
};

/**
 * A push or pull talks to GitHub and may take longer than IDLE_TIMEOUT, which
 * is for clients that go quiet, not for a server still working on the answer:
 * such a request has no idle timeout (Bun's `server.timeout(request, 0)`).
 */
export const withoutIdleTimeout = (request: Request, server: { timeout(request: Request, seconds: number): void } | null) =>
  server?.timeout(request, 0);

// Every channel is pushed or pulled; the answer names only those the caller sees.
export const syncRoutes = (auth: AuthPlugin, access: ChannelAccess, sync: SyncService | undefined) =>
  new Elysia({ name: "sync" })
    .use(auth)
    .post("/push", async ({ request, server, identity }) => {
      withoutIdleTimeout(request, server);
      return sync ? summary("pushed", access.keepVisible(identity!.actor, await sync.pushAll())) : { success: false, message: OFF, repositories: [] };
    }, {
      auth: "member",
      response: { 200: SyncReport },
      detail: { summary: "Push every channel to GitHub now", description: "Pulls and merges first when another server pushed meanwhile." },
    })
    .post("/pull", async ({ request, server, identity }) => {
      withoutIdleTimeout(request, server);
      return sync ? summary("pulled", access.keepVisible(identity!.actor, await sync.pullAll())) : { success: false, message: OFF, repositories: [] };
    }, {
      auth: "member",
      response: { 200: SyncReport },
      detail: { summary: "Pull every channel from GitHub now" },
    });
