/**
 * What every request passes whoever sends it: refusal of requests that
 * another site sent, CORS for the origins allowed, a cap on live streams, the
 * security headers of every response; and the pieces the callers' checks
 * (auth.ts) share: cookies, constant-time comparison, the in-memory sessions
 * of the shared-name login.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { parseCookie } from "cookie";
import { errorResponse } from "./errors.ts";

export const SESSION_COOKIE = "gitchat_session";
export const NAME_COOKIE = "gitchat_name";
const SESSION_DAYS = 30;

/** Compares secrets in constant time (hashing first makes the lengths equal too). */
export const sameSecret = (given: string, expected: string) =>
  timingSafeEqual(createHash("sha256").update(given).digest(), createHash("sha256").update(expected).digest());

/** A value whose `%` escapes do not decode is dropped, not thrown: any app on the same host may set cookies here. */
const tryDecode = (value: string) => {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
};

/** The cookies of a request by name; a malformed one is left out, and the others still count. */
export const parseCookies = (header: string | null) => {
  const cookies = new Map<string, string>();
  for (const [name, value] of Object.entries(parseCookie(header ?? "", { decode: tryDecode }))) {
    if (value !== undefined) cookies.set(name, value);
  }
  return cookies;
};

export type Session = { id: string; name: string; expires: number };

/**
 * Sessions of the shared-name login (ACCESS_TOKEN and a name, while no
 * account exists) live in memory: a restart asks people to log in again, and
 * a logout ends a session at once. Accounts' sessions are in the database.
 */
export class Sessions {
  private readonly sessions = new Map<string, Session>();

  create(name: string): Session {
    const session = { id: randomBytes(32).toString("base64url"), name, expires: Date.now() + SESSION_DAYS * 86_400_000 };
    this.sessions.set(session.id, session);
    if (this.sessions.size > 10_000) {
      for (const [id, s] of this.sessions) if (s.expires < Date.now()) this.sessions.delete(id);
    }
    return session;
  }

  get(id: string | undefined) {
    const session = id ? this.sessions.get(id) : undefined;
    if (session && session.expires < Date.now()) {
      this.sessions.delete(session.id);
      return undefined;
    }
    return session;
  }

  end(id: string | undefined) {
    if (id) this.sessions.delete(id);
  }
}

/** Counts open live streams per client, so that no one client can hold the server's connections. */
export class StreamLimiter {
  private readonly open = new Map<string, number>();
  /** Streams open now, from every client (GET /metrics). */
  total = 0;

  /** `onRefused`: a stream was refused (a 429, counted with the other rate-limited requests). */
  constructor(
    readonly perClient: number,
    private readonly onRefused: () => void = () => {},
  ) {}

  acquire(key: string) {
    const count = this.open.get(key) ?? 0;
    if (count >= this.perClient) {
      this.onRefused();
      return undefined;
    }
    this.open.set(key, count + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }
}

/** Scripts and styles only from gitchat itself; nothing inline, nothing framed. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export const securityHeaders = (headers: Record<string, string | number>, request: Request, trustProxy: boolean) => {
  headers["x-content-type-options"] = "nosniff";
  headers["content-security-policy"] = CSP;
  // No address ever leaves for another site; same-origin requests keep their Origin.
  headers["referrer-policy"] = "same-origin";
  headers["cross-origin-opener-policy"] = "same-origin";
  headers["x-frame-options"] = "DENY";
  if (isHttps(request, trustProxy)) headers["strict-transport-security"] = "max-age=31536000";
};

/**
 * The last entry of an X-Forwarded-* header: the one our own proxy added.
 * Proxies append to what the client sent, so everything left of it is the
 * client's word, which anyone can forge.
 */
const lastForwarded = (value: string | null) => {
  const last = value?.split(",").at(-1)?.trim();
  return last ? last : undefined;
};

/** Behind a TLS-terminating proxy (TRUST_PROXY), the proxy says so in X-Forwarded-Proto; otherwise anyone could. */
export const isHttps = (request: Request, trustProxy: boolean) =>
  request.url.startsWith("https:") || (trustProxy && lastForwarded(request.headers.get("x-forwarded-proto"))?.toLowerCase() === "https");

/**
 * A Set-Cookie value of ours: HttpOnly, on every path, Secure over HTTPS.
 * SameSite=Strict unless `lax` (a cookie that must come back on a top-level
 * navigation from another site, as GitHub's sign-in redirect is).
 */
export const cookieHeader = (name: string, value: string, options: { request: Request; trustProxy: boolean; maxAge: number; lax?: boolean }) =>
  `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=${options.lax ? "Lax" : "Strict"}; Max-Age=${options.maxAge}${isHttps(options.request, options.trustProxy) ? "; Secure" : ""}`;

export const SESSION_SECONDS = SESSION_DAYS * 86_400;

/**
 * The client's address, the key of its rate limit and stream count: the
 * socket's peer, or behind a trusted proxy the address that proxy appended to
 * X-Forwarded-For (the socket's peer is then the proxy itself).
 */
export const clientAddress = (request: Request, socketAddress: string, trustProxy: boolean) =>
  (trustProxy ? lastForwarded(request.headers.get("x-forwarded-for")) : undefined) ?? socketAddress;

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * GitHub's push webhook. It proves itself by the HMAC of its body with
 * GITHUB_WEBHOOK_SECRET, which its route checks before reading anything else:
 * GitHub is no browser, so the cross-site rule does not apply to it (and its
 * route's declared rule says who else may call it).
 */
export const GITHUB_WEBHOOK = "/github/webhook";
/** Whether `path` is the webhook's route (Elysia also routes it with a trailing slash). */
export const isGitHubWebhook = (path: string) => path === GITHUB_WEBHOOK || path === `${GITHUB_WEBHOOK}/`;

/**
 * An incoming webhook's post (`POST /hooks/<secret>`): the secret in its path
 * is its credential, and its senders are programs (CI, monitoring), not
 * browsers, so the cross-site rule does not apply to it either. Making,
 * listing and removing hooks are not exempt.
 */
export const isIncomingHookPost = (method: string, path: string) => method === "POST" && /^\/hooks\/[^/]+\/?$/.test(path);

/**
 * Runs before routing on every request: answers a CORS preflight, and
 * refuses a request that another site's page sent to change something here.
 * Who the caller is, and what they may do, each route declares (auth.ts).
 */
export const refuseForeign = (request: Request, corsOrigins: readonly string[]): Response | undefined => {
  const url = new URL(request.url);
  const origin = request.headers.get("origin");
  const allowedCors = origin !== null && corsOrigins.includes(origin);

  if (request.method === "OPTIONS") {
    return new Response(null, { status: 204, headers: allowedCors ? corsHeaders(origin) : {} });
  }
  if (isGitHubWebhook(url.pathname) || isIncomingHookPost(request.method, url.pathname)) return undefined;

  // A browser says where a request came from; another site may not change anything here.
  // Sec-Fetch-Site is the browser's own word; Origin is the check for browsers without it
  // (a form post may carry "Origin: null", which only Sec-Fetch-Site can clear).
  if (STATE_CHANGING.has(request.method)) {
    const site = request.headers.get("sec-fetch-site");
    const foreign =
      site !== null
        ? (site === "cross-site" || site === "same-site") && !allowedCors
        : origin !== null && origin !== url.origin && !allowedCors;
    if (foreign) {
      return errorResponse(403, "cross_site", "requests from another site may not change anything here");
    }
  }
  return undefined;
};

export const corsHeaders = (origin: string): Record<string, string> => ({
  "access-control-allow-origin": origin,
  // DELETE: revoking a token, removing an account.
  "access-control-allow-methods": "GET, POST, DELETE",
  "access-control-allow-headers": "authorization, content-type, idempotency-key",
  "access-control-expose-headers": "x-next-cursor, retry-after",
  "access-control-max-age": "600",
  vary: "origin",
});
