/**
 * Signing in and out: with a login and password once this gitchat has
 * accounts (and through an invite link, the first time); before that, with
 * ACCESS_TOKEN set, with the shared token and a name to write under. The page
 * posts forms; an API client may post JSON and gets JSON back.
 */
import { Elysia, t } from "elysia";
import { MIN_PASSWORD, type Account, type AccountService } from "../../accounts/service.ts";
import { AppError, InvalidInputError, RateLimitedError, UnauthorizedError } from "../../errors.ts";
import { checkAuthor } from "../../messages/service.ts";
import { RateLimiter } from "../../rate-limit.ts";
import { invitePage, loginPage, notFoundPage } from "../../../views/page.ts";
import type { AuthPlugin } from "../auth.ts";
import { errorResponse, htmlResponse } from "../errors.ts";
import { isJson } from "../body.ts";
import { ErrorBody, Me } from "../schemas.ts";
import { cookieHeader, NAME_COOKIE, parseCookies, sameSecret, SESSION_COOKIE, SESSION_SECONDS, type Sessions } from "../security.ts";

/** Only a path of this server: never `//elsewhere` or a full URL. */
export const safeNext = (next: string | undefined) => (next && /^\/(?![/\\])/.test(next) ? next : "/");


export const toMe = (account: Account) => ({ login: account.login, name: account.name, role: account.role, id: account.id });

export const loginRoutes = (
  auth: AuthPlugin,
  deps: { accessToken?: string; accounts: AccountService; sharedSessions: Sessions; trustProxy: boolean; github: boolean },
) => {
  const { accounts } = deps;
  const cookie = (name: string, value: string, request: Request, maxAge: number) => cookieHeader(name, value, { request, trustProxy: deps.trustProxy, maxAge });
  /** Guessing the shared token is limited far harder than talking (accounts' logins are limited by the service). */
  const sharedLoginLimit = new RateLimiter(10);
  const open = () => !deps.accessToken && !accounts.hasAccounts();
  const signedIn = (request: Request, session: string, location: string) => {
    const headers = new Headers({ location });
    headers.append("set-cookie", cookie(SESSION_COOKIE, session, request, SESSION_SECONDS));
    return new Response(null, { status: 303, headers });
  };

  /** The account an invite link is for, or the page that says why it cannot be used (unknown 404, used or expired 410). */
  const invitation = (secret: string): { account: Account } | { refusal: Response } => {
    try {
      return { account: accounts.invitee(secret) };
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return { refusal: htmlResponse(notFoundPage(error.message), error.status) };
    }
  };
  const inviteForm = (secret: string, account: Account, error?: string) =>
    invitePage({ login: account.login, name: account.name, action: `/invite/${secret}`, minPassword: MIN_PASSWORD, error });

  return new Elysia({ name: "login" })
    .use(auth)
    .get("/login", ({ request, query }) => {
      if (open()) return new Response(null, { status: 303, headers: { location: safeNext(query.next) } });
      const remembered = parseCookies(request.headers.get("cookie")).get(NAME_COOKIE) ?? "";
      return htmlResponse(loginPage({ accounts: accounts.hasAccounts(), name: remembered, next: safeNext(query.next), github: deps.github }));
    }, { auth: "public", query: t.Object({ next: t.Optional(t.String()) }), detail: { hide: true } })
    .post("/login", async ({ request, body, address }) => {
      const next = safeNext(body.next);
      const json = isJson(request.headers.get("content-type") ?? "");
      if (open()) return new Response(null, { status: 303, headers: { location: next } });
      if (accounts.hasAccounts()) {
        const login = body.login ?? "";
        try {
          if (body.login === undefined) {
            throw new UnauthorizedError("this gitchat has accounts now: sign in with your login and password (an admin invites you)");
          }
          const { account, session } = await accounts.login(login, body.password ?? "", {
            address,
            userAgent: request.headers.get("user-agent") ?? "",
          });
          if (!json) return signedIn(request, session, next);
          return new Response(JSON.stringify(toMe(account)), {
            headers: { "content-type": "application/json; charset=utf-8", "set-cookie": cookie(SESSION_COOKIE, session, request, SESSION_SECONDS) },
          });
        } catch (error) {
          if (json || !(error instanceof AppError) || error instanceof RateLimitedError) throw error;
          return htmlResponse(loginPage({ accounts: true, name: login, next, error: error.message, github: deps.github }), error.status);
        }
      }
      // The shared-name login: ACCESS_TOKEN and a name, while no account exists.
      const verdict = sharedLoginLimit.take(`ip:${address}`);
      if (!verdict.ok) {
        return errorResponse(429, "rate_limited", `too many login attempts: wait ${verdict.retryAfter} s`, { "retry-after": String(verdict.retryAfter) });
      }
      let name: string;
      try {
        name = checkAuthor(body.name ?? "");
      } catch (error) {
        return htmlResponse(loginPage({ accounts: false, name: body.name ?? "", next, error: (error as InvalidInputError).message, github: deps.github }), 400);
      }
      if (!sameSecret(body.token ?? "", deps.accessToken!)) {
        return htmlResponse(loginPage({ accounts: false, name, next, error: "That is not this gitchat's access token.", github: deps.github }), 401);
      }
      const response = signedIn(request, deps.sharedSessions.create(name).id, next);
      response.headers.append("set-cookie", cookie(NAME_COOKIE, name, request, 365 * 86_400));
      return response;
    }, {
      auth: "public",
      parse: "json",
      body: t.Object({
        login: t.Optional(t.String({ description: "With accounts: the login" })),
        password: t.Optional(t.String({ description: "With accounts: the password" })),
        name: t.Optional(t.String({ description: "Before accounts: the name to write under" })),
        token: t.Optional(t.String({ description: "Before accounts: ACCESS_TOKEN" })),
        next: t.Optional(t.String({ description: "Where a form's sign-in leads (a path of this server)" })),
      }),
      response: { 200: Me, 401: ErrorBody, 429: ErrorBody },
      detail: {
        summary: "Sign in with a login and password",
        description: "A JSON body gets the account and a session cookie; a form (the page) is sent on to `next`. Limited per account and per address (429).",
      },
    })
    .post("/logout", ({ request, identity }) => {
      const session = identity?.sessionId;
      if (session !== undefined) {
        if (identity?.via === "session") accounts.logout(session);
        else deps.sharedSessions.end(session);
      }
      return new Response(null, {
        status: 303,
        headers: { location: "/login", "set-cookie": cookie(SESSION_COOKIE, "", request, 0) },
      });
    }, { auth: "public", detail: { hide: true } })
    .get("/invite/:secret", ({ params }) => {
      const invite = invitation(params.secret);
      return "refusal" in invite ? invite.refusal : htmlResponse(inviteForm(params.secret, invite.account));
    }, { auth: "public", params: t.Object({ secret: t.String() }), detail: { hide: true } })
    .post("/invite/:secret", async ({ params, body, request, address }) => {
      const invite = invitation(params.secret);
      if ("refusal" in invite) return invite.refusal;
      try {
        const { session } = await accounts.acceptInvite(params.secret, body.password, { address, userAgent: request.headers.get("user-agent") ?? "" });
        return signedIn(request, session, "/");
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        return htmlResponse(inviteForm(params.secret, invite.account, error.message), error.status);
      }
    }, {
      auth: "public",
      params: t.Object({ secret: t.String() }),
      parse: "json",
      body: t.Object({ password: t.String({ error: "password is required" }) }),
      detail: { hide: true },
    });
};
