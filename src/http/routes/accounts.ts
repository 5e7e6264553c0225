/** The accounts API: who am I, the people and bots of this gitchat, and personal API tokens. */
import { Elysia, t } from "elysia";
import { ROLES, type AccountService, type Account } from "../../accounts/service.ts";
import type { AuthPlugin } from "../auth.ts";
import { Caller, ErrorBody, NewToken, NewUser, Token, User } from "../schemas.ts";

const toUser = (a: Account) => ({ login: a.login, name: a.name, role: a.role, created_at: new Date(a.createdAt).toISOString() });

const LoginParams = t.Object({ login: t.String({ description: "An account's login" }) });

export const accountRoutes = (accounts: AccountService, auth: AuthPlugin) =>
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
