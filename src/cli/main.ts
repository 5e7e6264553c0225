#!/usr/bin/env -S bun --no-env-file
/**
 * gitchat's command line: `serve` (the default), `rebuild`, `verify`,
 * `repair`, `push`, `pull`, `setup`, `signing-key`.
 *
 * Exit codes: 0 done; 1 the data needs attention or is busy (a damaged store
 * or index: the line names the command that repairs it; another gitchat owns
 * the directory; verify found differences); 2 a setting or the environment
 * must change first (a bad value, a read-only data directory, an unknown command).
 */
import { loadConfig, loadDotenv } from "../config.ts";
import { AppError, ConfigError, DataDirLockedError, ReadOnlyStorageError, storageFailure } from "../errors.ts";
import { databasePath, defaultLog, openGitchat, publicSigningKey, rebuildGitchat, repairGitchat, type Gitchat } from "../gitchat.ts";
import type { Channel } from "../repositories/service.ts";
import type { PushReport } from "../sync/service.ts";
import { terminalProgress } from "./progress.ts";
import { verifyGitchat } from "./verify.ts";
import { setup } from "./setup.ts";
import { exportCommand } from "./export.ts";
import { importCommand } from "./import.ts";
import { callServer, users } from "./users.ts";

const USAGE = `usage: gitchat [command]

commands:
  serve     run the chat server (the default)
  rebuild   recreate the SQLite index from the git repositories (a damaged one is moved aside)
  verify    check that every message in git is in the index and the other way round, and that every
            commit is signed by a key the channel lists (read-only)
  repair    restore damaged repositories from their object stores (with no server running)
  push      push every channel to GitHub now (for cron); exit 1 unless all are in sync
  pull      pull every channel from GitHub now
  setup     write a private .env with a new ACCESS_TOKEN
  signing-key
            print the public key that signs this server's commits (for GitHub's "Verified")
  import    import slack EXPORT.zip [--channel NAME=OWNER/NAME ...]: a Slack workspace export, with no server running
  export    write a channel out: export OWNER/NAME --format jsonl|markdown|html [--since DATE] [--output FILE]
  users     manage accounts: users add LOGIN [--name NAME] [--admin|--bot] (prints an invite link),
            users invite LOGIN (a new link), users list, users remove LOGIN,
            users token LOGIN (prints a new personal API token once)
  help      show this

settings come from the environment or a .env file (values taken literally): PORT (8004), HOST (localhost),
DATA_DIR (./data), ACCESS_TOKEN, PUBLIC_URL, DURABILITY (full), TRUST_PROXY (false), GITHUB_TOKEN, GITHUB_USERNAME,
GITHUB_REPO_NAME, SYNC_INTERVAL (30), GITHUB_WEBHOOK_SECRET, COMMITTER_NAME (gitchat), COMMITTER_EMAIL
(gitchat@localhost); the README lists them all`;

/** Indexing progress on the terminal (nothing when stderr is not one). */
const indexingProgress = (channel: Channel) => terminalProgress(`${channel.fullName}: indexing`);

const serve = async () => {
  const config = loadConfig();
  const gitchat = await openGitchat(config);
  // idleTimeout closes connections that send nothing for a while (slow or stuck clients); live streams ping every 15 s.
  const server = gitchat.app.listen({
    port: config.port,
    hostname: config.host,
    maxRequestBodySize: 1024 * 1024,
    idleTimeout: config.idleTimeout,
  });
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.server!.port}`;

  gitchat.listening(url, server.server!.port!);
  defaultLog(`gitchat listening on ${url} (data in ${config.dataDir})`);
  if (gitchat.sync) {
    defaultLog(`syncing with GitHub every ${config.github!.syncInterval} s`);
    gitchat.sync.start();
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    defaultLog(`${signal}: finishing pending writes and stopping`);
    await server.stop();
    await gitchat.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
};

const rebuild = async () => {
  const config = loadConfig();
  const started = performance.now();
  const { gitchat, movedAside } = await rebuildGitchat(config, undefined, { progress: indexingProgress });
  if (movedAside) console.log(`the index could not be read: moved it aside to ${movedAside}`);
  const count = gitchat.db.countMessages();
  await gitchat.close();
  console.log(`rebuilt ${databasePath(config.dataDir)}: ${count} message(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
};

const repair = async () => {
  for (const line of await repairGitchat(loadConfig())) console.log(line);
};

/**
 * `gitchat push` / `gitchat pull`, for cron. When a server owns the data
 * directory the work is handed to it (POST /push), so only one process ever
 * writes a repository; otherwise this process opens the directory itself.
 */
const syncNow = async (command: "push" | "pull") => {
  const config = loadConfig();
  let reports: PushReport[];
  let gitchat: Gitchat | undefined;
  try {
    gitchat = await openGitchat(config, () => {}, { progress: indexingProgress });
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
  }
  if (gitchat) {
    try {
      if (!gitchat.sync) throw new ConfigError("GitHub sync is off: set GITHUB_TOKEN and GITHUB_USERNAME");
      reports = command === "push" ? await gitchat.sync.pushAll() : await gitchat.sync.pullAll();
    } finally {
      await gitchat.close();
    }
  } else {
    const body = (await callServer(config, "POST", `/${command}`)) as { message: string; repositories: PushReport[] };
    if (body.repositories.length === 0) throw new ConfigError(body.message);
    reports = body.repositories;
  }
  for (const r of reports) console.log(`${r.success ? "ok    " : "FAILED"} ${r.repository}: ${r.message}`);
  process.exit(reports.every((r) => r.success) ? 0 : 1);
};

const main = async (command = "serve") => {
  switch (command) {
    case "serve":
      return serve();
    case "rebuild":
      return rebuild();
    case "repair":
      return repair();
    case "push":
    case "pull":
      return syncNow(command);
    case "users":
      return users(loadConfig(), process.argv.slice(3));
    case "export":
      return exportCommand(loadConfig(), process.argv.slice(3));
    case "import":
      return importCommand(loadConfig(), process.argv.slice(3));
    case "setup":
      return setup(process.cwd(), loadConfig().dataDir);
    case "signing-key": {
      const config = loadConfig();
      const key = publicSigningKey(config);
      if (!key) throw new ConfigError(`${config.dataDir} has no signing key yet: start gitchat once, and it makes one`);
      console.log(key.line);
      console.error(`fingerprint ${key.fingerprint}`);
      return;
    }
    case "verify": {
      const ok = await verifyGitchat(loadConfig());
      process.exit(ok ? 0 : 1);
    }
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return;
    default:
      console.error(`gitchat: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      process.exit(2);
  }
};

const run = async (command: string | undefined) => {
  // Before any command reads a setting: `.env` of the working directory, literally.
  loadDotenv(process.cwd());
  return main(command);
};

run(process.argv[2]).catch((thrown) => {
  const error = storageFailure(thrown) ?? thrown;
  if (error instanceof ConfigError || error instanceof ReadOnlyStorageError) {
    console.error(`gitchat: ${error.message}`);
    process.exit(2);
  }
  if (error instanceof DataDirLockedError || error instanceof AppError) {
    console.error(`gitchat: ${error.message}`);
    process.exit(1);
  }
  // Not one of ours: one line still, never a stack trace.
  console.error(`gitchat: ${(error instanceof Error ? error.message : String(error)).split("\n")[0]}`);
  process.exit(1);
});
