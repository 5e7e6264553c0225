/** Logging in with the access token (and a name to write messages under), and logging out. */
import { Elysia, t } from "elysia";
import { InvalidInputError } from "../../errors.ts";
import { checkAuthor } from "../../messages/service.ts";
import { loginPage } from "../../../views/page.ts";
import { htmlResponse } from "../errors.ts";
import { isHttps, NAME_COOKIE, parseCookies, sameSecret, SESSION_COOKIE, type Sessions } from "../security.ts";

/** Only a path of this server: never `//elsewhere` or a full URL. */
const safeNext = (next: string | undefined) => (next && /^\/(?![/\\])/.test(next) ? next : "/");

export const loginRoutes = (deps: { accessToken?: string; sessions: Sessions; defaultRepository: string; trustProxy: boolean }) => {
  const cookie = (name: string, value: string, request: Request, maxAge: number) =>
    `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${isHttps(request, deps.trustProxy) ? "; Secure" : ""}`;
  return new Elysia({ name: "login" })
    .get("/login", ({ request, query }) => {
      if (!deps.accessToken) return new Response(null, { status: 303, headers: { location: safeNext(query.next) } });
      const remembered = parseCookies(request.headers.get("cookie")).get(NAME_COOKIE) ?? "";
      return htmlResponse(loginPage({ name: remembered, next: safeNext(query.next) }));
    }, { query: t.Object({ next: t.Optional(t.String()) }), detail: { hide: true } })
    .post("/login", ({ request, body }) => {
      const next = safeNext(body.next);
      if (!deps.accessToken) return new Response(null, { status: 303, headers: { location: next } });
      let name: string;
      try {
        name = checkAuthor(body.name ?? "");
      } catch (error) {
        return htmlResponse(loginPage({ name: body.name ?? "", next, error: (error as InvalidInputError).message }), 400);
      }
      if (!sameSecret(body.token ?? "", deps.accessToken)) {
        return htmlResponse(loginPage({ name, next, error: "That is not this gitchat's access token." }), 401);
      }
      const session = deps.sessions.create(name);
      const headers = new Headers({ location: next });
      headers.append("set-cookie", cookie(SESSION_COOKIE, session.id, request, 30 * 86_400));
      headers.append("set-cookie", cookie(NAME_COOKIE, name, request, 365 * 86_400));
      return new Response(null, { status: 303, headers });
    }, {
      parse: "json",
      body: t.Object({ name: t.Optional(t.String()), token: t.Optional(t.String()), next: t.Optional(t.String()) }),
      detail: { hide: true },
    })
    .post("/logout", ({ request }) => {
      deps.sessions.end(parseCookies(request.headers.get("cookie")).get(SESSION_COOKIE));
      return new Response(null, {
        status: 303,
        headers: { location: "/login", "set-cookie": cookie(SESSION_COOKIE, "", request, 0) },
      });
    }, { detail: { hide: true } });
};
