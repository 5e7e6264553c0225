import { resolve } from "node:path";
import { ConfigError } from "./errors.ts";

export type Config = {
  port: number;
  host: string;
  dataDir: string;
  /** The channel a message goes to when it names none, as "owner/name". */
  defaultRepository: { owner: string; name: string };
  /** Written into message files and commits until people log in by name. */
  author: string;
  /** Loose objects in a channel before they are packed in the background. */
  packThreshold: number;
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

/** Reads and validates the environment (Bun has already merged `.env` into it). */
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
    dataDir: resolve(nonEmpty(env.DATA_DIR) ?? "data"),
    defaultRepository: { owner: username ?? "local", name: repoName ?? "general" },
    author: username ?? "local",
    packThreshold: parseInteger(env, "PACK_THRESHOLD", 4000, 10, 10_000_000),
  };
};
