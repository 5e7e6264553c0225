/**
 * Who may come in and how much they may do: the access token (a session
 * cookie for people, a bearer token for API clients), refusal of requests
 * that another site sent, CORS for the origins allowed, rate limits, a cap
 * on live streams, and the security headers of every response.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { parseCookie } from "cookie";
import { errorResponse } from "./errors.ts";
import { RateLimiter } from "../rate-limit.ts";
export { RateLimiter };

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

/** Sessions live in memory: a restart asks people to log in again, and a logout ends a session at once. */
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

  constructor(readonly perClient: number) {}

  acquire(key: string) {
    const count = this.open.get(key) ?? 0;
    if (count >= this.perClient) return undefined;
    this.open.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
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
 * The client's address, the key of its rate limit and stream count: the
 * socket's peer, or behind a trusted proxy the address that proxy appended to
 * X-Forwarded-For (the socket's peer is then the proxy itself).
 */
export const clientAddress = (request: Request, socketAddress: string, trustProxy: boolean) =>
  (trustProxy ? lastForwarded(request.headers.get("x-forwarded-for")) : undefined) ?? socketAddress;

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export type Identity = { name?: string; session?: Session; via: "open" | "session" | "bearer"; clientKey: string };

const identities = new WeakMap<Request, Identity>();

/** Who made this request, as the security check found. */
export const identityOf = (request: Request): Identity | undefined => identities.get(request);

export type SecurityOptions = {
  accessToken?: string;
  corsOrigins: string[];
  sessions: Sessions;
  messageLimit: RateLimiter;
  loginLimit: RateLimiter;
  /** GITHUB_WEBHOOK_SECRET is set and GitHub sync is on: GitHub may call GITHUB_WEBHOOK. */
  githubWebhook: boolean;
};

/** Routes open to everyone, with or without the access token. */
const PUBLIC = /^\/(health$|login$|logout$|assets\/)/;
/**
 * GitHub's push webhook. It proves itself by the HMAC of its body with
 * GITHUB_WEBHOOK_SECRET, which its route checks before reading anything else:
 * GitHub holds no access token and no session, and is no browser, so neither
 * the token nor the cross-site rule applies. Only while it is on; off, it is
 * refused here like any other route.
 */
export const GITHUB_WEBHOOK = "/github/webhook";
/** Whether `path` is the webhook's route (Elysia also routes it with a trailing slash). */
export const isGitHubWebhook = (path: string) => path === GITHUB_WEBHOOK || path === `${GITHUB_WEBHOOK}/`;
const MESSAGE_POST = /^\/(messages|c\/[^/]+\/[^/]+\/messages)$/;
const PAGE = /^\/($|c\/|ui\/)/;

/**
 * Runs before routing on every request: returns the Response that refuses
 * it, or undefined to let it through (its identity then known to the routes).
 */
export const checkRequest = (request: Request, ip: string, options: SecurityOptions): Response | undefined => {
  const url = new URL(request.url);
  const path = url.pathname;
  const origin = request.headers.get("origin");
  const allowedCors = origin !== null && options.corsOrigins.includes(origin);

  if (request.method === "OPTIONS") {
    return new Response(null, { status: 204, headers: allowedCors ? corsHeaders(origin) : {} });
  }

  if (options.githubWebhook && isGitHubWebhook(path)) return undefined;

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

  const cookies = parseCookies(request.headers.get("cookie"));
  const session = options.sessions.get(cookies.get(SESSION_COOKIE));
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  let identity: Identity;
  if (session) {
    identity = { name: session.name, session, via: "session", clientKey: `session:${session.id}` };
  } else if (options.accessToken && bearer !== undefined && sameSecret(bearer, options.accessToken)) {
    identity = { via: "bearer", clientKey: `ip:${ip}` };
  } else if (!options.accessToken) {
    identity = { via: "open", clientKey: `ip:${ip}` };
  } else if (PUBLIC.test(path)) {
    identity = { via: "open", clientKey: `ip:${ip}` };
  } else if (request.method === "GET" && PAGE.test(path) && (request.headers.get("accept") ?? "").includes("text/html")) {
    return new Response(null, { status: 303, headers: { location: `/login?next=${encodeURIComponent(path + url.search)}` } });
  } else {
    return errorResponse(401, "unauthorized", "this gitchat needs its access token: send Authorization: Bearer <ACCESS_TOKEN>, or log in", {
      "www-authenticate": 'Bearer realm="gitchat"',
    });
  }
  identities.set(request, identity);

  if (request.method === "POST" && MESSAGE_POST.test(path)) {
    const verdict = options.messageLimit.take(identity.clientKey);
    if (!verdict.ok) {
      return errorResponse(429, "rate_limited", `too many messages: wait ${verdict.retryAfter} s and send again`, {
        "retry-after": String(verdict.retryAfter),
      });
    }
  }
  if (request.method === "POST" && path === "/login") {
    const verdict = options.loginLimit.take(`ip:${ip}`);
    if (!verdict.ok) {
      return errorResponse(429, "rate_limited", `too many login attempts: wait ${verdict.retryAfter} s`, {
        "retry-after": String(verdict.retryAfter),
      });
    }
  }
  return undefined;
};

export const corsHeaders = (origin: string): Record<string, string> => ({
  "access-control-allow-origin": origin,
  "access-control-allow-methods": "GET, POST",
  "access-control-allow-headers": "authorization, content-type, idempotency-key",
  "access-control-expose-headers": "x-next-cursor, retry-after",
  "access-control-max-age": "600",
  vary: "origin",
});
