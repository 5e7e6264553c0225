import type { AuthPlugin } from "../auth.ts";
import { Elysia } from "elysia";
import type { HealthService } from "../../repositories/health.ts";
import { Health } from "../schemas.ts";

/**
 * 200 only when a message could be written and read now: the index's pages
 * read back from the file (not from the server's page cache), and every
 * repository is writable, its packs whole and its branch where this server
 * left it. Otherwise 503 with what is wrong and what to run. Each answer
 * costs the same however large the store (see HealthService).
 */
export const healthRoutes = (health: HealthService, auth: AuthPlugin) =>
  new Elysia({ name: "health" }).use(auth).get(
    "/health",
    ({ set }) => {
      const report = health.check();
      if (report.status !== "ok") set.status = 503;
      return report;
    },
    { auth: "public", response: { 200: Health, 503: Health }, detail: { summary: "Health of the database and the git store" } },
  );
