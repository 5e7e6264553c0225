#!/usr/bin/env -S bun --no-env-file
/**
 * gitchat's command line: a table of commands (see command.ts), each parsed
 * strictly with node:util's parseArgs. `serve` is the default.
 *
 * Exit codes: 0 done; 1 the data needs attention or is busy (a damaged store
 * or index: the line names the command that repairs it; another gitchat owns
 * the directory; verify found differences; an unknown channel); 2 a setting,
 * the command line or the environment must change first (a bad value, an
 * unknown command or flag, empty text, a read-only data directory).
 */
import { loadConfig, loadDotenv } from "../config.ts";
import { createLog } from "../log.ts";
import { AppError, ConfigError, DataDirLockedError, InvalidInputError, ReadOnlyStorageError, storageFailure } from "../errors.ts";
import { databasePath, publicSigningKey, rebuildGitchat, repairGitchat } from "../gitchat.ts";
import type { Channel } from "../repositories/service.ts";
import type { PushReport } from "../sync/service.ts";
import pkg from "../../package.json" with { type: "json" };
import { commandHelp, parseCommand, UsageError, usageLine, type Command } from "./command.ts";
import { sendCommand, tailCommand } from "./chat.ts";
import { onDataDirOrServer } from "./client.ts";
import { terminalProgress } from "./progress.ts";
import { serve } from "./serve.ts";
import { verifyGitchat } from "./verify.ts";
import { setupCommand } from "./setup.ts";
import { exportCommand } from "./export.ts";
import { importCommand } from "./import.ts";
import { users } from "./users.ts";

/** Indexing progress on the terminal (nothing when stderr is not one). */
const indexingProgress = (channel: Channel) => terminalProgress(`${channel.fullName}: indexing`);

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
  const reports = await onDataDirOrServer(
    loadConfig(),
    async (gitchat) => {
      if (!gitchat.sync) throw new ConfigError("GitHub sync is off: set GITHUB_TOKEN and GITHUB_USERNAME");
      return command === "push" ? gitchat.sync.pushAll() : gitchat.sync.pullAll();
    },
    async (server) => {
      const body = await server.request<{ message: string; repositories: PushReport[] }>("POST", `/${command}`);
      if (body.repositories.length === 0) throw new ConfigError(body.message);
      return body.repositories;
    },
    { progress: indexingProgress },
  );
  for (const r of reports) console.log(`${r.success ? "ok    " : "FAILED"} ${r.repository}: ${r.message}`);
  process.exit(reports.every((r) => r.success) ? 0 : 1);
};

const signingKey = () => {
  const config = loadConfig();
  const key = publicSigningKey(config);
  if (!key) throw new ConfigError(`${config.dataDir} has no signing key yet: start gitchat once, and it makes one`);
  console.log(key.line);
  console.error(`fingerprint ${key.fingerprint}`);
};

const verify = async () => {
  const ok = await verifyGitchat(loadConfig());
  process.exit(ok ? 0 : 1);
};

const SETTINGS = `settings come from the environment or a .env file (values taken literally): PORT (8004), HOST (localhost),
DATA_DIR (./data), ACCESS_TOKEN, PUBLIC_URL, DURABILITY (full), TRUST_PROXY (false), GITHUB_TOKEN, GITHUB_USERNAME,
GITHUB_REPO_NAME, SYNC_INTERVAL (30), GITHUB_WEBHOOK_SECRET, COMMITTER_NAME (gitchat), COMMITTER_EMAIL
(gitchat@localhost), LOG_FORMAT (text); the README lists them all`;

/**
 * Every command, in the order `gitchat help` lists them. A new command is
 * one more entry here.
 */
const COMMANDS: Command[] = [
  { name: "serve", usage: "", summary: "run the chat server (the default)", run: () => serve() },
  {
    name: "rebuild",
    usage: "",
    summary: "recreate the SQLite index from the git repositories (a damaged one is moved aside)",
    run: rebuild,
  },
  {
    name: "verify",
    usage: "",
    summary: "check that git and the index hold the same messages, and that every commit is signed by a key the channel lists (read-only)",
    run: verify,
  },
  { name: "repair", usage: "", summary: "restore damaged repositories from their object stores (with no server running)", run: repair },
  { name: "push", usage: "", summary: "push every channel to GitHub now (for cron); exit 1 unless all are in sync", run: () => syncNow("push") },
  { name: "pull", usage: "", summary: "pull every channel from GitHub now", run: () => syncNow("pull") },
  sendCommand,
  tailCommand,
  {
    name: "users",
    usage: "add LOGIN [--name NAME] [--admin|--bot] | invite LOGIN | list | remove LOGIN | token LOGIN [--label LABEL]",
    summary: "manage accounts: add one (prints a one-time invite link), a new invite, list, remove, a personal API token (printed once)",
    options: {
      name: { type: "string", value: "NAME", help: "the display name of the account added" },
      admin: { type: "boolean", help: "the account added is an admin" },
      bot: { type: "boolean", help: "the account added is a bot (no invite: make it a token)" },
      label: { type: "string", value: "LABEL", help: "what the new token is for" },
    },
    positionals: true,
    // `users` reads its own arguments (the action and its login) after the table's strict check.
    run: () => users(loadConfig(), process.argv.slice(3)),
  },
  {
    name: "import",
    usage: "slack EXPORT.zip | mattermost EXPORT.jsonl [--channel NAME=OWNER/NAME ...]",
    summary: "bring a Slack workspace export or a Mattermost bulk export in (with no server running)",
    options: {
      channel: {
        type: "string",
        multiple: true,
        value: "NAME=OWNER/NAME",
        help: "put the channel NAME (Slack's name; TEAM/NAME for Mattermost) into OWNER/NAME (else a Slack channel goes into GITHUB_USERNAME or local, a Mattermost one into TEAM/NAME)",
      },
    },
    positionals: true,
    run: () => importCommand(loadConfig(), process.argv.slice(3)),
  },
  {
    name: "export",
    usage: "OWNER/NAME --format jsonl|markdown|html [--since DATE] [--output FILE]",
    summary: "write a channel out, oldest message first, to stdout or a file (beside a running server too)",
    options: {
      format: { type: "string", value: "jsonl|markdown|html", help: "JSON lines with every field, a Markdown transcript, or one HTML page" },
      since: { type: "string", value: "DATE", help: "only what was sent from this date (2026-11-24) or time (UTC) on" },
      output: { type: "string", short: "o", value: "FILE", help: "write to FILE instead of stdout" },
    },
    positionals: true,
    run: () => exportCommand(loadConfig(), process.argv.slice(3)),
  },
  setupCommand,
  {
    name: "signing-key",
    usage: "",
    summary: "print the public key that signs this server's commits (for GitHub's \"Verified\")",
    run: signingKey,
  },
  {
    name: "help",
    usage: "[COMMAND]",
    summary: "show the commands, or one command's usage and options",
    positionals: true,
    run: ({ positionals }) => {
      const [name, ...rest] = positionals;
      if (rest.length > 0) throw new UsageError(`gitchat help: unexpected argument ${rest[0]}`, usageLine(helpCommand()));
      if (name === undefined) return console.log(overview());
      console.log(commandHelp(find(name)));
    },
  },
];

const helpCommand = () => COMMANDS.find((c) => c.name === "help")!;

const overview = () => {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "usage: gitchat [command] [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "`gitchat help COMMAND` or `gitchat COMMAND --help` shows a command's options; `gitchat --version` its version.",
    "",
    SETTINGS,
  ].join("\n");
};

const find = (name: string) => {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`gitchat: unknown command ${JSON.stringify(name)}`, "usage: gitchat COMMAND [options] (`gitchat help` lists the commands)");
  return command;
};

const main = async (argv: string[]) => {
  const [first, ...rest] = argv;
  const alone = ["--version", "-v", "--help", "-h"].includes(first ?? "");
  if (alone && rest.length > 0) throw new UsageError(`gitchat ${first}: unexpected argument ${rest[0]}`, `usage: gitchat ${first}`);
  if (first === "--version" || first === "-v") return console.log(`gitchat ${pkg.version}`);
  if (first === "--help" || first === "-h") return console.log(overview());
  if (first !== undefined && first.startsWith("-")) {
    throw new UsageError(`gitchat: unknown option ${first}`, "usage: gitchat COMMAND [options] (`gitchat help` lists the commands)");
  }
  const command = find(first ?? "serve");
  const parsed = parseCommand(command, rest);
  if (parsed) await command.run(parsed);
};

const run = async (argv: string[]) => {
  // Before any command reads a setting: `.env` of the working directory, literally.
  loadDotenv(process.cwd());
  return main(argv);
};

/**
 * The line a failed command ends with, on stderr: `gitchat: <message>`; for
 * a server asked for LOG_FORMAT=json (a start-up refused: a damaged store,
 * a busy directory), one JSON object like its other log lines, so that a log
 * collector never meets a line it cannot read.
 */
const fail = (message: string, exitCode: number) => {
  const serving = [undefined, "serve"].includes(process.argv[2]);
  if (serving && process.env.LOG_FORMAT?.trim().toLowerCase() === "json") createLog("json", console.error)(message, { level: "error" });
  else console.error(`gitchat: ${message}`);
  process.exit(exitCode);
};

run(process.argv.slice(2)).catch((thrown) => {
  const error = storageFailure(thrown) ?? thrown;
  if (error instanceof UsageError) {
    console.error(`${error.message}\n${error.usage}`);
    process.exit(2);
  }
  if (error instanceof ConfigError || error instanceof ReadOnlyStorageError || error instanceof InvalidInputError) fail(error.message, 2);
  if (error instanceof DataDirLockedError || error instanceof AppError) fail(error.message, 1);
  // Not one of ours: one line still, never a stack trace.
  fail((error instanceof Error ? error.message : String(error)).split("\n")[0]!, 1);
});
