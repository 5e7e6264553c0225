/**
 * Property-based fuzzing of every route: random and malformed methods, paths,
 * headers, bodies, encodings and sizes. The server never answers 5xx to a
 * client's mistake, never falls over, and a 4xx never changes anything.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import type { Gitchat } from "../../src/gitchat.ts";
import { call, openTestGitchat } from "../support/app.ts";

let open: Gitchat;
let locked: Gitchat;
const errors: string[] = [];
beforeAll(async () => {
  open = await openTestGitchat({ log: (line) => errors.push(line) });
  locked = await openTestGitchat({ log: (line) => errors.push(line), env: { ACCESS_TOKEN: "fuzzing-access-token-1234" } });
  await call(open, "POST", "/messages", { content: "already here" });
});
afterAll(async () => {
  await open.close();
  await locked.close();
});

const state = async (gitchat: Gitchat) => ({
  messages: gitchat.db.countMessages(),
  repositories: gitchat.repositories.list().map((c) => c.fullName).sort(),
  heads: await Promise.all(gitchat.repositories.list().map((c) => c.store.head())),
});

const ROUTES = [
  "/", "/messages", "/repositories", "/push", "/pull", "/health", "/openapi.json", "/login", "/logout",
  "/c/local/general", "/c/local/general/messages", "/c/local/general/events", "/ui/channels", "/ui/repositories", "/ui/push",
  "/assets/app.js", "/assets/htmx.min.js", "/github/webhook",
];

const segment = fc.oneof(
  fc.constantFrom("..", ".", "%2e%2e", "%00", "%ff", "%", "c", "local", "general", "messages", "a".repeat(300), "😀", "%F0%9F", "~", "x;y", "a b"),
  fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)),
);
const path = fc.oneof(
  fc.constantFrom(...ROUTES),
  fc.array(segment, { minLength: 0, maxLength: 5 }).map((parts) => `/${parts.join("/")}`),
  fc.tuple(fc.constantFrom(...ROUTES), fc.array(fc.tuple(fc.constantFrom("after", "before", "limit", "q", "repository", "next", "current", "version", "x"), fc.oneof(fc.string({ maxLength: 20 }), fc.integer().map(String), fc.constantFrom("-1", "1e9", "9".repeat(30), "NaN", "%00", ""))), { maxLength: 4 }))
    .map(([route, query]) => `${route}?${query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`),
);
const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "PROPFIND", "FOO");
const contentType = fc.constantFrom(
  undefined, "application/json", "application/json; charset=latin1", "text/plain", "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x", "application/vnd.api+json", "application/octet-stream", "", "json",
);
const jsonValue = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));
const body = fc.oneof(
  jsonValue,
  fc.record({ content: fc.oneof(fc.string({ maxLength: 50 }), fc.constant(""), fc.constant("\u0000"), fc.integer(), fc.constant(null)), repository: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 20 })), type: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 10 })), owner: fc.string({ maxLength: 10 }), name: fc.string({ maxLength: 10 }) }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }),
  fc.constant("x".repeat(70 * 1024)),
  fc.constant('{"content": "' + "\\ud800".repeat(3) + '"}'),
  fc.constant(""),
);
/** Only what fetch lets a client put in a header (no CR, LF, NUL, nothing past Latin-1). */
const sendable = (value: string) => {
  try {
    new Headers({ cookie: value });
    return true;
  } catch {
    return false;
  }
};
const percentJunk = fc.array(fc.constantFrom("%", "%E0", "%A4", "%A", "%%", "%ZZ", "%u00e9", "ff", "=", ";", " ", '"', ",", "a"), { maxLength: 8 }).map((parts) => parts.join(""));
const cookieValue = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: "binary", maxLength: 30 }), percentJunk);
/** Arbitrary cookie values (others' and our own names), and arbitrary whole Cookie headers. */
const cookieHeader = fc
  .oneof(
    fc.constantFrom("gitchat_session=abc", "gitchat_session=", "a=b; c", "%", "other=%E0%A4%A"),
    fc.array(fc.tuple(fc.constantFrom("gitchat_session", "gitchat_name", "other", "", "a b", "%"), cookieValue), { minLength: 1, maxLength: 4 })
      .map((pairs) => pairs.map(([name, value]) => `${name}=${value}`).join("; ")),
    fc.string({ maxLength: 60 }),
    fc.string({ unit: "binary", maxLength: 60 }),
  )
  .filter(sendable);
const headers = fc.record(
  {
    origin: fc.constantFrom("http://localhost", "https://evil.example", "null", "x"),
    "sec-fetch-site": fc.constantFrom("same-origin", "cross-site", "none", "same-site"),
    authorization: fc.constantFrom("Bearer x", "Basic abc", "Bearer", ""),
    cookie: cookieHeader,
    accept: fc.constantFrom("text/html", "application/json", "*/*", "text/event-stream"),
    "last-event-id": fc.constantFrom("1", "-5", "abc", "9".repeat(40)),
    "content-length": fc.constantFrom("0", "5", "999999999"),
  },
  { requiredKeys: [] },
);

const fuzz = async (gitchat: Gitchat, expected: number[]) => {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(method, path, contentType, body, headers, async (m, p, type, b, extra) => {
      const init: RequestInit & { duplex?: string } = { method: m, headers: { ...extra } };
      if (type !== undefined) (init.headers as Record<string, string>)["content-type"] = type;
      if (m !== "GET" && m !== "HEAD") init.body = b;
      delete (init.headers as Record<string, string>)["content-length"];
      const before = await state(gitchat);
      const controller = new AbortController();
      init.signal = controller.signal;
      const response = await gitchat.app.handle(new Request(`http://localhost${p}`, init));
      if (response.headers.get("content-type")?.includes("event-stream")) controller.abort();
      else await response.arrayBuffer();
      seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
      if (response.status >= 500) throw new Error(`${m} ${p} (${type}) answered ${response.status}`);
      if (response.status >= 400) expect(await state(gitchat)).toEqual(before);
    }),
    { numRuns: Number(process.env.FUZZ_RUNS ?? 600), seed: 20261124 },
  );
  // The run went through the interesting answers, not only 404s.
  for (const status of expected) expect([status, (seen.get(status) ?? 0) > 0]).toEqual([status, true]);
  expect(errors.filter((l) => l.includes("internal error"))).toEqual([]);
};

test("random and malformed requests never get a 5xx, and a 4xx changes nothing", () => fuzz(open, [200, 400, 403, 404]), 120_000);

test("the same with ACCESS_TOKEN set: still no 5xx, and nothing changes without the token", () => fuzz(locked, [200, 401, 403]), 120_000);
