/**
 * `gitchat setup`: writes the `.env` a server starts from, readable by its
 * owner only, and a `.env.example` beside it with no secret in it.
 *
 * On a terminal it asks for the GitHub token (never echoed; blank for a local
 * chat with no GitHub sync), the GitHub user and the default channel's
 * repository; otherwise it takes them from flags, the token from stdin
 * (`--with-token`, as `gh auth login` does: a token on the command line would
 * show in `ps` and in the shell's history). Before writing anything it asks
 * GitHub who the token is and whether it may create and push to the
 * repositories gitchat makes (see `checkToken`). It never overwrites a `.env`
 * without asking (or `--force`, for scripts), and never prints a token.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { read } from "read";
import { dataDirOf, githubApiUrlOf, isTokenText } from "../config.ts";
import { AppError, ConfigError, InvalidInputError, RemoteAuthError, RemoteUnavailableError } from "../errors.ts";
import { createGitHub, type GitHub, type TokenOwner } from "../github/client.ts";
import { checkName, checkOwner } from "../repositories/names.ts";
import { type Command, type Parsed } from "./command.ts";

/**
 * What the `.env` will hold besides a new ACCESS_TOKEN: GitHub's part, when a
 * token was given; `urls`, GITHUB_API_URL and GITHUB_GIT_URL as set for this
 * run (GitHub Enterprise), so that the server talks to the GitHub that setup checked.
 */
type GitHubPart = { token: string; user: string; repo: string; urls: string[] };

/** The lines of the `.env`, or of the `.env.example` (`secrets: false`: every secret left empty). */
const envText = (dataDir: string, accessToken: string, github: GitHubPart | undefined, secrets: boolean) =>
  [
    secrets
      ? "# gitchat settings (read at start-up). Keep this file private: it holds secrets."
      : "# gitchat settings: copy to .env and fill in the secrets (gitchat setup does both). Values are taken literally.",
    `ACCESS_TOKEN=${secrets ? accessToken : ""}`,
    ...(github
      ? [`GITHUB_TOKEN=${secrets ? github.token : ""}`, `GITHUB_USERNAME=${github.user}`, `GITHUB_REPO_NAME=${github.repo}`, ...github.urls]
      : ["# GITHUB_TOKEN=         # back channels up to GitHub and sync them", "# GITHUB_USERNAME=", "# GITHUB_REPO_NAME=general"]),
    "# HOST=0.0.0.0          # listen beyond this machine (needs ACCESS_TOKEN)",
    "# PORT=8004",
    `# DATA_DIR=${dataDir}`,
    "# PUBLIC_URL=           # the address people open, e.g. https://chat.example.com",
    "# RATE_LIMIT=120        # messages a client may send a minute (0: no limit)",
    "# CORS_ORIGINS=         # other origins allowed to call the API from a browser",
    "# GITHUB_WEBHOOK_SECRET= # lets GitHub's push webhook tell this server at once (16+ characters)",
    "# DURABILITY=full       # full: fsync before every answer; process: survives a crash, not a power cut",
    "# TRUST_PROXY=false     # true behind a reverse proxy that sets X-Forwarded-For and -Proto",
    "# LOG_FORMAT=text       # json: one JSON object per line",
    "",
  ].join("\n");

/** Writes `path` whole (a temporary file renamed into place), with `mode` even when it replaces a file that had another. */
const writeWhole = (path: string, text: string, mode: number) => {
  const temporary = `${path}.tmp-${process.pid}`;
  rmSync(temporary, { force: true });
  writeFileSync(temporary, text, { mode, flag: "wx" });
  chmodSync(temporary, mode);
  renameSync(temporary, path);
};

/**
 * What GitHub says of the token (GET /user): who it is, and its scopes. A
 * classic token (or an OAuth app's) lists them in X-OAuth-Scopes, and
 * gitchat needs `repo`: its repositories are private (`public_repo` could
 * not create them). A fine-grained token lists none, and GitHub has no call
 * that shows its permissions: see `checkRepository`. Throws a ConfigError,
 * naming what to change, for a token that cannot work.
 */
export const checkTokenOwner = async (github: GitHub): Promise<TokenOwner> => {
  let owner: TokenOwner;
  try {
    owner = await github.tokenOwner();
  } catch (error) {
    if (error instanceof RemoteAuthError) {
      throw new ConfigError("GitHub refused the token (401 Bad credentials): check that it was copied whole and has not expired or been revoked; nothing was written");
    }
    if (error instanceof RemoteUnavailableError) throw new RemoteUnavailableError(`GitHub could not be reached to check the token: try again later; nothing was written`);
    throw error;
  }
  const { login, scopes } = owner;
  if (scopes && !scopes.includes("repo")) {
    throw new ConfigError(
      `the token of ${login} has the scopes ${scopes.length ? scopes.join(", ") : "(none)"}, not repo: gitchat creates private repositories and pushes to them; ` +
        "make a classic token with the repo scope, or a fine-grained one with Contents: read and write and Administration: read and write; nothing was written",
    );
  }
  return owner;
};

/**
 * Whether the token's user may push to `user/repo` (`permissions.push`) when
 * it exists, or create it when it does not (gitchat creates repositories
 * only under the token's user; a fine-grained token's right to create one
 * shows only at the first start). Returns the lines to print; throws a
 * ConfigError for a repository the token cannot work with.
 */
export const checkRepository = async (github: GitHub, { login, scopes }: TokenOwner, user: string, repo: string) => {
  const notes = [`the token is ${login}'s${scopes ? ` (scopes: ${scopes.join(", ")})` : " (fine-grained: no scopes to list)"}`];
  const existing = await github.getRepository(user, repo);
  if (existing) {
    if (!existing.canPush) throw new ConfigError(`${login} may not push to ${user}/${repo} on GitHub: use a repository they may push to; nothing was written`);
    notes.push(`${user}/${repo} is on GitHub, and ${login} may push to it`);
  } else if (user.toLowerCase() !== login.toLowerCase()) {
    throw new ConfigError(
      `${user}/${repo} does not exist on GitHub (or ${login} cannot see it), and gitchat creates repositories only under the token's user: create it there, or choose ${login} as the user; nothing was written`,
    );
  } else {
    const unless = scopes ? "" : " if the token has Administration: read and write";
    notes.push(`${user}/${repo} is not on GitHub yet: the first start creates it (private)${unless}`);
  }
  return notes;
};

/** Reads a whole stream (stdin for `--with-token`). */
const readAll = async (stream: NodeJS.ReadableStream) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
};

const checkedToken = (token: string) => {
  if (!isTokenText(token)) throw new InvalidInputError("the GitHub token holds spaces or characters a token cannot have: paste it alone, on one line");
  return token;
};

const checkedUser = (user: string) => {
  checkOwner(user);
  return user;
};

const checkedRepo = (repo: string) => {
  checkName(repo);
  return repo;
};

export type SetupIo = {
  /** Whether to ask (stdin is a terminal). */
  interactive: boolean;
  ask: (question: { prompt: string; default?: string; silent?: boolean }) => Promise<string>;
  stdin: () => Promise<string>;
  print: (line: string) => void;
  env: Record<string, string | undefined>;
};

const terminalIo = (): SetupIo => ({
  interactive: process.stdin.isTTY === true,
  // `read` mutes the terminal for a silent question: nothing typed is shown, not even stars.
  ask: ({ prompt, default: fallback, silent }) => read({ prompt, default: fallback, silent, replace: "", output: process.stderr }),
  stdin: () => readAll(process.stdin),
  print: (line) => console.log(line),
  env: process.env,
});

export const setup = async (cwd: string, values: Parsed["values"], io: SetupIo = terminalIo()) => {
  const envPath = resolve(cwd, ".env");
  const examplePath = resolve(cwd, ".env.example");
  const force = values.force === true;
  const dataDir = dataDirOf(io.env);
  const asked = io.interactive && values["with-token"] !== true;

  if (existsSync(envPath) && !force) {
    if (!asked) throw new AppError(`${envPath} exists already: run gitchat setup --force to replace it (its settings are lost), or edit it`);
    const answer = (await io.ask({ prompt: `${envPath} exists already. Replace it (its settings are lost)? [y/N] ` })).trim().toLowerCase();
    if (answer !== "y" && answer !== "yes") {
      io.print(`kept ${envPath}; nothing was written`);
      return;
    }
  }

  let token: string | undefined;
  if (values["with-token"] === true) {
    token = (await io.stdin()).trim();
    if (token === "") throw new InvalidInputError("--with-token reads the GitHub token from stdin, and stdin was empty");
  } else if (asked) {
    token = (await io.ask({ prompt: "GitHub token (input hidden; blank: no GitHub sync, a local chat): ", silent: true })).trim() || undefined;
  }
  let github: GitHubPart | undefined;
  const notes: string[] = [];
  if (token !== undefined) {
    checkedToken(token);
    const apiUrl = githubApiUrlOf(io.env);
    const client = createGitHub({ token, apiUrl });
    // GitHub may be slow, or retried for a while: say what is being waited for.
    if (asked) io.print(`checking the token with GitHub (${apiUrl})...`);
    // Who the token is comes first: it is the user's default.
    const owner = await checkTokenOwner(client);
    const user = checkedUser(
      typeof values.user === "string" ? values.user : asked ? (await io.ask({ prompt: "GitHub user that owns the channels:", default: owner.login })).trim() : owner.login,
    );
    const repo = checkedRepo(
      typeof values.repo === "string" ? values.repo : asked ? (await io.ask({ prompt: "Repository of the default channel:", default: "general" })).trim() : "general",
    );
    notes.push(...(await checkRepository(client, owner, user, repo)));
    const urls = ["GITHUB_API_URL", "GITHUB_GIT_URL"].flatMap((key) => (io.env[key]?.trim() ? [`${key}=${io.env[key]!.trim()}`] : []));
    github = { token, user, repo, urls };
  } else if (values.user !== undefined || values.repo !== undefined) {
    throw new InvalidInputError("--user and --repo are GitHub's: give the token too (--with-token, from stdin), or leave them out for a local chat");
  }

  const accessToken = randomBytes(24).toString("base64url");
  writeWhole(envPath, envText(dataDir, accessToken, github, true), 0o600);
  const wroteExample = force || !existsSync(examplePath);
  if (wroteExample) writeWhole(examplePath, envText(dataDir, accessToken, github, false), 0o644);
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  io.print(
    `wrote ${envPath} (readable by you only) with a new ACCESS_TOKEN (people log in with it, API clients send it as a bearer token)` +
      (github ? `, and GitHub sync of ${github.user}/${github.repo}` : "; no GitHub sync (run gitchat setup again with a token to add it)"),
  );
  for (const note of notes) io.print(`  ${note}`);
  io.print(wroteExample ? `wrote ${examplePath} (the same settings, no secrets: safe to share)` : `kept ${examplePath}`);
};

export const setupCommand: Command = {
  name: "setup",
  usage: "[--with-token] [--user LOGIN] [--repo NAME] [--force]",
  summary: "write a private .env (a new ACCESS_TOKEN, and GitHub sync once the token is checked with GitHub) and a .env.example",
  details:
    "On a terminal it asks for the GitHub token (not shown as you type; blank for a local chat), the user and the repository.\n" +
    "Otherwise: the token from stdin with --with-token (echo \"$TOKEN\" | gitchat setup --with-token --user alice), or none.\n" +
    "It never replaces a .env without asking (or --force), and never prints a token.",
  options: {
    "with-token": { type: "boolean", help: "read the GitHub token from stdin (for scripts; a token is never taken as an argument)" },
    user: { type: "string", value: "LOGIN", help: "the GitHub user that owns the channels (GITHUB_USERNAME; default: the token's user)" },
    repo: { type: "string", value: "NAME", help: "the default channel's repository (GITHUB_REPO_NAME; default: general)" },
    force: { type: "boolean", help: "replace an existing .env and .env.example without asking" },
  },
  run: ({ values }) => setup(process.cwd(), values),
};
