/** The accounts API: who am I, the people and bots of this gitchat, personal API tokens, one's own name, password and sessions. */
import { Elysia, t } from "elysia";
import { ROLES, type AccountService, type Account, type SessionInfo } from "../../accounts/service.ts";
import { ForbiddenError } from "../../errors.ts";
import type { AuthPlugin, Identity } from "../auth.ts";
import { Caller, ErrorBody, Me, NewToken, NewUser, Session, Token, User } from "../schemas.ts";
import { cookieHeader, SESSION_COOKIE, SESSION_SECONDS } from "../security.ts";
import { toMe } from "./login.ts";

const toUser = (a: Account) => ({ login: a.login, name: a.name, role: a.role, created_at: new Date(a.createdAt).toISOString() });

/** The caller's own account; the operator (ACCESS_TOKEN, the CLI, the open local mode) has none to change. */
export const ownAccount = (identity: Identity | undefined): Account => {
  if (!identity?.account) throw new ForbiddenError("the operator (ACCESS_TOKEN, the CLI or the open local mode) has no account: sign in with an account to change it");
  return identity.account;
};

const iso = (ms: number) => new Date(ms).toISOString();
export const toSession = (s: SessionInfo) => ({
  id: s.id,
  created_at: iso(s.createdAt),
  last_seen_at: iso(s.lastSeenAt),
  user_agent: s.userAgent,
  address: s.address,
  current: s.current,
});

const LoginParams = t.Object({ login: t.String({ description: "An account's login" }) });

export const accountRoutes = (accounts: AccountService, auth: AuthPlugin, trustProxy: boolean) =>
  new Elysia({ name: "accounts" })
    .use(auth)
    .get("/me", ({ identity }) => ({
      login: identity?.account?.login ?? null,
      name: identity?.name ?? "",
      role: identity?.role ?? "member",
      id: identity?.account?.id ?? null,
    }), {
      auth: "member",
      response: { 200: Caller, 401: ErrorBody },
      detail: { summary: "Who the caller is" },
    })
    .patch("/me", ({ body, identity }) => toMe(accounts.setName(identity!.actor, ownAccount(identity).login, body.name)), {
      auth: "member",
      parse: "json",
      body: t.Object({ name: t.String({ description: "The display name new messages are written under", error: "name is required and must be a string" }) }),
      response: { 200: Me, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      detail: { summary: "Change one's display name", description: "Messages already written keep the name they were written under. 403 for the operator, who has no account." },
    })
    .put("/me/password", async ({ body, identity, request, address, set }) => {
      const session = await accounts.setPassword(identity!.actor, ownAccount(identity).login, body, {
        address,
        userAgent: request.headers.get("user-agent") ?? "",
      });
      // Every session ended with the old password; a browser that changed it stays signed in with a new one.
      if (session !== undefined && identity!.via === "session") {
        set.headers["set-cookie"] = cookieHeader(SESSION_COOKIE, session, { request, trustProxy, maxAge: SESSION_SECONDS });
      }
      set.status = 204;
    }, {
      auth: "member",
      parse: "json",
      body: t.Object({
        current: t.String({ description: "The current password", error: "current (the current password) is required" }),
        password: t.String({ description: "The new password, at least 10 characters", error: "password (the new password) is required" }),
      }),
      response: { 204: t.Void(), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody },
      detail: {
        summary: "Change one's password",
        description: "Ends every session of the account; a browser that asked gets a new session cookie. Personal API tokens keep working. 401 `unauthorized` when `current` is wrong; 400 for a bot, or a new password too short.",
      },
    })
    .get("/me/sessions", ({ identity }) => accounts.listSessions(identity!.actor, identity!.via === "session" ? identity!.sessionId : undefined).map(toSession), {
      auth: "member",
      response: { 200: t.Array(Session), 401: ErrorBody },
      detail: { summary: "The caller's signed-in browsers", description: "Most recently used first; `current` is the one asking. Empty for the operator and a bot." },
    })
    .delete("/me/sessions/:id", ({ params, identity, set }) => {
      accounts.endSession(identity!.actor, params.id);
      set.status = 204;
    }, {
      auth: "member",
      params: t.Object({ id: t.String({ description: "A session's id from GET /me/sessions" }) }),
      response: { 204: t.Void(), 401: ErrorBody, 404: ErrorBody },
      detail: { summary: "End one of the caller's sessions", description: "That browser is signed out at its next request. 404 for an id that is not one of the caller's sessions." },
    })
    .get("/users", () => accounts.list().map(toUser), {
      auth: "member",
      response: { 200: t.Array(User), 401: ErrorBody },
      detail: { summary: "List people and bots", description: "Removed accounts are not listed." },
    })
    .post("/users", ({ body, identity, set }) => {
      const { account, inviteUrl } = accounts.add(identity!.actor, { login: body.login, name: body.name, role: body.role });
      set.status = 201;
      return { login: account.login, name: account.name, role: account.role, invite_url: inviteUrl ?? null };
    }, {
      auth: "admin",
      parse: "json",
      body: t.Object({
        login: t.String({ description: "1 to 39 letters, digits or single hyphens (GitHub's rule); stored in lower case", error: "login is required and must be a string" }),
        name: t.Optional(t.String({ description: "Display name; the login when absent", error: "name must be a string" })),
        role: t.Optional(t.Union(ROLES.map((r) => t.Literal(r)), { error: `role must be one of ${ROLES.join(", ")}` })),
      }),
      response: { 201: NewUser, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody },
      detail: {
        summary: "Add a person or a bot",
        description: "A person gets a one-time invite link, valid 24 hours, to set a password. A bot gets none: make it a token. 409 `login_taken` when the login is or was in use.",
      },
    })
    .delete("/users/:login", ({ params, identity, set }) => {
      accounts.remove(identity!.actor, params.login);
      set.status = 204;
    }, {
      auth: "admin",
      params: LoginParams,
      response: { 204: t.Void(), 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      detail: { summary: "Remove an account", description: "Its sessions and tokens end at once; its messages keep its name and id, and the login is never given again." },
    })
    .post("/users/:login/invite", ({ params, identity, set }) => {
      const inviteUrl = accounts.reinvite(identity!.actor, params.login);
      set.status = 201;
      return { login: params.login.toLowerCase(), invite_url: inviteUrl };
    }, {
      auth: "admin",
      params: LoginParams,
      response: { 201: t.Object({ login: t.String(), invite_url: t.String() }), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      detail: {
        summary: "A new invite link for a person",
        description: "For an invite that expired, or a forgotten password (accepting it sets a new one and ends their sessions). Their earlier unused links stop working. 400 for a bot.",
      },
    })
    .post("/users/:login/tokens", ({ params, body, identity, set }) => {
      set.status = 201;
      return accounts.createToken(identity!.actor, params.login, body.label ?? "");
    }, {
      auth: "member",
      params: LoginParams,
      parse: "json",
      body: t.Object({ label: t.Optional(t.String({ description: "What the token is for", error: "label must be a string" })) }),
      response: { 201: NewToken, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
      detail: { summary: "Make a personal API token", description: "Admins for anyone, people for themselves. The token is shown once." },
    })
    .get("/tokens", ({ identity }) =>
      accounts.listTokens(identity!.actor).map((tk) => ({
        id: tk.id,
        label: tk.label,
        created_at: new Date(tk.createdAt).toISOString(),
        last_used_at: tk.lastUsedAt === null ? null : new Date(tk.lastUsedAt).toISOString(),
      })), {
      auth: "member",
      response: { 200: t.Array(Token), 401: ErrorBody },
      detail: { summary: "The caller's personal API tokens", description: "Never their secrets." },
    })
    .delete("/tokens/:id", ({ params, identity, set }) => {
      accounts.revokeToken(identity!.actor, params.id);
      set.status = 204;
    }, {
      auth: "member",
      params: t.Object({ id: t.String() }),
      response: { 204: t.Void(), 401: ErrorBody, 404: ErrorBody },
      detail: { summary: "Revoke a personal API token", description: "Its owner or an admin; another person's token is 404 to a member." },
    });
