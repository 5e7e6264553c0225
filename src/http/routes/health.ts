import { Elysia } from "elysia";
import type { MessageDatabase } from "../../db/database.ts";
import type { RepositoryService } from "../../repositories/service.ts";
import { Health } from "../schemas.ts";

const check = async <T>(probe: () => Promise<T> | T) => {
  try {
    return { ok: true as const, value: await probe() };
  } catch (error) {
    return { ok: false as const, error: (error as Error).message };
  }
};

/**
 * 200 only when a message could be written and read now: the index's pages
 * read back from the file (not from the server's page cache), and every
 * repository is writable, its packs whole and its branch where this server
 * left it. Otherwise 503 with what is wrong and what to run.
 */
export const healthRoutes = (db: MessageDatabase, repositories: RepositoryService) =>
  new Elysia({ name: "health" }).get(
    "/health",
    async ({ set }) => {
      const database = await check(() => {
        db.probe();
        return db.countMessages();
      });
      const git = await check(() => {
        const problems = repositories.health();
        if (problems.length > 0) throw new Error(problems.join("; "));
        return repositories.list().length;
      });
      const ok = database.ok && git.ok;
      if (!ok) set.status = 503;
      return {
        status: ok ? ("ok" as const) : ("degraded" as const),
        database: database.ok ? { ok: true, messages: database.value } : { ok: false, messages: 0, error: database.error },
        git: git.ok ? { ok: true, repositories: git.value } : { ok: false, repositories: 0, error: git.error },
      };
    },
    { response: { 200: Health, 503: Health }, detail: { summary: "Health of the database and the git store" } },
  );
