#!/usr/bin/env bun
/** gitchat's command line: `serve` (the default), `rebuild`, `verify`. */
import { loadConfig } from "../config.ts";
import { AppError, ConfigError, DataDirLockedError } from "../errors.ts";
import { databasePath, defaultLog, dropDatabase, openGitchat } from "../gitchat.ts";
import { verifyGitchat } from "./verify.ts";

const USAGE = `usage: gitchat [command]

commands:
  serve     run the chat server (the default)
  rebuild   recreate the SQLite index from the git repositories
  verify    check that every message in git is in the index and the other way round
  help      show this

settings come from the environment or a .env file: PORT (8004), HOST (localhost),
DATA_DIR (./data), GITHUB_USERNAME, GITHUB_REPO_NAME`;

const serve = async () => {
  const config = loadConfig();
  const gitchat = await openGitchat(config);
  const server = gitchat.app.listen({ port: config.port, hostname: config.host, maxRequestBodySize: 1024 * 1024 });
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.server!.port}`;
  defaultLog(`gitchat listening on ${url} (data in ${config.dataDir})`);
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
  // Take the lock before deleting anything a running server may be using.
  const probe = await openGitchat(config, () => {});
  await probe.close();
  dropDatabase(config.dataDir);
  const gitchat = await openGitchat(config);
  const count = gitchat.db.countMessages();
  await gitchat.close();
  console.log(`rebuilt ${databasePath(config.dataDir)}: ${count} message(s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
};

const main = async (command = "serve") => {
  switch (command) {
    case "serve":
      return serve();
    case "rebuild":
      return rebuild();
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

main(process.argv[2]).catch((error) => {
  if (error instanceof ConfigError) {
    console.error(`gitchat: ${error.message}`);
    process.exit(2);
  }
  if (error instanceof DataDirLockedError || error instanceof AppError) {
    console.error(`gitchat: ${error.message}`);
    process.exit(1);
  }
  console.error(`gitchat: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
