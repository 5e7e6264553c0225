/**
 * What `GET /health` reports: whether a message could be written and read
 * now. It is called often (by load balancers and monitors, many times a
 * second), so no request may cost what grows with the store: the message
 * count is kept in memory by the index (MessageDatabase.messageTotal), and
 * the two checks whose cost does not stay small are rechecked at most once
 * every RECHECK_MS, their result (ok or the damage) given in between:
 *
 * - the index's pages read back through a fresh connection (a file
 *   overwritten under the server; its own connection answers from its cache);
 * - each channel's packs (two stats a pack, and a few hundred bytes read of
 *   each pack that changed): a busy channel has hundreds.
 *
 * What costs a few system calls a channel runs on every request: that the
 * directories a commit writes to are writable, and that `main` is still where
 * this server left it.
 */
import type { MessageDatabase } from "../db/database.ts";
import { describePackDamage, inspectPacks } from "../git/integrity.ts";
import type { RepositoryService } from "./service.ts";

/** How long a costly check's result is given before it runs again: damage shows within this. */
export const RECHECK_MS = 1000;

export type HealthReport = {
  status: "ok" | "degraded";
  database: { ok: boolean; messages: number; error?: string };
  git: { ok: boolean; repositories: number; error?: string };
};

/** A check run at most once every `intervalMs`; in between, its last outcome (a value, or the error it threw) stands. */
export class Recheck<T> {
  private last: { at: number; value?: T; error?: unknown; failed: boolean } | undefined;

  constructor(
    private readonly check: () => T,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(): T {
    const now = this.now();
    if (!this.last || now - this.last.at >= this.intervalMs) {
      try {
        this.last = { at: now, value: this.check(), failed: false };
      } catch (error) {
        this.last = { at: now, error, failed: true };
      }
    }
    if (this.last.failed) throw this.last.error;
    return this.last.value as T;
  }
}

const outcome = <T>(probe: () => T): { ok: true; value: T } | { ok: false; error: string } => {
  try {
    return { ok: true, value: probe() };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
};

export class HealthService {
  private readonly probe: Recheck<void>;
  /** Pack damage found in each channel's repository, by its directory. */
  private readonly packs = new Map<string, Recheck<string[]>>();

  constructor(
    private readonly db: MessageDatabase,
    private readonly repositories: RepositoryService,
    private readonly intervalMs = RECHECK_MS,
  ) {
    this.probe = new Recheck(() => db.probe(), intervalMs);
  }

  check(): HealthReport {
    const database = outcome(() => {
      this.probe.get();
      return this.db.messageTotal();
    });
    const git = outcome(() => {
      const problems = this.repositories.health((channel) => this.packDamage(channel.store.gitdir).map((d) => `channel ${channel.fullName}: ${d}`));
      if (problems.length > 0) throw new Error(problems.join("; "));
      return this.repositories.list().length;
    });
    const ok = database.ok && git.ok;
    return {
      status: ok ? "ok" : "degraded",
      database: database.ok ? { ok: true, messages: database.value } : { ok: false, messages: 0, error: database.error },
      git: git.ok ? { ok: true, repositories: git.value } : { ok: false, repositories: 0, error: git.error },
    };
  }

  private packDamage(gitdir: string) {
    let recheck = this.packs.get(gitdir);
    if (!recheck) {
      recheck = new Recheck(() => inspectPacks(gitdir).map(describePackDamage), this.intervalMs);
      this.packs.set(gitdir, recheck);
    }
    return recheck.get();
  }
}
