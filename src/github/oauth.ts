/**
 * GitHub's OAuth web application flow ("Authorizing OAuth apps"): the
 * address that sends a person to GitHub, the exchange of the code GitHub
 * sends back for an access token, and reading who that token belongs to.
 * The token is returned to the caller only to be used once and dropped; it
 * is never logged, and never part of an error.
 */
import { RemoteAuthError, RemoteUnavailableError } from "../errors.ts";

export type GitHubUserInfo = { id: number; login: string; name: string | null };

export type GitHubOAuthSettings = { clientId: string; clientSecret: string; oauthUrl: string; apiUrl: string };

export interface GitHubOAuth {
  /** GitHub's authorize page for this app, returning to `redirectUri` with `state`. */
  authorizeUrl(state: string, redirectUri: string): string;
  /** The user who approved: the code is exchanged for a token, the token reads GET /user once, and is dropped. */
  userOf(code: string, redirectUri: string): Promise<GitHubUserInfo>;
}

const TIMEOUT_MS = 15_000;

const reach = async (url: string, init: RequestInit, what: string) => {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS), redirect: "error" });
  } catch {
    throw new RemoteUnavailableError(`GitHub could not be reached while ${what}: try again in a moment`);
  }
};

export const createGitHubOAuth = (settings: GitHubOAuthSettings): GitHubOAuth => ({
  authorizeUrl(state, redirectUri) {
    const query = new URLSearchParams({ client_id: settings.clientId, redirect_uri: redirectUri, state, scope: "read:user", allow_signup: "false" });
    return `${settings.oauthUrl}/login/oauth/authorize?${query}`;
  },

  async userOf(code, redirectUri) {
    const exchanged = await reach(
      `${settings.oauthUrl}/login/oauth/access_token`,
      {
        method: "POST",
        headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded", "user-agent": "gitchat" },
        body: new URLSearchParams({ client_id: settings.clientId, client_secret: settings.clientSecret, code, redirect_uri: redirectUri }),
      },
      "finishing the sign-in",
    );
    // GitHub answers a refused exchange with 200 and an `error` field.
    const answer = (await exchanged.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown };
    if (!exchanged.ok || typeof answer.access_token !== "string" || answer.access_token === "") {
      const reason = typeof answer.error === "string" && /^[a-z_]{1,64}$/.test(answer.error) ? answer.error : `status ${exchanged.status}`;
      throw new RemoteAuthError(
        reason === "incorrect_client_credentials" || reason === "redirect_uri_mismatch"
          ? `GitHub refused this gitchat's OAuth app (${reason}): check GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and the app's callback URL`
          : `GitHub did not finish the sign-in (${reason}): sign in again`,
      );
    }
    const token = answer.access_token;
    const user = await reach(
      `${settings.apiUrl}/user`,
      { headers: { authorization: `Bearer ${token}`, accept: "application/vnd.github+json", "x-github-api-version": "2022-11-28", "user-agent": "gitchat" } },
      "reading who signed in",
    );
    if (!user.ok) throw new RemoteAuthError(`GitHub did not say who signed in (GET /user answered ${user.status}): sign in again`);
    const body = (await user.json().catch(() => ({}))) as { id?: unknown; login?: unknown; name?: unknown };
    if (typeof body.id !== "number" || !Number.isSafeInteger(body.id) || body.id <= 0 || typeof body.login !== "string") {
      throw new RemoteAuthError("GitHub's answer to GET /user holds no user id and login: sign in again");
    }
    // The token goes out of scope here: it was used for this one request.
    return { id: body.id, login: body.login, name: typeof body.name === "string" ? body.name : null };
  },
});
