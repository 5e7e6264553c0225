import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Gitchat } from "../../src/gitchat.ts";
import { loadConfig } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";
import { call, openTestGitchat } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { CLI, ROOT, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "s3cret-access-token-for-tests";
const bearer = { authorization: `Bearer ${TOKEN}` };

const login = async (gitchat: Gitchat, name: string, token = TOKEN) => {
  const response = await gitchat.app.handle(
    new Request("http://localhost/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost" },
      body: new URLSearchParams({ name, token, next: "/c/local/general" }),
    }),
  );
  const cookies = response.headers.getSetCookie();
  const session = cookies.find((c) => c.startsWith("gitchat_session="));
  return { response, cookies, cookie: session?.split(";")[0] };
};

test("without ACCESS_TOKEN gitchat will not bind beyond loopback, and says how to fix it", async () => {
  expect(() => loadConfig({ HOST: "0.0.0.0" })).toThrow(ConfigError);
  expect(() => loadConfig({ HOST: "192.168.1.10" })).toThrow("set ACCESS_TOKEN, or bind to localhost");
  expect(loadConfig({ HOST: "0.0.0.0", ACCESS_TOKEN: TOKEN }).accessToken).toBe(TOKEN);
  for (const host of ["localhost", "127.0.0.1", "127.1.2.3", "::1"]) expect(loadConfig({ HOST: host }).host).toBe(host);
  expect(() => loadConfig({ ACCESS_TOKEN: "short" })).toThrow("ACCESS_TOKEN is too weak");

  const proc = Bun.spawn([process.execPath, CLI, "serve"], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: tempDir(), HOST: "0.0.0.0", PORT: "0", ACCESS_TOKEN: "" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  expect(code).toBe(2);
  expect(stderr.trim().split("\n")).toHaveLength(1);
  expect(stderr).toContain("ACCESS_TOKEN is not set");
});

describe("with ACCESS_TOKEN", () => {
  let gitchat: Gitchat;
  beforeAll(async () => {
    gitchat = await openTestGitchat({ env: { ACCESS_TOKEN: TOKEN } });
  });
  afterAll(() => gitchat.close());

  test("every route but the login page, /health and the assets answers 401 without the token", async () => {
    const closed: [string, string][] = [
      ["GET", "/messages"],
      ["POST", "/messages"],
      ["GET", "/repositories"],
      ["POST", "/repositories"],
      ["POST", "/push"],
      ["POST", "/pull"],
      ["GET", "/openapi.json"],
      ["GET", "/c/local/general/messages?after=0"],
      ["POST", "/c/local/general/messages"],
      ["GET", "/c/local/general/events"],
      ["GET", "/ui/channels"],
      ["POST", "/ui/push"],
      // GitHub's webhook is open only while it is on (GITHUB_WEBHOOK_SECRET with GitHub sync): here it is off.
      ["POST", "/github/webhook"],
    ];
    for (const [method, path] of closed) {
      const answer = await call(gitchat, method, path, method === "POST" ? { content: "x", owner: "a", name: "b" } : undefined);
      expect([method, path, answer.status]).toEqual([method, path, 401]);
      expect(answer.body.error.code).toBe("unauthorized");
      expect(answer.headers.get("www-authenticate")).toContain("Bearer");
    }
    expect((await call(gitchat, "GET", "/health")).status).toBe(200);
    expect((await call(gitchat, "GET", "/assets/app.css")).status).toBe(200);
    expect((await call(gitchat, "GET", "/login")).status).toBe(200);
    // A person opening the page is sent to log in, and back afterwards.
    const page = await gitchat.app.handle(new Request("http://localhost/c/local/general", { headers: { accept: "text/html" } }));
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login?next=%2Fc%2Flocal%2Fgeneral");
    expect(gitchat.db.countMessages()).toBe(0);
  });

  test("the API takes Authorization: Bearer, and refuses a wrong token", async () => {
    expect((await call(gitchat, "POST", "/messages", { content: "with the token" }, bearer)).status).toBe(201);
    expect((await call(gitchat, "GET", "/messages", undefined, bearer)).status).toBe(200);
    const wrong = await call(gitchat, "GET", "/messages", undefined, { authorization: `Bearer ${TOKEN}x` });
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain(TOKEN);
  });

  test("logging in gives an HttpOnly, SameSite=Strict session; the name becomes the author in git; logout ends it", async () => {
    const refused = await login(gitchat, "Mallory", "not-the-token-at-all");
    expect(refused.response.status).toBe(401);
    expect(refused.cookie).toBeUndefined();
    expect(await refused.response.text()).toContain("not this gitchat&#39;s access token");

    const { response, cookies, cookie } = await login(gitchat, "Ada Lovelace");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/c/local/general");
    const session = cookies.find((c) => c.startsWith("gitchat_session="))!;
    expect(session).toContain("HttpOnly");
    expect(session).toContain("SameSite=Strict");
    expect(session).not.toContain(TOKEN);

    const headers = { cookie: cookie!, origin: "http://localhost" };
    const sent = await call(gitchat, "POST", "/messages", { content: "hello from Ada" }, headers);
    expect(sent.status).toBe(201);
    expect(sent.body.author).toBe("Ada Lovelace");
    const page = await gitchat.app.handle(new Request("http://localhost/c/local/general", { headers }));
    expect(await page.text()).toContain("Signed in as <strong>Ada Lovelace</strong>");
    // The remembered name fills the login form next time.
    const again = await gitchat.app.handle(new Request("http://localhost/login", { headers: { cookie: cookies.find((c) => c.startsWith("gitchat_name="))!.split(";")[0]! } }));
    expect(await again.text()).toContain('value="Ada Lovelace"');

    const gitdir = gitchat.repositories.resolve("local/general").store.gitdir;
    const log = await runGit(["--git-dir", gitdir, "log", "-1", "--format=%an", sent.body.git_hash]);
    expect(log.stdout.trim()).toBe("Ada Lovelace");
    const file = await runGit(["--git-dir", gitdir, "show", `${sent.body.git_hash}:messages/${sent.body.timestamp.slice(0, 10).replaceAll("-", "/")}/000/${sent.body.id}.json`]);
    expect(JSON.parse(file.stdout).author).toBe("Ada Lovelace");

    const out = await gitchat.app.handle(new Request("http://localhost/logout", { method: "POST", headers }));
    expect(out.status).toBe(303);
    expect((await call(gitchat, "GET", "/messages", undefined, headers)).status).toBe(401);
  });

  test("a malformed cookie another app left on this host is ignored: the session beside it still gets in", async () => {
    const { cookie } = await login(gitchat, "Grace Hopper");
    for (const header of [`other=%E0%A4%A; ${cookie}`, `${cookie}; other=%E0%A4%A`, `x=%; gitchat_name=%ZZ; ${cookie}`]) {
      const sent = await call(gitchat, "POST", "/messages", { content: "past a bad cookie" }, { cookie: header, origin: "http://localhost" });
      expect([header, sent.status, sent.body.author]).toEqual([header, 201, "Grace Hopper"]);
    }
    // Without a session, the bad cookie alone changes nothing: /health is open, the rest asks for the token.
    expect((await call(gitchat, "GET", "/health", undefined, { cookie: "other=%E0%A4%A" })).status).toBe(200);
    expect((await call(gitchat, "GET", "/messages", undefined, { cookie: "other=%E0%A4%A" })).status).toBe(401);
  });

  test("login attempts are limited: the eleventh in a minute gets 429 with Retry-After", async () => {
    const own = await openTestGitchat({ env: { ACCESS_TOKEN: TOKEN } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) statuses.push((await login(own, "Guess", `guess-number-${i}-xxxxxx`)).response.status);
      expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
      expect(statuses[10]).toBe(429);
      const limited = await login(own, "Guess", TOKEN);
      expect(limited.response.status).toBe(429);
      expect(Number(limited.response.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      await own.close();
    }
  });
});

describe("requests from other sites", () => {
  let gitchat: Gitchat;
  beforeAll(async () => {
    gitchat = await openTestGitchat({ env: { CORS_ORIGINS: "https://allowed.example" } });
  });
  afterAll(() => gitchat.close());

  test("a POST another site sent gets 403 and changes nothing; the page's own and non-browser clients pass", async () => {
    const foreign: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const headers of foreign) {
      for (const path of ["/messages", "/repositories", "/push", "/c/local/general/messages"]) {
        const answer = await call(gitchat, "POST", path, { content: "csrf", owner: "evil", name: "repo" }, headers);
        expect([path, answer.status, answer.body.error?.code]).toEqual([path, 403, "cross_site"]);
      }
    }
    expect(gitchat.db.countMessages()).toBe(0);
    expect((await call(gitchat, "GET", "/repositories")).body).toHaveLength(1);
    expect((await call(gitchat, "POST", "/messages", { content: "same origin" }, { origin: "http://localhost", "sec-fetch-site": "same-origin" })).status).toBe(201);
    expect((await call(gitchat, "POST", "/messages", { content: "curl" })).status).toBe(201);
    // A form post of the page itself may say "Origin: null"; the browser's Sec-Fetch-Site clears it.
    expect((await call(gitchat, "POST", "/messages", { content: "form" }, { origin: "null", "sec-fetch-site": "same-origin" })).status).toBe(201);
  });

  test("an origin in CORS_ORIGINS may call the API from a browser; others get no CORS allowance", async () => {
    const allowed = await call(gitchat, "POST", "/messages", { content: "from an allowed origin" }, { origin: "https://allowed.example" });
    expect(allowed.status).toBe(201);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://allowed.example");
    const preflight = await call(gitchat, "OPTIONS", "/messages", undefined, { origin: "https://allowed.example", "access-control-request-method": "POST" });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("authorization");
    // The accounts API revokes tokens and removes accounts with DELETE.
    expect(preflight.headers.get("access-control-allow-methods")).toBe("GET, POST, DELETE");
    const other = await call(gitchat, "GET", "/messages", undefined, { origin: "https://evil.example" });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});

test("over RATE_LIMIT a client gets 429 with Retry-After, in the API and from the page, and nothing is stored", async () => {
  const gitchat = await openTestGitchat({ env: { RATE_LIMIT: "5" } });
  try {
    for (let i = 0; i < 5; i++) expect((await call(gitchat, "POST", "/messages", { content: `ok ${i}` })).status).toBe(201);
    const api = await call(gitchat, "POST", "/messages", { content: "one too many" });
    expect(api.status).toBe(429);
    expect(api.body.error.code).toBe("rate_limited");
    expect(Number(api.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    const page = await call(gitchat, "POST", "/c/local/general/messages", "content=from+the+page", { "content-type": "application/x-www-form-urlencoded" });
    expect(page.status).toBe(429);
    expect(gitchat.db.countMessages()).toBe(5);
    // Reading is not limited.
    expect((await call(gitchat, "GET", "/messages")).status).toBe(200);
  } finally {
    await gitchat.close();
  }
});

test("every response carries the security headers; HSTS only behind HTTPS", async () => {
  const gitchat = await openTestGitchat();
  try {
    for (const path of ["/messages", "/c/local/general", "/assets/app.js", "/nope", "/health", "/c/nobody/nothing"]) {
      const answer = await call(gitchat, "GET", path);
      const csp = answer.headers.get("content-security-policy") ?? "";
      expect([path, csp.includes("script-src 'self'") && !csp.includes("unsafe-inline") && !csp.includes("unsafe-eval")]).toEqual([path, true]);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
      expect(answer.headers.get("referrer-policy")).toBe("same-origin");
      expect(answer.headers.get("cross-origin-opener-policy")).toBe("same-origin");
      expect(answer.headers.get("strict-transport-security")).toBeNull();
    }
  } finally {
    await gitchat.close();
  }
});

describe("X-Forwarded-* headers", () => {
  const TOKEN_ENV = { ACCESS_TOKEN: TOKEN, RATE_LIMIT: "2" };
  const send = (gitchat: Gitchat, forwardedFor: string) =>
    call(gitchat, "POST", "/messages", { content: `from ${forwardedFor}` }, { ...bearer, "x-forwarded-for": forwardedFor });
  const loginOver = (gitchat: Gitchat, headers: Record<string, string>) =>
    gitchat.app.handle(
      new Request("http://localhost/login", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://localhost", ...headers },
        body: new URLSearchParams({ name: "Ada", token: TOKEN }),
      }),
    );

  test("without TRUST_PROXY they are the client's word: no HSTS, no Secure cookie, one rate-limit bucket per socket", async () => {
    const gitchat = await openTestGitchat({ env: TOKEN_ENV });
    try {
      const forged = await call(gitchat, "GET", "/health", undefined, { "x-forwarded-proto": "https" });
      expect(forged.headers.get("strict-transport-security")).toBeNull();
      const session = (await loginOver(gitchat, { "x-forwarded-proto": "https" })).headers.getSetCookie().find((c) => c.startsWith("gitchat_session="));
      expect(session).not.toContain("Secure");
      // Two forged addresses from one socket share its bucket of 2.
      expect((await send(gitchat, "203.0.113.1")).status).toBe(201);
      expect((await send(gitchat, "203.0.113.2")).status).toBe(201);
      expect((await send(gitchat, "203.0.113.3")).status).toBe(429);
    } finally {
      await gitchat.close();
    }
  });

  test("with TRUST_PROXY the proxy's word counts: HSTS and Secure behind HTTPS, and the address the proxy added keys the rate limit", async () => {
    const gitchat = await openTestGitchat({ env: { ...TOKEN_ENV, TRUST_PROXY: "true" } });
    try {
      const https = await call(gitchat, "GET", "/health", undefined, { "x-forwarded-proto": "https" });
      expect(https.headers.get("strict-transport-security")).toContain("max-age=");
      const session = (await loginOver(gitchat, { "x-forwarded-proto": "https" })).headers.getSetCookie().find((c) => c.startsWith("gitchat_session="));
      expect(session).toContain("; Secure");
      // Each client address has its own bucket of 2.
      expect((await send(gitchat, "198.51.100.7")).status).toBe(201);
      expect((await send(gitchat, "198.51.100.7")).status).toBe(201);
      expect((await send(gitchat, "198.51.100.7")).status).toBe(429);
      expect((await send(gitchat, "198.51.100.8")).status).toBe(201);
      // The proxy appends the address it saw: whatever the client put before it is ignored.
      expect((await send(gitchat, "10.9.9.9, 198.51.100.7")).status).toBe(429);
      expect((await send(gitchat, "198.51.100.7, 198.51.100.9")).status).toBe(201);
    } finally {
      await gitchat.close();
    }
  });

  test("a real server without TRUST_PROXY keys the rate limit on the socket's address, whatever X-Forwarded-For says", async () => {
    const server = await startServer({ dataDir: tempDir(), env: { RATE_LIMIT: "2" } });
    try {
      const statuses: number[] = [];
      for (const forged of ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) {
        const response = await fetch(`${server.url}/messages`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-forwarded-for": forged },
          body: JSON.stringify({ content: `from ${forged}` }),
        });
        statuses.push(response.status);
      }
      expect(statuses).toEqual([201, 201, 429]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

test("no path outside the assets is ever served: traversal, encodings, absolute paths, NUL, directories", async () => {
  const gitchat = await openTestGitchat();
  try {
    const attempts = [
      "/assets/../package.json",
      "/assets/%2e%2e/package.json",
      "/assets/%2E%2E%2Fpackage.json",
      "/assets/..%2fpackage.json",
      "/assets/..%5cpackage.json",
      "/assets//etc/passwd",
      "/assets/%2fetc%2fpasswd",
      "/assets/app.js%00.png",
      "/assets/",
      "/assets",
      "/assets/.",
      "/assets/public",
      "/assets/app.d.ts",
      "/public/app.js",
      "/assets/%252e%252e/package.json",
    ];
    for (const path of attempts) {
      const answer = await gitchat.app.handle(new Request(`http://localhost${path}`));
      const text = await answer.text();
      expect([path, answer.status]).toEqual([path, 404]);
      expect(text).not.toContain('"name": "gitchat"');
      expect(text).not.toContain("root:");
    }
  } finally {
    await gitchat.close();
  }
});

test("one client may hold at most 10 live streams", async () => {
  const gitchat = await openTestGitchat();
  try {
    const controllers: AbortController[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const controller = new AbortController();
      controllers.push(controller);
      const response = await gitchat.app.handle(new Request("http://localhost/c/local/general/events", { signal: controller.signal }));
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses[10]).toBe(429);
    for (const c of controllers) c.abort();
  } finally {
    await gitchat.close();
  }
});
