/** gitchat as a real process on 127.0.0.1, for the tests that need one (kill -9, the binary, a browser). */
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const CLI = join(ROOT, "src", "cli", "main.ts");

export type RunningServer = {
  url: string;
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  output: () => string;
  /** SIGTERM, and wait for a clean exit. */
  stop: () => Promise<number>;
  /** SIGKILL: no chance to finish anything. */
  kill9: () => Promise<void>;
};

/** Starts `gitchat serve` (or `command`, e.g. the compiled binary) on a free port and waits until it listens. */
export const startServer = async (options: {
  dataDir: string;
  env?: Record<string, string>;
  command?: string[];
  /** The working directory: by default the source tree for `gitchat serve`, the data directory for a command. */
  cwd?: string;
  timeoutMs?: number;
}): Promise<RunningServer> => {
  const proc = Bun.spawn(options.command ?? [process.execPath, CLI, "serve"], {
    cwd: options.cwd ?? (options.command ? options.dataDir : ROOT),
    env: { ...process.env, DATA_DIR: options.dataDir, PORT: "0", HOST: "127.0.0.1", RATE_LIMIT: "0", ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let url: string | undefined;
  while (!url) {
    url = /listening on (http:\/\/\S+)/.exec(text)?.[1]?.replace("localhost", "127.0.0.1");
    if (url) break;
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill(9);
      throw new Error(`gitchat did not start (exit ${proc.exitCode}):\n${text}`);
    }
    await Bun.sleep(20);
  }
  return {
    url,
    proc,
    output: () => text,
    stop: async () => {
      proc.kill("SIGTERM");
      return proc.exited;
    },
    kill9: async () => {
      proc.kill(9);
      await proc.exited;
    },
  };
};

export type CliResult = { stdout: string; stderr: string; code: number };

/** Runs one `gitchat <command>` to the end (killed after `timeoutMs`) and gives its output and exit code. */
export const runCli = async (
  args: string[],
  options: { dataDir: string; env?: Record<string, string>; timeoutMs?: number; cwd?: string; stdin?: string },
): Promise<CliResult> => {
  const proc = Bun.spawn([process.execPath, CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, DATA_DIR: options.dataDir, PORT: "0", HOST: "127.0.0.1", ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new Blob([options.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill(9), options.timeoutMs ?? 60_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { stdout, stderr, code };
};

/** POST /messages with a bearer token, as an API client sends it. */
export const sendWithToken = (url: string, token: string, content = "with a dollar in the token") =>
  fetch(`${url}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ content }),
  });

/**
 * GET /health until it answers `status` (its costly checks are rechecked
 * about once a second, so damage shows within a second or so); the answer's
 * body. Throws after `timeoutMs` with the last status seen.
 */
export const healthOnceItIs = async (url: string, status: number, timeoutMs = 30_000): Promise<unknown> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await fetch(`${url}/health`);
    const body: unknown = await answer.json();
    if (answer.status === status) return body;
    if (Date.now() > deadline) throw new Error(`/health still answers ${answer.status} (${JSON.stringify(body)}), not ${status}`);
    await Bun.sleep(50);
  }
};
