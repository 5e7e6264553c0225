import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseDotenv } from "dotenv";
import { ConfigError } from "./errors.ts";
import { LOG_FORMATS, type LogFormat } from "./log.ts";

/** How far an acknowledged write is safe: `full` survives power loss, `process` survives the process dying. */
export type Durability = "full" | "process";

const DURABILITY_LEVELS: readonly Durability[] = ["full", "process"];

export type Config = {
  port: number;
  host: string;
  dataDir: string;
  /** The channel a message goes to when it names none, as "owner/name". */
  defaultRepository: { owner: string; name: string };
  /** Written into message files and commits until people log in by name. */
  author: string;
  /** The committer of every commit this server writes (and signs): GitHub shows "Verified" when this e-mail belongs to the account holding the signing key. */
  committer: { name: string; email: string };
  /** Loose objects in a channel before they are packed in the background. */
  packThreshold: number;
  /** `full`: a message is on the disk (fsynced) before it is acknowledged; `process`: it survives the process dying, not a power cut. */
  durability: Durability;
  /** The shared secret that people and API clients must present; open on loopback when absent. Never log it. */
  accessToken?: string;
  /** Messages a client may send a minute; 0 turns the limit off. */
  rateLimit: number;
  /** Origins allowed to call the API from a browser, besides the page's own. */
  corsOrigins: string[];
  /** Seconds a connection may send nothing before it is closed (slow or stuck clients). */
  idleTimeout: number;
  /** Believe X-Forwarded-Proto and X-Forwarded-For: only behind a proxy that sets them. */
  trustProxy: boolean;
  /**
   * PUBLIC_URL: the server's address as people reach it (invite links point
   * there; commit e-mails use its host). Undefined: http://localhost:PORT,
   * with the port the server listens on.
   */
  publicUrl?: string;
  /** `text` (the default) or `json`: one JSON object per log line. */
  logFormat: LogFormat;
  /** Present when GITHUB_TOKEN is set: sync every channel with GitHub. Holds the token: never log it. */
  github?: {
    token: string;
    apiUrl: string;
    gitUrl: string;
    /** Seconds between pulls. */
    syncInterval: number;
    /** GITHUB_WEBHOOK_SECRET: when set, GitHub's push webhook (`POST /github/webhook`) pulls a channel at once. Never log it. */
    webhookSecret?: string;
  };
  /**
   * "Sign in with GitHub", present when GITHUB_CLIENT_ID and
   * GITHUB_CLIENT_SECRET are set (an OAuth app's). Holds the secret: never log it.
   */
  githubSignIn?: {
    clientId: string;
    clientSecret: string;
    /** Where GitHub's OAuth pages are (`/login/oauth/authorize`, `/login/oauth/access_token`): GITHUB_OAUTH_URL. */
    oauthUrl: string;
    /** GitHub's REST API, to read the signed-in user: GITHUB_API_URL. */
    apiUrl: string;
    /** GITHUB_ALLOWED_USERS: logins (lower case) let in besides those with access to the default channel's repository. */
    allowedUsers: string[];
  };
};

type Env = Record<string, string | undefined>;

const nonEmpty = (value: string | undefined) =>
  value !== undefined && value.trim() !== "" ? value.trim() : undefined;

const parseInteger = (env: Env, key: string, fallback: number, min: number, max: number) => {
  const raw = nonEmpty(env[key]);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${key}=${JSON.stringify(raw)} is not valid: use a whole number from ${min} to ${max}`);
  }
  return Number(raw);
};

/**
 * Adds the settings of `.env` in `dir` to `env` where the real environment has
 * none (the real environment wins). Values are taken literally: `$HOME` in a
 * value stays `$HOME`. Bun's own loader would expand it, so gitchat runs with
 * that loader off (`env = false` in bunfig.toml, `--no-env-file`, and a binary
 * built with `--no-compile-autoload-dotenv`) and reads the file here instead.
 */
export const loadDotenv = (dir: string, env: Env = process.env) => {
  let text: string;
  try {
    text = readFileSync(resolve(dir, ".env"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new ConfigError(`${resolve(dir, ".env")} cannot be read (${(error as NodeJS.ErrnoException).code}): fix its permissions or remove it`);
  }
  for (const [key, value] of Object.entries(parseDotenv(text))) if (env[key] === undefined) env[key] = value;
};

const parseBoolean = (env: Env, key: string, fallback: boolean) => {
  const raw = nonEmpty(env[key])?.toLowerCase();
  if (raw === undefined) return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(`${key}=${JSON.stringify(env[key]!.trim())} is not valid: use true or false`);
};

/** Whether `token` is made of the characters a GitHub token can have (printable ASCII, no spaces). */
export const isTokenText = (token: string) => /^[\x21-\x7e]+$/.test(token);

/** DATA_DIR, as an absolute path (for `gitchat setup`, which runs before the other settings need to be right). */
export const dataDirOf = (env: Env = process.env) => resolve(nonEmpty(env.DATA_DIR) ?? "data");

/** GITHUB_API_URL (for `gitchat setup`, as above). */
export const githubApiUrlOf = (env: Env = process.env) => parseUrl(env, "GITHUB_API_URL", "https://api.github.com");

/** Reads and validates the environment (with `.env` merged in by `loadDotenv`). */
export const loadConfig = (env: Env = process.env): Config => {
  const host = nonEmpty(env.HOST) ?? "localhost";
  if (!/^[A-Za-z0-9.:\-\[\]]+$/.test(host)) {
    throw new ConfigError(`HOST=${JSON.stringify(host)} is not valid: use a host name or an IP address`);
  }
  const username = nonEmpty(env.GITHUB_USERNAME);
  const repoName = nonEmpty(env.GITHUB_REPO_NAME) ?? nonEmpty(env.REPOSITORY_NAME);
  return {
    port: parseInteger(env, "PORT", 8004, 0, 65535),
    host,
    dataDir: dataDirOf(env),
    defaultRepository: { owner: username ?? "local", name: repoName ?? "general" },
    author: username ?? "local",
    committer: committerSettings(env),
    packThreshold: parseInteger(env, "PACK_THRESHOLD", 4000, 10, 10_000_000),
    durability: parseDurability(env),
    publicUrl: publicUrl(env),
    logFormat: parseLogFormat(env),
    github: githubSettings(env),
    githubSignIn: githubSignInSettings(env),
    ...accessSettings(env, host),
  };
};

/**
 * COMMITTER_NAME and COMMITTER_EMAIL. The e-mail is also the principal of the
 * server's line in a channel's allowed-signers file, where a space, a comma
 * or a quote would split or end it.
 */
const committerSettings = (env: Env): Config["committer"] => {
  const name = nonEmpty(env.COMMITTER_NAME) ?? "gitchat";
  const email = nonEmpty(env.COMMITTER_EMAIL) ?? "gitchat@localhost";
  if (/[<>\n\r\0]/.test(name)) throw new ConfigError(`COMMITTER_NAME=${JSON.stringify(name)} is not valid: a name cannot hold <, > or line breaks`);
  if (!/^[^\s<>,"@]+@[^\s<>,"@]+$/.test(email)) {
    throw new ConfigError(`COMMITTER_EMAIL=${JSON.stringify(email)} is not valid: use one e-mail address such as chat@example.com (no spaces, commas or quotes)`);
  }
  return { name, email };
};

const parseDurability = (env: Env): Durability => {
  const raw = nonEmpty(env.DURABILITY) ?? "full";
  const level = DURABILITY_LEVELS.find((l) => l === raw);
  if (!level) {
    throw new ConfigError(`DURABILITY=${JSON.stringify(raw)} is not valid: use full (survives power loss) or process (survives a crash only)`);
  }
  return level;
};

const parseLogFormat = (env: Env): LogFormat => {
  const raw = nonEmpty(env.LOG_FORMAT)?.toLowerCase() ?? "text";
  const format = LOG_FORMATS.find((f) => f === raw);
  if (!format) throw new ConfigError(`LOG_FORMAT=${JSON.stringify(env.LOG_FORMAT!.trim())} is not valid: use text or json`);
  return format;
};

/** Addresses only this machine can reach. */
export const isLoopback = (host: string) =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

const accessSettings = (env: Env, host: string) => {
  const accessToken = nonEmpty(env.ACCESS_TOKEN);
  if (accessToken !== undefined && (accessToken.length < 12 || !/^[\x21-\x7e]+$/.test(accessToken))) {
    throw new ConfigError("ACCESS_TOKEN is too weak: use at least 12 printable characters without spaces (e.g. `openssl rand -hex 24`)");
  }
  if (accessToken === undefined && !isLoopback(host)) {
    throw new ConfigError(
      `HOST=${JSON.stringify(host)} would let other machines in, and ACCESS_TOKEN is not set: set ACCESS_TOKEN, or bind to localhost`,
    );
  }
  const corsOrigins = (nonEmpty(env.CORS_ORIGINS) ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean)
    .map((origin) => {
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        throw new ConfigError(`CORS_ORIGINS holds ${JSON.stringify(origin)}, which is not an origin such as https://chat.example.com`);
      }
      if (url.origin !== origin.replace(/\/$/, "")) {
        throw new ConfigError(`CORS_ORIGINS holds ${JSON.stringify(origin)}: give origins only (scheme, host, port), such as ${url.origin}`);
      }
      return url.origin;
    });
  return {
    accessToken,
    rateLimit: parseInteger(env, "RATE_LIMIT", 120, 0, 1_000_000),
    corsOrigins,
    idleTimeout: parseInteger(env, "IDLE_TIMEOUT", 30, 2, 255),
    trustProxy: parseBoolean(env, "TRUST_PROXY", false),
  };
};

const parseUrl = (env: Env, key: string, fallback: string) => {
  const raw = nonEmpty(env[key]) ?? fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${key}=${JSON.stringify(raw)} is not valid: use a URL such as ${fallback}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(`${key}=${JSON.stringify(raw)} is not valid: use an http(s) URL such as ${fallback}`);
  }
  if (url.username || url.password) {
    throw new ConfigError(`${key} must not hold credentials; put the token in GITHUB_TOKEN`);
  }
  return raw.replace(/\/+$/, "");
};

/** PUBLIC_URL: an http(s) origin, optionally with a path (behind a proxy that serves gitchat under one); no trailing slash kept. */
const publicUrl = (env: Env) => {
  const raw = nonEmpty(env.PUBLIC_URL);
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {}
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password || url.search || url.hash) {
    throw new ConfigError(`PUBLIC_URL=${JSON.stringify(raw)} is not valid: use the address people open, such as https://chat.example.com`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
};

/** The webhook's shared secret, checked even while sync is off, so a weak one is refused before anyone relies on it. */
const webhookSecret = (env: Env) => {
  const secret = nonEmpty(env.GITHUB_WEBHOOK_SECRET);
  if (secret !== undefined && (secret.length < 16 || !/^[\x21-\x7e]+$/.test(secret))) {
    throw new ConfigError(
      "GITHUB_WEBHOOK_SECRET is too weak: use at least 16 printable characters without spaces (e.g. `openssl rand -hex 32`), and the same in the webhook's settings on GitHub",
    );
  }
  return secret;
};

const githubSettings = (env: Env): Config["github"] => {
  const secret = webhookSecret(env);
  const token = nonEmpty(env.GITHUB_TOKEN);
  if (token === undefined) return undefined;
  if (!isTokenText(token)) throw new ConfigError("GITHUB_TOKEN is not valid: it holds spaces or characters a token cannot have");
  if (nonEmpty(env.GITHUB_USERNAME) === undefined) {
    throw new ConfigError("GITHUB_TOKEN is set but GITHUB_USERNAME is not: set it to the owner of the default channel's repository");
  }
  return {
    token,
    apiUrl: githubApiUrlOf(env),
    gitUrl: parseUrl(env, "GITHUB_GIT_URL", "https://github.com"),
    syncInterval: parseInteger(env, "SYNC_INTERVAL", 30, 1, 86_400),
    webhookSecret: secret,
  };
};

/** GitHub's rule for logins, as GITHUB_ALLOWED_USERS must follow it. */
const GITHUB_LOGIN = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}$/i;

const githubSignInSettings = (env: Env): Config["githubSignIn"] => {
  const clientId = nonEmpty(env.GITHUB_CLIENT_ID);
  const clientSecret = nonEmpty(env.GITHUB_CLIENT_SECRET);
  const allowed = (nonEmpty(env.GITHUB_ALLOWED_USERS) ?? "").split(",").map((login) => login.trim()).filter(Boolean);
  const wrong = allowed.find((login) => !GITHUB_LOGIN.test(login));
  if (wrong !== undefined) {
    throw new ConfigError(`GITHUB_ALLOWED_USERS holds ${JSON.stringify(wrong)}, which is not a GitHub login: list logins separated by commas`);
  }
  if (clientId === undefined && clientSecret === undefined) return undefined;
  if (clientId === undefined || clientSecret === undefined) {
    throw new ConfigError(
      `${clientId === undefined ? "GITHUB_CLIENT_SECRET is set but GITHUB_CLIENT_ID is not" : "GITHUB_CLIENT_ID is set but GITHUB_CLIENT_SECRET is not"}: set both, from the OAuth app's page on GitHub, for "Sign in with GitHub"`,
    );
  }
  for (const [key, value] of [["GITHUB_CLIENT_ID", clientId], ["GITHUB_CLIENT_SECRET", clientSecret]] as const) {
    if (!/^[\x21-\x7e]+$/.test(value)) throw new ConfigError(`${key} is not valid: it holds spaces or characters an OAuth app's ${key === "GITHUB_CLIENT_ID" ? "client id" : "secret"} cannot have`);
  }
  return {
    clientId,
    clientSecret,
    oauthUrl: parseUrl(env, "GITHUB_OAUTH_URL", "https://github.com"),
    apiUrl: githubApiUrlOf(env),
    allowedUsers: allowed.map((login) => login.toLowerCase()),
  };
};
