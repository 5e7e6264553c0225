/**
 * "Sign in with GitHub", GitHub's OAuth web application flow: `GET
 * /login/github` sends the browser to GitHub with a random `state`, kept in
 * a short-lived cookie of that browser; GitHub sends it back to `GET
 * /login/github/callback` with a code and the state, which must be the
 * cookie's (a sign-in started elsewhere, or forged, is refused). The routes
 * always exist (every route declares its rule); without GITHUB_CLIENT_ID they
 * say that GitHub sign-in is not set up.
 */
import { randomBytes } from "node:crypto";
import { Elysia, t } from "elysia";
import type { GitHubSignIn } from "../../accounts/github-sign-in.ts";
import { AppError } from "../../errors.ts";
import { notFoundPage, signedInPage, signInRefusedPage } from "../../../views/page.ts";
import type { AuthPlugin } from "../auth.ts";
import { htmlResponse } from "../errors.ts";
import { cookieHeader, parseCookies, sameSecret, SESSION_COOKIE, SESSION_SECONDS } from "../security.ts";
import { safeNext } from "./login.ts";

const STATE_COOKIE = "gitchat_github_state";
/** Long enough to approve on GitHub (and sign in there first), short enough that a stale one is gone. */
const STATE_SECONDS = 600;

export const githubSignInRoutes = (
  auth: AuthPlugin,
  deps: { signIn?: GitHubSignIn; publicUrl: () => string; trustProxy: boolean },
) => {
  const redirectUri = () => `${deps.publicUrl()}/login/github/callback`;
  const stateCookie = (request: Request, value: string, maxAge: number) =>
    // Lax, not Strict: it must come back on the navigation from GitHub's page.
    cookieHeader(STATE_COOKIE, value, { request, trustProxy: deps.trustProxy, maxAge, lax: true });
  const notSetUp = () => htmlResponse(notFoundPage("Sign in with GitHub is not set up on this gitchat (GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET)."), 404);
  const refused = (request: Request, reason: string, status: number) => {
    const response = htmlResponse(signInRefusedPage(reason), status);
    response.headers.append("set-cookie", stateCookie(request, "", 0));
    return response;
  };

  return new Elysia({ name: "github-sign-in" })
    .use(auth)
    .get("/login/github", ({ request, query }) => {
      if (!deps.signIn) return notSetUp();
      const state = randomBytes(32).toString("base64url");
      // The cookie holds the state and where to go afterwards (a path of this server).
      const headers = new Headers({ location: deps.signIn.authorizeUrl(state, redirectUri()) });
      headers.append("set-cookie", stateCookie(request, `${state} ${safeNext(query.next)}`, STATE_SECONDS));
      return new Response(null, { status: 303, headers });
    }, { auth: "public", query: t.Object({ next: t.Optional(t.String()) }), detail: { hide: true } })
    .get("/login/github/callback", async ({ request, query, address }) => {
      if (!deps.signIn) return notSetUp();
      const stored = parseCookies(request.headers.get("cookie")).get(STATE_COOKIE) ?? "";
      const [state = "", next = "/"] = stored.split(" ", 2);
      if (state === "" || query.state === undefined || !sameSecret(query.state, state)) {
        return refused(request, "This sign-in did not start in this browser, or took longer than 10 minutes: sign in with GitHub again.", 400);
      }
      if (query.error !== undefined) {
        return refused(request, query.error === "access_denied" ? "You did not let this gitchat see your GitHub account." : `GitHub did not sign you in (${query.error.slice(0, 64)}).`, 401);
      }
      if (!query.code) return refused(request, "GitHub sent no code back: sign in with GitHub again.", 400);
      try {
        const { account, session } = await deps.signIn.finish(query.code, redirectUri(), { address, userAgent: request.headers.get("user-agent") ?? "" });
        const response = htmlResponse(signedInPage(account.name, safeNext(next)));
        response.headers.append("set-cookie", cookieHeader(SESSION_COOKIE, session, { request, trustProxy: deps.trustProxy, maxAge: SESSION_SECONDS }));
        response.headers.append("set-cookie", stateCookie(request, "", 0));
        return response;
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return refused(request, error.message, error.status);
      }
    }, {
      auth: "public",
      query: t.Object({
        code: t.Optional(t.String()),
        state: t.Optional(t.String()),
        error: t.Optional(t.String()),
        error_description: t.Optional(t.String()),
        error_uri: t.Optional(t.String()),
      }),
      detail: { hide: true },
    });
};
