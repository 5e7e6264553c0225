/**
 * The CLI talking to the gitchat that owns the data directory (`push`,
 * `pull`, `send`, `tail` while a server runs): its URL from HOST and PORT,
 * the access token from ACCESS_TOKEN as a bearer token, and its JSON errors
 * turned back into the errors they stand for, so the CLI's exit codes are
 * the same either way.
 */
import type { Config } from "../config.ts";
import { AppError, ConfigError, DataDirLockedError, InvalidInputError, UnknownRepositoryError } from "../errors.ts";
import { openGitchat, readControl, type Gitchat, type OpenOptions } from "../gitchat.ts";

/** Where the server listens, as this machine reaches it: a server on every address is reached on loopback. */
export const serverUrl = (config: Pick<Config, "host" | "port">) => {
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host === "::" || config.host === "[::]" ? "::1" : config.host;
  return `http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${config.port}`;
};

const answerError = async (response: Response) => {
  let error: { code?: string; message?: string } = {};
  try {
    error = ((await response.json()) as { error?: typeof error }).error ?? {};
  } catch {}
  const message = error.message ?? `the server answered ${response.status}`;
  if (response.status === 401) return new ConfigError("the running gitchat wants its access token: set ACCESS_TOKEN (in the environment or .env) to the server's");
  if (error.code === "unknown_repository") return new UnknownRepositoryError(message);
  if (response.status === 400) return new InvalidInputError(message);
  return new AppError(message);
};

export type ServerClient = ReturnType<typeof serverClient>;

export const serverClient = (config: Pick<Config, "host" | "port" | "accessToken" | "dataDir">) => {
  // The server's control file (its address and a per-start secret it takes as the operator's), else HOST/PORT and ACCESS_TOKEN.
  const control = readControl(config.dataDir);
  const url = control?.url ?? serverUrl(config);
  const token = control?.secret ?? config.accessToken;
  const headers = (extra: Record<string, string> = {}): Record<string, string> => (token ? { ...extra, authorization: `Bearer ${token}` } : extra);
  /** A request that succeeded (2xx); anything else is thrown as the error it stands for. */
  const call = async (method: string, path: string, init: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: headers(init.body === undefined ? init.headers : { "content-type": "application/json", ...init.headers }),
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    }).catch((error: unknown) => {
      if ((error as Error).name === "AbortError") throw error;
      throw new AppError(`the data directory is in use, but no gitchat answers at ${url}; is PORT right?`);
    });
    if (!response.ok) throw await answerError(response);
    return response;
  };
  return {
    url,
    call,
    request: async <T>(method: string, path: string, body?: unknown): Promise<T> => (await (await call(method, path, { body })).json()) as T,
  };
};

/**
 * Runs `local` on the data directory when no server owns it (this process
 * takes the lock for that long), or `remote` against the server that does,
 * so that only one process ever writes a repository.
 */
export const onDataDirOrServer = async <T>(
  config: Config,
  local: (gitchat: Gitchat) => Promise<T>,
  remote: (server: ServerClient) => Promise<T>,
  options: OpenOptions = {},
): Promise<T> => {
  let gitchat: Gitchat;
  try {
    gitchat = await openGitchat(config, () => {}, options);
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    return remote(serverClient(config));
  }
  try {
    return await local(gitchat);
  } finally {
    await gitchat.close();
  }
};
