/**
 * "Sign in with GitHub": who may, and what they become here. A GitHub user
 * may sign in when they are a collaborator of the default channel's
 * repository (asked of GitHub with the server's own GITHUB_TOKEN) or listed
 * in GITHUB_ALLOWED_USERS; they become an account whose messages carry
 * `github:ID`. The OAuth exchange itself is github/oauth.ts's; the `state`
 * that binds it to one browser is the HTTP layer's (a cookie).
 */
import { ForbiddenError } from "../errors.ts";
import type { GitHub } from "../github/client.ts";
import type { GitHubOAuth } from "../github/oauth.ts";
import type { Account, AccountService, Client } from "./service.ts";

export type GitHubSignInOptions = {
  /** Logins (lower case) let in whatever their access. */
  allowedUsers: readonly string[];
  /** The repository whose collaborators may sign in, and the server's client to ask GitHub with; absent without GITHUB_TOKEN. */
  repository?: { owner: string; name: string; github: GitHub };
};

export class GitHubSignIn {
  constructor(
    private readonly accounts: AccountService,
    private readonly oauth: GitHubOAuth,
    private readonly options: GitHubSignInOptions,
  ) {}

  authorizeUrl(state: string, redirectUri: string) {
    return this.oauth.authorizeUrl(state, redirectUri);
  }

  /** Finishes a sign-in GitHub sent back with `code`: the account and a new session, or ForbiddenError for someone not let in. */
  async finish(code: string, redirectUri: string, client: Client): Promise<{ account: Account; session: string }> {
    const user = await this.oauth.userOf(code, redirectUri);
    if (!(await this.allowed(user.login))) {
      const repository = this.options.repository;
      throw new ForbiddenError(
        `GitHub user ${user.login} may not sign in here: ${repository ? `they are not a collaborator of ${repository.owner}/${repository.name}, and ` : ""}they are not in GITHUB_ALLOWED_USERS. Ask an admin of this gitchat to let them in.`,
      );
    }
    return this.accounts.signInWithGitHub(user, client);
  }

  private async allowed(login: string) {
    if (this.options.allowedUsers.includes(login.toLowerCase())) return true;
    const repository = this.options.repository;
    return repository !== undefined && (await repository.github.isCollaborator(repository.owner, repository.name, login));
  }
}
