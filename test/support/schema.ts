/**
 * An index made by an older gitchat: the schema of an earlier version (its
 * first migrations) in a new SQLite file, for tests of the upgrade.
 */
import { Database } from "bun:sqlite";
import { MIGRATIONS } from "../../src/db/database.ts";

/** A new database at `path` at schema version `version`, in WAL mode as every version made it; the caller fills and closes it. */
export const databaseAtVersion = (path: string, version: number) => {
  const db = new Database(path, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  for (const migration of MIGRATIONS.slice(0, version)) db.run(migration);
  db.run(`PRAGMA user_version = ${version}`);
  return db;
};
