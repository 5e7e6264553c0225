/** gitchat in-process on a temporary data directory, and requests against its Elysia app. */
import { loadConfig } from "../../src/config.ts";
import { openGitchat, type Gitchat, type OpenOptions } from "../../src/gitchat.ts";
import { tempDir } from "./tmp.ts";

export const openTestGitchat = async (
  options: { dataDir?: string; env?: Record<string, string>; log?: (line: string) => void } & OpenOptions = {},
): Promise<Gitchat> => {
  const dataDir = options.dataDir ?? tempDir();
  // Tests send far more than a person would: no rate limit unless a test asks for one.
  const config = loadConfig({ DATA_DIR: dataDir, RATE_LIMIT: "0", ...options.env });
  return openGitchat(config, options.log ?? (() => {}), options);
};

export type Answer = { status: number; headers: Headers; body: any };

export const call = (
  gitchat: Gitchat,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> => {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === "string" ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] ??= "application/json";
  }
  return callWith(gitchat, method, path, init);
};

/** A request built by hand, for bodies `call` cannot send (bytes, streams, forms, no content-type); the answer's body parsed as JSON when it is JSON. */
export const callWith = async (gitchat: Gitchat, method: string, path: string, init: RequestInit = {}): Promise<Answer> => {
  const response = await gitchat.app.handle(new Request(`http://localhost${path}`, { method, ...init, duplex: "half" } as RequestInit));
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, body: parsed };
};

/** An account made by the operator on the in-process `gitchat`, and the bearer headers of a token of its own. */
export const accountHeaders = (gitchat: Gitchat, login: string, role: "member" | "admin" | "bot" = "member"): Record<string, string> => {
  const operator = { operator: true } as const;
  gitchat.accounts.add(operator, { login, role });
  return { authorization: `Bearer ${gitchat.accounts.createToken(operator, login).token}` };
};
