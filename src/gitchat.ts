/**
 * The composition root: opens a data directory (lock, database, channels),
 * brings the index up to date with git, and wires the services and the HTTP
 * app. The CLI and the tests both start gitchat through here.
 */
import { chmodSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "./config.ts";
import { openDatabase } from "./db/database.ts";
import { makeDirectory } from "./git/durable.ts";
import { lockDataDir } from "./db/lock.ts";
import { createApp } from "./http/app.ts";
import { MessageService } from "./messages/service.ts";
import { RepositoryService } from "./repositories/service.ts";
import { createGitHub, type GitHub } from "./github/client.ts";
import { SyncService, type SyncSettings } from "./sync/service.ts";
import pkg from "../package.json" with { type: "json" };

export type Log = (line: string) => void;

export const defaultLog: Log = (line) => console.log(`${new Date().toISOString()} ${line}`);

export const databasePath = (dataDir: string) => join(dataDir, "gitchat.db");

export type OpenOptions = {
  now?: () => number;
  /** Tests pass a GitHub client tuned for speed. */
  github?: GitHub;
  sync?: Partial<Pick<SyncSettings, "debounceMs" | "maxBackoffMs">>;
};

export const openGitchat = async (config: Config, log: Log = defaultLog, options: OpenOptions = {}) => {
  if (!existsSync(config.dataDir)) makeDirectory(config.dataDir, config.durability === "full", 0o700);
  const lock = lockDataDir(config.dataDir);
  try {
    const db = openDatabase(databasePath(config.dataDir), config.durability === "full");
    if (db.fresh) log(`database ${databasePath(config.dataDir)} is new; indexing the git history`);
    const repositories = await RepositoryService.open(db, config.dataDir, config.defaultRepository, {
      packThreshold: config.packThreshold,
      durability: config.durability,
      onPackError: (error) => log(`packing failed: ${(error as Error).message}`),
    });
    const { owner, name } = config.defaultRepository;
    const defaultRepository = repositories.resolve(`${owner}/${name}`).fullName;
    const messages = new MessageService(db, repositories, { author: config.author, defaultRepository, now: options.now });
    for (const channel of repositories.list()) {
      const report = await messages.index(channel);
      if (report.indexed > 0) log(`${channel.fullName}: indexed ${report.indexed} message(s) from git`);
      for (const problem of report.problems) log(`${channel.fullName}: ${problem}`);
    }
    const sync = config.github
      ? new SyncService(
          db,
          repositories,
          messages,
          options.github ?? createGitHub({ token: config.github.token, apiUrl: config.github.apiUrl }),
          { token: config.github.token, gitUrl: config.github.gitUrl, intervalMs: config.github.syncInterval * 1000, ...options.sync },
          log,
        )
      : undefined;
    const app = createApp({
      db,
      messages,
      repositories,
      sync,
      log,
      version: pkg.version,
      defaultRepository,
      access: { accessToken: config.accessToken, corsOrigins: config.corsOrigins, rateLimit: config.rateLimit, trustProxy: config.trustProxy },
      githubWebhookSecret: config.github?.webhookSecret,
    });
    const close = async () => {
      await messages.settled();
      await sync?.stop();
      await repositories.close();
      db.close();
      lock.release();
    };
    return { config, db, repositories, messages, sync, app, close };
  } catch (error) {
    lock.release();
    throw error;
  }
};

export type Gitchat = Awaited<ReturnType<typeof openGitchat>>;

/** Deletes the SQLite index, so that the next open rebuilds it from git. */
export const dropDatabase = (dataDir: string) => {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${databasePath(dataDir)}${suffix}`, { force: true });
};

export const makePrivate = (path: string) => {
  if (existsSync(path)) chmodSync(path, 0o700);
};
