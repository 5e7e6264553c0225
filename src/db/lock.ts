/**
 * One server owns a data directory. The lock is an SQLite file held in
 * exclusive locking mode: the kernel drops it when the process dies, however
 * it dies, so a lock left by a kill -9 never blocks the next start, and no
 * PID file can go stale.
 */
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { DataDirLockedError } from "../errors.ts";

export type DataDirLock = { release(): void };

export const lockDataDir = (dataDir: string): DataDirLock => {
  const path = join(dataDir, "gitchat.lock");
  const db = new Database(path, { create: true });
  try {
    db.run("PRAGMA locking_mode = EXCLUSIVE");
    db.run("PRAGMA busy_timeout = 0");
    // A write transaction takes the exclusive lock; in this mode it is kept after commit.
    db.run("CREATE TABLE IF NOT EXISTS owner (pid INTEGER)");
    db.run("BEGIN EXCLUSIVE");
    db.run("DELETE FROM owner");
    db.run("INSERT INTO owner (pid) VALUES (?)", [process.pid]);
    db.run("COMMIT");
  } catch (error) {
    db.close();
    if (/locked|busy/i.test(String(error))) {
      throw new DataDirLockedError(
        `${dataDir} is in use by another gitchat; stop that one first, or give this one its own DATA_DIR`,
      );
    }
    throw error;
  }
  return { release: () => db.close() };
};
