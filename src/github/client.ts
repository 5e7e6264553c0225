/**
 * GitHub's REST API, only where git's own protocol cannot serve: who the
 * token belongs to, whether a channel's repository exists (and may be pushed
 * to), and creating it. Octokit's throttling plugin honours Retry-After and
 * X-RateLimit-Reset; its retry plugin retries 5xx and dropped connections.
 */
import { Octokit } from "@octokit/rest";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import Bottleneck from "bottleneck";
import { RemoteAuthError, RemoteNotFoundError, RemoteUnavailableError } from "../errors.ts";

const GitHubOctokit = Octokit.plugin(throttling, retry);

export type GitHubRepository = { owner: string; name: string; private: boolean; canPush: boolean };

/** Who a token is, and its scopes: a classic token's or an OAuth app's (X-OAuth-Scopes); null for one that has none to list (fine-grained, a GitHub App's). */
export type TokenOwner = { login: string; scopes: string[] | null };

export interface GitHub {
  /** The login of the token's user; throws RemoteAuthError for a bad token. */
  currentUser(): Promise<string>;
  /** The token's user and scopes (GET /user); throws RemoteAuthError for a bad token. */
  tokenOwner(): Promise<TokenOwner>;
  /** The repository, or undefined when it does not exist (or the token may not see it). */
  getRepository(owner: string, name: string): Promise<GitHubRepository | undefined>;
  /** Creates a private repository under the token's user. */
  createRepository(name: string): Promise<GitHubRepository>;
  /** Whether `username` is a collaborator of the repository (GET /repos/{owner}/{repo}/collaborators/{username}: 204 or 404). */
  isCollaborator(owner: string, name: string, username: string): Promise<boolean>;
}

export type GitHubOptions = {
  token: string;
  apiUrl: string;
  /** Tests shorten the waits: the base of Retry-After handling, and no spacing of writes. */
  fast?: boolean;
};

const status = (error: unknown) => (error as { status?: number }).status;

const explain = (error: unknown, what: string): never => {
  const code = status(error);
  if (code === 401) throw new RemoteAuthError(`GitHub refused GITHUB_TOKEN while ${what} (401 Bad credentials): check the token`);
  if (code === 403) throw new RemoteAuthError(`GitHub forbade ${what} (403): the token lacks a permission (it needs "repo" scope, or contents: write)`);
  if (code === 404) throw new RemoteNotFoundError(`GitHub found nothing while ${what} (404)`);
  throw new RemoteUnavailableError(`GitHub could not be reached while ${what}${code && code !== 500 ? ` (${code})` : ""}; will retry`);
};

const toRepository = (data: { owner: { login: string }; name: string; private: boolean; permissions?: { push?: boolean } }): GitHubRepository => ({
  owner: data.owner.login,
  name: data.name,
  private: data.private,
  canPush: data.permissions?.push ?? false,
});

export const createGitHub = (options: GitHubOptions): GitHub => {
  const octokit = new GitHubOctokit({
    auth: options.token,
    baseUrl: options.apiUrl.replace(/\/+$/, ""),
    userAgent: "gitchat",
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    throttle: {
      onRateLimit: (_after: number, _options: object, _octokit: unknown, retryCount: number) => retryCount < 2,
      onSecondaryRateLimit: (_after: number, _options: object, _octokit: unknown, retryCount: number) => retryCount < 2,
      ...(options.fast ? { retryAfterBaseValue: 10, write: new Bottleneck.Group({ minTime: 0 }) } : {}),
    },
    // 1 s, 4 s, 9 s between tries of a 5xx or a dropped connection (milliseconds in tests).
    retry: { doNotRetry: [400, 401, 403, 404, 410, 422, 451], retryAfterBaseValue: options.fast ? 5 : 1000 },
  });
  return {
    async currentUser() {
      return (await this.tokenOwner()).login;
    },
    async tokenOwner() {
      try {
        const { data, headers } = await octokit.rest.users.getAuthenticated();
        const scopes = headers["x-oauth-scopes"];
        return {
          login: data.login,
          scopes: typeof scopes === "string" ? scopes.split(",").map((s) => s.trim()).filter(Boolean) : null,
        };
      } catch (error) {
        return explain(error, "checking the token (GET /user)");
      }
    },
    async getRepository(owner, name) {
      try {
        return toRepository((await octokit.rest.repos.get({ owner, repo: name })).data);
      } catch (error) {
        if (status(error) === 404) return undefined;
        return explain(error, `reading repository ${owner}/${name}`);
      }
    },
    async isCollaborator(owner, name, username) {
      try {
        await octokit.rest.repos.checkCollaborator({ owner, repo: name, username });
        return true;
      } catch (error) {
        if (status(error) === 404) return false;
        return explain(error, `checking whether ${username} may use ${owner}/${name}`);
      }
    },
    async createRepository(name) {
      try {
        const { data } = await octokit.rest.repos.createForAuthenticatedUser({
          name,
          private: true,
          description: "A gitchat channel: one JSON file per message",
          auto_init: false,
        });
        return toRepository(data);
      } catch (error) {
        // A retried create whose first try went through: the repository is there.
        if (status(error) === 422) {
          const login = await this.currentUser();
          const existing = await this.getRepository(login, name);
          if (existing) return existing;
        }
        return explain(error, `creating repository ${name}`);
      }
    },
  };
};
