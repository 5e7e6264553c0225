/**
 * Whether a message could be written and read now, for `GET /health`: the
 * index's pages read back from the file (not from the server's page cache),
 * and every repository is writable, its packs whole and its branch where this
 * server left it (RepositoryService.health). Each part says what is wrong.
 */
import type { MessageDatabase } from "../db/database.ts";
import type { RepositoryService } from "../repositories/service.ts";

export type HealthReport = {
  ok: boolean;
  database: { ok: true; messages: number } | { ok: false; error: string };
  git: { ok: true; repositories: number } | { ok: false; error: string };
};

const check = async <T>(probe: () => Promise<T> | T) => {
  try {
    return { ok: true as const, value: await probe() };
  } catch (error) {
    return { ok: false as const, error: (error as Error).message };
  }
};

export class HealthService {
  constructor(
    private readonly db: MessageDatabase,
    private readonly repositories: RepositoryService,
  ) {}

  async check(): Promise<HealthReport> {
    const database = await check(() => {
      this.db.probe();
      return this.db.countMessages();
    });
    const git = await check(() => {
      const problems = this.repositories.health();
      if (problems.length > 0) throw new Error(problems.join("; "));
      return this.repositories.list().length;
    });
    return {
      ok: database.ok && git.ok,
      database: database.ok ? { ok: true, messages: database.value } : { ok: false, error: database.error },
      git: git.ok ? { ok: true, repositories: git.value } : { ok: false, error: git.error },
    };
  }
}
