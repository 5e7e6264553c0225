/**
 * The settings page (everyone's own account) and the members page (an
 * admin's). The page posts plain forms here; each answer is the page again:
 * after a change, a redirect to it (so a reload repeats nothing), and for a
 * refusal, the page with the error beside its form and the error's status.
 * A secret made here (a token, an invite link) is in that one answer only.
 */
import { Elysia, t } from "elysia";
import { MIN_PASSWORD, type AccountService } from "../../accounts/service.ts";
import { AppError } from "../../errors.ts";
import { membersPage, settingsPage, type MembersPage, type SettingsForm, type SettingsPage } from "../../../views/account-pages.ts";
import type { AuthPlugin, Identity } from "../auth.ts";
import { htmlResponse } from "../errors.ts";
import { cookieHeader, SESSION_COOKIE, SESSION_SECONDS } from "../security.ts";
import { ownAccount } from "./accounts.ts";

const seeOther = (location: string, cookie?: string) => {
  const headers = new Headers({ location });
  if (cookie) headers.append("set-cookie", cookie);
  return new Response(null, { status: 303, headers });
};

/** Runs a change; an AppError becomes `refused(form, error)` (the page with the message inline), anything else is thrown. */
const attempt = async (change: () => Response | Promise<Response>, refused: (error: AppError) => Response) => {
  try {
    return await change();
  } catch (error) {
    if (error instanceof AppError) return refused(error);
    throw error;
  }
};

const Field = (what: string) => t.Optional(t.String({ error: `${what} must be text` }));

export const accountPageRoutes = (auth: AuthPlugin, deps: { accounts: AccountService; trustProxy: boolean }) => {
  const { accounts } = deps;
  const client = (request: Request, address: string) => ({ address, userAgent: request.headers.get("user-agent") ?? "" });

  const settings = (identity: Identity, extra: Partial<SettingsPage> = {}, status = 200) => {
    const account = identity.account;
    return htmlResponse(
      settingsPage({
        account: account && {
          login: account.login,
          name: account.name,
          role: account.role,
          createdAt: account.createdAt,
          github: account.id.startsWith("github:"),
        },
        tokens: accounts.listTokens(identity.actor),
        sessions: accounts.listSessions(identity.actor, identity.via === "session" ? identity.sessionId : undefined),
        admin: identity.role === "admin",
        minPassword: MIN_PASSWORD,
        ...extra,
      }),
      status,
    );
  };
  const settingsRefused = (identity: Identity, form: SettingsForm) => (error: AppError) =>
    settings(identity, { error: { form, message: error.message } }, error.status);

  const members = (identity: Identity, extra: Partial<MembersPage> = {}, status = 200) =>
    htmlResponse(
      membersPage({
        accounts: accounts.list().map((a) => ({ login: a.login, name: a.name, role: a.role, createdAt: a.createdAt })),
        self: identity.account?.login,
        ...extra,
      }),
      status,
    );
  const membersRefused = (identity: Identity, form: string) => (error: AppError) =>
    members(identity, { error: { form, message: error.message } }, error.status);

  const Id = t.Object({ id: t.String() });
  const Login = t.Object({ login: t.String() });

  return new Elysia({ name: "account-pages" })
    .use(auth)
    .get("/settings", ({ identity }) => settings(identity!), { auth: "member", detail: { hide: true } })
    .post("/settings/name", ({ identity, body }) =>
      attempt(() => {
        accounts.setName(identity!.actor, ownAccount(identity).login, body.name ?? "");
        return seeOther("/settings");
      }, settingsRefused(identity!, "name")), {
      auth: "member",
      parse: "json",
      body: t.Object({ name: Field("name") }),
      detail: { hide: true },
    })
    .post("/settings/password", ({ identity, body, request, address }) =>
      attempt(async () => {
        const session = await accounts.setPassword(
          identity!.actor,
          ownAccount(identity).login,
          { current: body.current ?? "", password: body.password ?? "" },
          client(request, address),
        );
        // The old password's sessions all ended, this browser's too: it goes on with a new one.
        return seeOther("/settings", session && cookieHeader(SESSION_COOKIE, session, { request, trustProxy: deps.trustProxy, maxAge: SESSION_SECONDS }));
      }, settingsRefused(identity!, "password")), {
      auth: "member",
      parse: "json",
      body: t.Object({ current: Field("current"), password: Field("password"), login: Field("login") }),
      detail: { hide: true },
    })
    .post("/settings/tokens", ({ identity, body }) =>
      attempt(() => {
        const label = body.label?.trim() ?? "";
        const { token } = accounts.createToken(identity!.actor, ownAccount(identity).login, label);
        return settings(identity!, { newToken: { label, token } }, 201);
      }, settingsRefused(identity!, "tokens")), {
      auth: "member",
      parse: "json",
      body: t.Object({ label: Field("label") }),
      detail: { hide: true },
    })
    .post("/settings/tokens/:id/revoke", ({ identity, params }) =>
      attempt(() => {
        accounts.revokeToken(identity!.actor, params.id);
        return seeOther("/settings");
      }, settingsRefused(identity!, "tokens")), { auth: "member", params: Id, detail: { hide: true } })
    .post("/settings/sessions/:id/end", ({ identity, params }) =>
      attempt(() => {
        accounts.endSession(identity!.actor, params.id);
        return seeOther("/settings");
      }, settingsRefused(identity!, "sessions")), { auth: "member", params: Id, detail: { hide: true } })
    .get("/members", ({ identity }) => members(identity!), { auth: "admin", detail: { hide: true } })
    .post("/members", ({ identity, body }) =>
      attempt(() => {
        const { account, inviteUrl } = accounts.add(identity!.actor, {
          login: body.login ?? "",
          name: body.name?.trim() || undefined,
          role: body.admin ? "admin" : "member",
        });
        return members(identity!, { invite: { login: account.login, url: inviteUrl! } }, 201);
      }, membersRefused(identity!, "invite")), {
      auth: "admin",
      parse: "json",
      body: t.Object({ login: Field("login"), name: Field("name"), admin: Field("admin") }),
      detail: { hide: true },
    })
    .post("/members/:login/role", ({ identity, params, body }) =>
      attempt(() => {
        accounts.setRole(identity!.actor, params.login, body.role === "admin" ? "admin" : (body.role as "member"));
        return seeOther("/members");
      }, membersRefused(identity!, "people")), {
      auth: "admin",
      params: Login,
      parse: "json",
      body: t.Object({ role: Field("role") }),
      detail: { hide: true },
    })
    .post("/members/:login/invite", ({ identity, params }) =>
      attempt(() => {
        const url = accounts.reinvite(identity!.actor, params.login);
        return members(identity!, { invite: { login: params.login.toLowerCase(), url } }, 201);
      }, membersRefused(identity!, "people")), { auth: "admin", params: Login, detail: { hide: true } })
    .post("/members/:login/remove", ({ identity, params }) =>
      attempt(() => {
        accounts.remove(identity!.actor, params.login);
        return seeOther("/members");
      }, membersRefused(identity!, "people")), { auth: "admin", params: Login, detail: { hide: true } });
};
