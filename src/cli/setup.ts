/**
 * `gitchat setup`: writes a `.env` with a fresh ACCESS_TOKEN (and the other
 * settings, commented), readable by its owner only, and makes the data
 * directory private. It never overwrites an existing `.env`.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { AppError } from "../errors.ts";

export const setup = (cwd: string, dataDir: string, print: (line: string) => void = console.log) => {
  const envPath = resolve(cwd, ".env");
  if (existsSync(envPath)) throw new AppError(`${envPath} exists already; edit it, or remove it and run setup again`);
  const token = randomBytes(24).toString("base64url");
  const text = [
    "# gitchat settings (read at start-up). Keep this file private: it holds secrets.",
    `ACCESS_TOKEN=${token}`,
    "# HOST=0.0.0.0          # listen beyond this machine (needs ACCESS_TOKEN)",
    "# PORT=8004",
    `# DATA_DIR=${dataDir}`,
    "# RATE_LIMIT=120        # messages a client may send a minute (0: no limit)",
    "# CORS_ORIGINS=         # other origins allowed to call the API from a browser",
    "# GITHUB_TOKEN=         # back channels up to GitHub and sync them",
    "# GITHUB_USERNAME=",
    "# GITHUB_REPO_NAME=general",
    "# GITHUB_WEBHOOK_SECRET= # lets GitHub's push webhook tell this server at once (16+ characters)",
    "# DURABILITY=full       # full: fsync before every answer; process: survives a crash, not a power cut",
    "# TRUST_PROXY=false     # true behind a reverse proxy that sets X-Forwarded-For and -Proto",
    "",
  ].join("\n");
  writeFileSync(envPath, text, { mode: 0o600, flag: "wx" });
  chmodSync(envPath, 0o600);
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  print(`wrote ${envPath} (readable by you only) with a new ACCESS_TOKEN; people log in with it, API clients send it as a bearer token`);
};
