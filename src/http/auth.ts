/**
 * Who is calling, and whether they may call this route: every route declares
 * its rule (`{ auth: "public" | "member" | "admin" }`), and the macro below
 * resolves the caller into the context as `identity`. A route without a rule
 * gets no identity, and the app refuses to start with one (see
 * `undeclaredRoutes`).
 *
 * Callers, in the order they are tried:
 * - the open local mode (no ACCESS_TOKEN and no account yet, loopback only):
 *   everyone is the local operator, writing as GITHUB_USERNAME or `local`;
 * - a session cookie: an account's session (kept in the database), or, while
 *   no account exists, a session of the shared-name login (ACCESS_TOKEN and a
 *   name, kept in memory);
 * - `Authorization: Bearer` with the CLI's control secret (a random secret the
 *   server writes to DATA_DIR/control.json at each start), ACCESS_TOKEN
 *   (the operator's token for scripts), or a personal API token.
 * The operator may do what an admin does; it writes messages under the
 * configured author, with no account id.
 */
import { Elysia } from "elysia";
import type { AccountService, Account, Actor, Role } from "../accounts/service.ts";
import { ForbiddenError, RateLimitedError, UnauthorizedError } from "../errors.ts";
import type { RateLimiter } from "../rate-limit.ts";
import { clientAddress, parseCookies, sameSecret, SESSION_COOKIE, type Sessions } from "./security.ts";

export type Rule = "public" | "member" | "admin";
export const RULES: readonly Rule[] = ["public", "member", "admin"];
/** Where a route's rule is recorded: in its OpenAPI `detail`, so the document says it too. */
export const RULE_KEY = "x-gitchat-auth";

export type Identity = {
  /** The name messages are written under. */
  name: string;
  /** The caller's account, when they signed in with one. */
  account?: Account;
  role: Role;
  via: "open" | "session" | "shared-session" | "token" | "access-token" | "control";
  /** Whose limits this request counts against (messages a minute, live streams). */
  clientKey: string;
  /** As the accounts service knows the caller. */
  actor: Actor;
  /** The session id the request came with (logout ends it). */
  sessionId?: string;
};

export type AuthSettings = {
  accounts: AccountService;
  /** The configured author (GITHUB_USERNAME or `local`): the operator writes as them. */
  author: string;
  accessToken?: string;
  /** The CLI's per-start secret (see gitchat.ts). */
  controlSecret?: string;
  sharedSessions: Sessions;
  messageLimit: RateLimiter;
  trustProxy: boolean;
};

const operator = (name: string, via: Identity["via"], clientKey: string): Identity => ({
  name,
  role: "admin",
  via,
  clientKey,
  actor: { operator: true },
});

const fromAccount = (account: Account, via: Identity["via"], clientKey: string, sessionId?: string): Identity => ({
  name: account.name,
  account,
  role: account.role,
  via,
  clientKey,
  actor: { account },
  sessionId,
});

export const authPlugin = (settings: AuthSettings) => {
  const { accounts } = settings;
  const hasAccounts = () => accounts.hasAccounts();

  /** The caller of `request`, or undefined for an anonymous one (or one whose credentials are wrong, expired or revoked). */
  const identify = (request: Request, address: string): Identity | undefined => {
    const ipKey = `ip:${address}`;
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
    if (!settings.accessToken && !hasAccounts()) return operator(settings.author, "open", ipKey);
    const sessionId = parseCookies(request.headers.get("cookie")).get(SESSION_COOKIE);
    if (sessionId !== undefined) {
      if (hasAccounts()) {
        const account = accounts.sessionAccount(sessionId);
        if (account) return fromAccount(account, "session", `session:${account.login}`, sessionId);
      } else {
        const shared = settings.sharedSessions.get(sessionId);
        // Whoever logged in this way holds ACCESS_TOKEN: the operator, writing under the name they gave.
        if (shared) return { ...operator(shared.name, "shared-session", `session:${shared.id}`), sessionId };
      }
    }
    if (bearer === undefined) return undefined;
    if (settings.controlSecret && sameSecret(bearer, settings.controlSecret)) return operator(settings.author, "control", ipKey);
    if (settings.accessToken && sameSecret(bearer, settings.accessToken)) return operator(settings.author, "access-token", ipKey);
    const account = accounts.tokenAccount(bearer);
    return account ? fromAccount(account, "token", `token:${account.login}`) : undefined;
  };

  return new Elysia({ name: "auth" }).macro({
    /** Who may call the route: anyone (`public`), anyone signed in (`member`, bots included), or admins. */
    auth: (rule: Rule) => ({
      detail: { [RULE_KEY]: rule } as { [RULE_KEY]: Rule; description?: string },
      resolve({ request, server, set, status }) {
        const address = clientAddress(request, server?.requestIP(request)?.address ?? "local", settings.trustProxy);
        const identity = identify(request, address);
        if (rule === "public") return { identity, address };
        if (!identity) {
          // A person opening a page is sent to sign in, and back afterwards.
          if (request.method === "GET" && (request.headers.get("accept") ?? "").includes("text/html")) {
            const url = new URL(request.url);
            set.headers.location = `/login?next=${encodeURIComponent(url.pathname + url.search)}`;
            return status(303, "");
          }
          set.headers["www-authenticate"] = 'Bearer realm="gitchat"';
          throw new UnauthorizedError(
            hasAccounts()
              ? "sign in, or send Authorization: Bearer <personal API token>; a token that was revoked, or a session that ended, no longer works"
              : "this gitchat needs its access token: send Authorization: Bearer <ACCESS_TOKEN>, or log in",
          );
        }
        if (rule === "admin" && identity.role !== "admin") {
          // RFC 6750's answer for a known caller without the right: refusals by this rule, and only they, carry WWW-Authenticate.
          set.headers["www-authenticate"] = 'Bearer realm="gitchat", error="insufficient_scope"';
          throw new ForbiddenError("only an admin may do this");
        }
        return { identity, address };
      },
    }),
    /** Messages a client may send a minute (RATE_LIMIT), counted per signed-in caller or per address. */
    messageLimit: (on: boolean) => ({
      beforeHandle(context) {
        // Set by `auth`, which every route declares before this.
        const identity = (context as { identity?: Identity }).identity;
        if (!on || !identity) return;
        const verdict = settings.messageLimit.take(identity.clientKey);
        if (!verdict.ok) throw new RateLimitedError(`too many messages: wait ${verdict.retryAfter} s and send again`, verdict.retryAfter);
      },
    }),
  });
};

export type AuthPlugin = ReturnType<typeof authPlugin>;

/** Who a message is from: the caller's name, their account's id (and own commit e-mail) when they have one, and whether that account is a bot; the configured author when there is no caller. */
export const authorOf = (identity: Identity | undefined) =>
  identity && { name: identity.name, id: identity.account?.id, bot: identity.account?.role === "bot", email: identity.account?.commitEmail };

/** The routes of `app` that declare no rule: each would get no identity. */
export const undeclaredRoutes = (app: { routes: { method: string; path: string; hooks: { detail?: unknown } }[] }) =>
  app.routes
    .filter((route) => !RULES.includes((route.hooks.detail as Record<string, unknown> | undefined)?.[RULE_KEY] as Rule))
    .map((route) => `${route.method} ${route.path}`);
