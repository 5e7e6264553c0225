/** gitchat servers in-process, syncing with the GitHub stand-in. */
import { afterEach } from "bun:test";
import { createGitHub } from "../../src/github/client.ts";
import type { Gitchat } from "../../src/gitchat.ts";
import { call, openTestGitchat } from "../support/app.ts";
import { standInSettings, startGitHub, type GitHubStandIn } from "../support/github.ts";
import { tempDir } from "../support/tmp.ts";

export const ALICE = "ghp_aliceSyncTestToken0000000000000000000";
export const BOB = "ghp_bobSyncTestToken00000000000000000000000";
export const WEBHOOK_SECRET = "whsec-sync-tests-0123456789abcdef";

export const syncedGitchat = async (
  github: GitHubStandIn,
  options: {
    token?: string;
    user?: string;
    repo?: string;
    dataDir?: string;
    log?: (line: string) => void;
    interval?: string;
    /** GITHUB_WEBHOOK_SECRET: turns on POST /github/webhook. */
    webhookSecret?: string;
  } = {},
): Promise<Gitchat & { dataDir: string; lines: string[] }> => {
  const dataDir = options.dataDir ?? tempDir();
  const lines: string[] = [];
  const token = options.token ?? ALICE;
  const gitchat = await openTestGitchat({
    dataDir,
    env: {
      ...standInSettings(github, { token, owner: options.user, name: options.repo }),
      ...(options.interval ? { SYNC_INTERVAL: options.interval } : {}),
      ...(options.webhookSecret ? { GITHUB_WEBHOOK_SECRET: options.webhookSecret } : {}),
    },
    github: createGitHub({ token, apiUrl: github.apiUrl, fast: true }),
    sync: { debounceMs: 10, maxBackoffMs: 100 },
    log: (line) => {
      lines.push(line);
      options.log?.(line);
    },
  });
  return Object.assign(gitchat, { dataDir, lines });
};

export const send = async (gitchat: Gitchat, content: string, repository?: string) => {
  const answer = await call(gitchat, "POST", "/messages", repository ? { content, repository } : { content });
  if (answer.status !== 201) throw new Error(`send failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as { id: string; git_hash: string; cursor: number; content: string };
};

export const contents = async (gitchat: Gitchat, repository?: string) =>
  ((await call(gitchat, "GET", `/messages?limit=1000${repository ? `&repository=${repository}` : ""}`)).body as { content: string }[]).map(
    (m) => m.content,
  );

/** Polls `check` until it holds or the time is up. */
export const eventually = async (check: () => Promise<boolean> | boolean, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("the condition did not hold in time");
    await Bun.sleep(20);
  }
};

/**
 * A GitHub stand-in (users alice and bob) and synced servers for the tests of
 * one file; whatever a test started is closed after it, newest first.
 */
export const closedAfterEach = () => {
  const running: { close: () => Promise<void> }[] = [];
  afterEach(async () => {
    for (const item of running.splice(0).reverse()) await item.close();
  });
  const standIn = async () => {
    const github = await startGitHub({ users: [{ login: "alice", token: ALICE }, { login: "bob", token: BOB }] });
    running.push({ close: () => github.stop() });
    return github;
  };
  const server = async (...args: Parameters<typeof syncedGitchat>) => {
    const gitchat = await syncedGitchat(...args);
    running.push(gitchat);
    return gitchat;
  };
  /** Closes a server before the test ends (a restart), so that it is not closed twice. */
  const closeNow = async (item: { close: () => Promise<void> }) => {
    running.splice(running.indexOf(item), 1);
    await item.close();
  };
  return { standIn, server, closeNow };
};
