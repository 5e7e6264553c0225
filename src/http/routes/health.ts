import { Elysia } from "elysia";
import type { HealthService } from "../../messages/health.ts";
import { Health } from "../schemas.ts";

/**
 * 200 only when a message could be written and read now (see
 * messages/health.ts); otherwise 503 with what is wrong and what to run.
 */
export const healthRoutes = (health: HealthService) =>
  new Elysia({ name: "health" }).get(
    "/health",
    async ({ set }) => {
      const { ok, database, git } = await health.check();
      if (!ok) set.status = 503;
      return {
        status: ok ? ("ok" as const) : ("degraded" as const),
        database: database.ok ? { ok: true, messages: database.messages } : { ok: false, messages: 0, error: database.error },
        git: git.ok ? { ok: true, repositories: git.repositories } : { ok: false, repositories: 0, error: git.error },
      };
    },
    { response: { 200: Health, 503: Health }, detail: { summary: "Health of the database and the git store" } },
  );
