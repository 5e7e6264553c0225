/**
 * Every bad input gets a 4xx with `{error: {code, message}}` and changes
 * nothing: no message in SQLite, no commit, no object in git, no channel.
 */
import { isMessagePath } from "../../src/messages/layout.ts";
import { test, expect, describe, beforeAll, afterAll } from "bun:test";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { call, callWith, openTestGitchat, type Answer } from "../support/app.ts";
import type { Gitchat } from "../../src/gitchat.ts";

const KiB = 1024;

/** A request built by hand, for bodies `call` cannot send (bytes, streams, forms, no content-type). */
const send = callWith;

const postJsonText = (gitchat: Gitchat, text: string) =>
  send(gitchat, "POST", "/messages", { body: text, headers: { "content-type": "application/json" } });

/** Every file under objects/, loose or packed: a refused message must write no blob, tree or commit. */
const countObjects = (gitdir: string) => {
  const objects = join(gitdir, "objects");
  return readdirSync(objects, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
};

/** The branch as it is on disk, not as the store has it cached. */
const refOnDisk = (gitdir: string) => {
  const path = join(gitdir, "refs", "heads", "main");
  return existsSync(path) ? readFileSync(path, "utf8").trim() : undefined;
};

/** What a bad request must leave as it was. */
const snapshot = async (gitchat: Gitchat) => {
  const listed = await call(gitchat, "GET", "/messages?limit=1000");
  const repositories = await call(gitchat, "GET", "/repositories");
  const store = gitchat.repositories.resolve("local/general").store;
  return {
    messages: (listed.body as { id: string }[]).map((m) => m.id),
    repositories: repositories.body,
    head: await store.head(),
    ref: refOnDisk(store.gitdir),
    objects: countObjects(store.gitdir),
    stored: gitchat.db.countMessages(),
  };
};

const expectRefused = (answer: Answer, status: number, code: string, mentions: RegExp) => {
  expect(answer.status).toBe(status);
  expect(answer.headers.get("content-type")).toContain("application/json");
  expect(answer.body).toEqual({ error: { code, message: expect.any(String) } });
  const message: string = answer.body.error.message;
  expect(message).toMatch(mentions);
  expect(message).not.toMatch(/\n\s+at /);
};

type Case = { name: string; request: (gitchat: Gitchat) => Promise<Answer>; status: number; code: string; mentions: RegExp };

const postMessage = (body: unknown) => (gitchat: Gitchat) => call(gitchat, "POST", "/messages", body);

const messageCases: Case[] = [
  { name: "empty content", request: postMessage({ content: "" }), status: 400, code: "invalid_input", mentions: /content.*empty/ },
  { name: "blank content", request: postMessage({ content: "   \n" }), status: 400, code: "invalid_input", mentions: /content.*empty/ },
  { name: "content of tabs and newlines only", request: postMessage({ content: "\t\r\n\t" }), status: 400, code: "invalid_input", mentions: /content/ },
  { name: "content that is a number", request: postMessage({ content: 42 }), status: 400, code: "invalid_input", mentions: /content.*string/ },
  { name: "content that is null", request: postMessage({ content: null }), status: 400, code: "invalid_input", mentions: /content.*string/ },
  { name: "content that is an array", request: postMessage({ content: ["hi"] }), status: 400, code: "invalid_input", mentions: /content.*string/ },
  { name: "content that is an object", request: postMessage({ content: { text: "hi" } }), status: 400, code: "invalid_input", mentions: /content.*string/ },
  { name: "content that is true", request: postMessage({ content: true }), status: 400, code: "invalid_input", mentions: /content.*string/ },
  { name: "a body without content", request: postMessage({}), status: 400, code: "invalid_input", mentions: /content/ },
  { name: "a body with a repository but no content", request: postMessage({ repository: "local/general", type: "message" }), status: 400, code: "invalid_input", mentions: /content/ },
  { name: "a body that is a JSON array", request: postMessage([{ content: "hi" }]), status: 400, code: "invalid_input", mentions: /content|object/ },
  { name: "a body that is a JSON string", request: (g) => postJsonText(g, '"hi"'), status: 400, code: "invalid_input", mentions: /content|object/ },
  { name: "a body that is JSON null", request: (g) => postJsonText(g, "null"), status: 400, code: "invalid_input", mentions: /content|object/ },
  { name: "a body that is a JSON number", request: (g) => postJsonText(g, "42"), status: 400, code: "invalid_input", mentions: /content|object/ },
  { name: "no body at all", request: (g) => send(g, "POST", "/messages"), status: 400, code: "invalid_input", mentions: /content|object|body/ },
  { name: "content of 10,001 characters", request: postMessage({ content: "a".repeat(10_001) }), status: 400, code: "invalid_input", mentions: /10,001.*10,000/ },
  { name: "content of 10,001 emoji", request: postMessage({ content: "😀".repeat(10_001) }), status: 400, code: "invalid_input", mentions: /10,001.*10,000/ },
  { name: "content holding a NUL byte", request: postMessage({ content: "a\u0000b" }), status: 400, code: "invalid_input", mentions: /NUL/ },
  { name: "content that is a lone high surrogate", request: (g) => postJsonText(g, '{"content":"\\ud800"}'), status: 400, code: "invalid_input", mentions: /surrogate|Unicode/ },
  { name: "content holding a lone low surrogate", request: (g) => postJsonText(g, '{"content":"ab\\udc00cd"}'), status: 400, code: "invalid_input", mentions: /surrogate|Unicode/ },
  { name: "surrogates in the wrong order", request: (g) => postJsonText(g, '{"content":"\\ude00\\ud83d"}'), status: 400, code: "invalid_input", mentions: /surrogate|Unicode/ },
  { name: "truncated JSON", request: (g) => postJsonText(g, '{"content": "hi"'), status: 400, code: "invalid_json", mentions: /JSON/ },
  { name: "JSON with unquoted keys", request: (g) => postJsonText(g, '{content: "hi"}'), status: 400, code: "invalid_json", mentions: /JSON/ },
  { name: "JSON followed by garbage", request: (g) => postJsonText(g, '{"content":"hi"} and more'), status: 400, code: "invalid_json", mentions: /JSON/ },
  { name: "an empty body declared as JSON", request: (g) => postJsonText(g, ""), status: 400, code: "invalid_json", mentions: /JSON/ },
  { name: "deeply nested JSON", request: (g) => postJsonText(g, "[".repeat(30_000)), status: 400, code: "invalid_json", mentions: /JSON/ },
  {
    name: "a body that is not UTF-8",
    request: (g) =>
      send(g, "POST", "/messages", {
        body: new Uint8Array([...new TextEncoder().encode('{"content":"'), 0xff, 0xfe, ...new TextEncoder().encode('"}')]),
        headers: { "content-type": "application/json" },
      }),
    status: 400,
    code: "invalid_json",
    mentions: /UTF-8/,
  },
  { name: "a body over 64 KiB", request: postMessage({ content: "a".repeat(70 * KiB) }), status: 413, code: "payload_too_large", mentions: /64 KiB/ },
  {
    name: "a body of 64 KiB and one byte",
    request: (g) => postJsonText(g, `{"content":"hi"${" ".repeat(64 * KiB - 15)}}`),
    status: 413,
    code: "payload_too_large",
    mentions: /64 KiB/,
  },
  {
    name: "a content-length over 64 KiB",
    request: (g) =>
      send(g, "POST", "/messages", { body: '{"content":"hi"}', headers: { "content-type": "application/json", "content-length": String(1024 * KiB) } }),
    status: 413,
    code: "payload_too_large",
    mentions: /64 KiB/,
  },
  {
    name: "a body as text/plain",
    request: (g) => send(g, "POST", "/messages", { body: '{"content":"hi"}', headers: { "content-type": "text/plain" } }),
    status: 415,
    code: "unsupported_media_type",
    mentions: /application\/json/,
  },
  {
    name: "a url-encoded form",
    request: (g) => send(g, "POST", "/messages", { body: "content=hi", headers: { "content-type": "application/x-www-form-urlencoded" } }),
    status: 415,
    code: "unsupported_media_type",
    mentions: /application\/json/,
  },
  {
    // POST /messages takes multipart/form-data (a message with files: test/http/attachments.test.ts); other JSON routes do not.
    name: "a multipart form to a route that takes only JSON",
    request: (g) => {
      const form = new FormData();
      form.set("owner", "acme");
      form.set("name", "forms");
      return send(g, "POST", "/repositories", { body: form });
    },
    status: 415,
    code: "unsupported_media_type",
    mentions: /application\/json/,
  },
  {
    name: "a JSON body sent without a content-type",
    request: (g) => send(g, "POST", "/messages", { body: new TextEncoder().encode('{"content":"hi"}') }),
    status: 415,
    code: "unsupported_media_type",
    mentions: /application\/json/,
  },
  {
    name: "a content-type that only starts like JSON",
    request: (g) => send(g, "POST", "/messages", { body: '{"content":"hi"}', headers: { "content-type": "application/jsonx" } }),
    status: 415,
    code: "unsupported_media_type",
    mentions: /application\/json/,
  },
  { name: "an unknown repository", request: postMessage({ content: "hi", repository: "nobody/nothing" }), status: 404, code: "unknown_repository", mentions: /nobody\/nothing.*POST \/repositories/ },
  { name: "a repository without an owner", request: postMessage({ content: "hi", repository: "nope" }), status: 400, code: "invalid_input", mentions: /owner\/name/ },
  { name: "a repository with too many parts", request: postMessage({ content: "hi", repository: "a/b/c" }), status: 400, code: "invalid_input", mentions: /owner\/name/ },
  { name: "an empty repository", request: postMessage({ content: "hi", repository: "" }), status: 400, code: "invalid_input", mentions: /owner\/name/ },
  { name: "a repository with an empty name", request: postMessage({ content: "hi", repository: "local/" }), status: 400, code: "invalid_input", mentions: /name/ },
  { name: "a repository whose owner GitHub would refuse", request: postMessage({ content: "hi", repository: "-local/general" }), status: 400, code: "invalid_input", mentions: /owner/ },
  { name: "a repository path that climbs out", request: postMessage({ content: "hi", repository: "../general" }), status: 400, code: "invalid_input", mentions: /owner/ },
  { name: "a repository that is a number", request: postMessage({ content: "hi", repository: 7 }), status: 400, code: "invalid_input", mentions: /repository/ },
  { name: "a type with spaces", request: postMessage({ content: "hi", type: "Has Spaces" }), status: 400, code: "invalid_input", mentions: /type.*Has Spaces/ },
  { name: "an empty type", request: postMessage({ content: "hi", type: "" }), status: 400, code: "invalid_input", mentions: /type/ },
  { name: "a type of 33 characters", request: postMessage({ content: "hi", type: "t".repeat(33) }), status: 400, code: "invalid_input", mentions: /type/ },
  { name: "a type that is a number", request: postMessage({ content: "hi", type: 1 }), status: 400, code: "invalid_input", mentions: /type/ },
];

const get = (path: string) => (gitchat: Gitchat) => call(gitchat, "GET", path);

const queryCases: Case[] = [
  { name: "limit=0", request: get("/messages?limit=0"), status: 400, code: "invalid_input", mentions: /limit.*1 to 1000/ },
  { name: "limit=1001", request: get("/messages?limit=1001"), status: 400, code: "invalid_input", mentions: /limit.*1 to 1000/ },
  { name: "limit=abc", request: get("/messages?limit=abc"), status: 400, code: "invalid_input", mentions: /limit.*1 to 1000/ },
  { name: "limit=-5", request: get("/messages?limit=-5"), status: 400, code: "invalid_input", mentions: /limit/ },
  { name: "limit=1.5", request: get("/messages?limit=1.5"), status: 400, code: "invalid_input", mentions: /limit/ },
  { name: "an empty limit", request: get("/messages?limit="), status: 400, code: "invalid_input", mentions: /limit/ },
  { name: "after=-1", request: get("/messages?after=-1"), status: 400, code: "invalid_input", mentions: /after.*cursor/ },
  { name: "after=abc", request: get("/messages?after=abc"), status: 400, code: "invalid_input", mentions: /after.*cursor/ },
  { name: "after=1.5", request: get("/messages?after=1.5"), status: 400, code: "invalid_input", mentions: /after/ },
  { name: "before=notanid", request: get("/messages?before=notanid"), status: 400, code: "invalid_input", mentions: /before.*message id/ },
  {
    name: "before= a UUID that is not v7",
    request: get(`/messages?before=${crypto.randomUUID()}`),
    status: 400,
    code: "invalid_input",
    mentions: /before/,
  },
  { name: "repository=nope", request: get("/messages?repository=nope"), status: 400, code: "invalid_input", mentions: /owner\/name/ },
  { name: "an unknown repository=", request: get("/messages?repository=nobody/nothing"), status: 404, code: "unknown_repository", mentions: /nobody\/nothing/ },
  { name: "a search over 500 characters", request: get(`/messages?q=${"a".repeat(501)}`), status: 400, code: "invalid_input", mentions: /q.*500/ },
];

const routeCases: Case[] = [
  { name: "an unknown route", request: get("/nope"), status: 404, code: "not_found", mentions: /openapi/ },
  { name: "a POST to an unknown route", request: (g) => call(g, "POST", "/nope", { content: "hi" }), status: 404, code: "not_found", mentions: /route/ },
  { name: "a path below /messages", request: get("/messages/123"), status: 404, code: "not_found", mentions: /route/ },
];

const wrongMethods: [string, string][] = [
  ["PUT", "/messages"],
  ["DELETE", "/messages"],
  ["PATCH", "/messages"],
  ["DELETE", "/repositories"],
  ["PUT", "/repositories"],
  ["POST", "/health"],
  ["DELETE", "/health"],
  ["POST", "/openapi.json"],
];

describe("bad input is refused and changes nothing", () => {
  let gitchat: Gitchat;
  beforeAll(async () => {
    gitchat = await openTestGitchat();
    // A channel that already has history, so "unchanged" means more than "still empty".
    for (const content of ["first", "second"]) expect((await call(gitchat, "POST", "/messages", { content })).status).toBe(201);
  });
  afterAll(async () => {
    await gitchat.close();
  });

  const refusedUnchanged = (c: Case, what: string) =>
    test(`${what} is refused with ${c.status} ${c.code} and changes nothing`, async () => {
      const before = await snapshot(gitchat);
      expectRefused(await c.request(gitchat), c.status, c.code, c.mentions);
      expect(await snapshot(gitchat)).toEqual(before);
    });

  describe("POST /messages", () => {
    for (const c of messageCases) refusedUnchanged(c, `a message with ${c.name}`);
  });

  describe("GET /messages", () => {
    for (const c of queryCases) refusedUnchanged(c, `a listing with ${c.name}`);
  });

  describe("routes", () => {
    for (const c of routeCases) refusedUnchanged(c, c.name);

    for (const [method, path] of wrongMethods) {
      test(`${method} ${path} answers a 4xx JSON error, not a 5xx`, async () => {
        const before = await snapshot(gitchat);
        const answer = await call(gitchat, method, path, method === "DELETE" || method === "OPTIONS" ? undefined : { content: "hi" });
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(answer.headers.get("content-type")).toContain("application/json");
        expect(answer.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
        expect(await snapshot(gitchat)).toEqual(before);
      });
    }
  });

  test("OPTIONS /messages is a CORS preflight: 204, and no allowance for an origin that is not listed", async () => {
    const before = await snapshot(gitchat);
    const answer = await call(gitchat, "OPTIONS", "/messages", undefined, { origin: "https://elsewhere.example", "access-control-request-method": "POST" });
    expect(answer.status).toBe(204);
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
    expect(await snapshot(gitchat)).toEqual(before);
  });

  test("a body streamed without a content-length is refused once it passes 64 KiB, without reading the rest", async () => {
    const before = await snapshot(gitchat);
    const total = 10 * 1024 * KiB;
    let pulled = 0;
    const prefix = new TextEncoder().encode('{"content":"');
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= total) return controller.close();
        const chunk = pulled === 0 ? prefix : new Uint8Array(8 * KiB).fill(0x61);
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const request = new Request("http://localhost/messages", {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    expect(request.headers.get("content-length")).toBe(null);
    const response = await gitchat.app.handle(request);
    const answer: Answer = { status: response.status, headers: response.headers, body: await response.json() };
    expectRefused(answer, 413, "payload_too_large", /64 KiB/);
    expect(pulled).toBeLessThan(total / 4);
    expect(await snapshot(gitchat)).toEqual(before);
  });

  test("a search holding a NUL byte is answered as a search or a 400, never a 5xx", async () => {
    for (const q of ["a%00b", "%00", "fox%00"]) {
      const answer = await call(gitchat, "GET", `/messages?q=${q}`);
      expect({ q, serverError: answer.status >= 500 }).toEqual({ q, serverError: false });
      expect(answer.headers.get("content-type")).toContain("application/json");
      if (answer.status !== 200) expectRefused(answer, 400, "invalid_input", /q|search|NUL/);
    }
  });

  test("a cursor too large to be real is refused, or answered with a next cursor that can be polled", async () => {
    const answer = await call(gitchat, "GET", "/messages?after=99999999999999999999999");
    if (answer.status !== 200) return expectRefused(answer, 400, "invalid_input", /after/);
    const next = answer.headers.get("x-next-cursor");
    expect(next).toMatch(/^\d+$/);
    expect((await call(gitchat, "GET", `/messages?after=${next}`)).status).toBe(200);
  });

  test("bad messages sent beside good ones are refused alone: every good one is committed", async () => {
    const before = await snapshot(gitchat);
    const bodies = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? { content: `good ${i}` } : [{ content: "" }, { content: 1 }, { content: "x", type: "Bad Type" }, { content: "x", repository: "no/such" }][i % 4]!,
    );
    const answers = await Promise.all(bodies.map((body) => call(gitchat, "POST", "/messages", body)));
    const good = answers.filter((_, i) => i % 2 === 0);
    const bad = answers.filter((_, i) => i % 2 === 1);
    expect(good.map((a) => a.status)).toEqual(good.map(() => 201));
    for (const a of bad) expect([400, 404]).toContain(a.status);
    const after = await snapshot(gitchat);
    expect(after.messages.length).toBe(before.messages.length + 20);
    const head = after.head!;
    const paths = new Set((await gitchat.repositories.resolve("local/general").store.listFiles(head, isMessagePath)).map((f) => f.path));
    expect(paths.size).toBe(before.messages.length + 20);
    for (const a of good) expect([...paths].some((p) => p.endsWith(`/${a.body.id}.json`))).toBe(true);
  });
});

describe("bad channel requests are refused and change nothing", () => {
  let gitchat: Gitchat;
  beforeAll(async () => {
    gitchat = await openTestGitchat();
  });
  afterAll(async () => {
    await gitchat.close();
  });

  const cases: Case[] = [
    { name: "truncated JSON", request: (g) => send(g, "POST", "/repositories", { body: '{"owner":"a"', headers: { "content-type": "application/json" } }), status: 400, code: "invalid_json", mentions: /JSON/ },
    { name: "a form", request: (g) => send(g, "POST", "/repositories", { body: "owner=a&name=b", headers: { "content-type": "application/x-www-form-urlencoded" } }), status: 415, code: "unsupported_media_type", mentions: /application\/json/ },
    { name: "a body over 64 KiB", request: (g) => call(g, "POST", "/repositories", { owner: "a", name: "b", pad: "x".repeat(65 * KiB) }), status: 413, code: "payload_too_large", mentions: /64 KiB/ },
    { name: "a missing name", request: (g) => call(g, "POST", "/repositories", { owner: "a" }), status: 400, code: "invalid_input", mentions: /name/ },
    { name: "an owner GitHub refuses", request: (g) => call(g, "POST", "/repositories", { owner: "a_b", name: "c" }), status: 400, code: "invalid_input", mentions: /owner/ },
  ];
  for (const c of cases) {
    test(`a channel request with ${c.name} is refused with ${c.status} ${c.code} and changes nothing`, async () => {
      const before = await snapshot(gitchat);
      expectRefused(await c.request(gitchat), c.status, c.code, c.mentions);
      expect(await snapshot(gitchat)).toEqual(before);
    });
  }
});

describe("input at the limits is accepted", () => {
  let gitchat: Gitchat;
  beforeAll(async () => {
    gitchat = await openTestGitchat();
  });
  afterAll(async () => {
    await gitchat.close();
  });

  const accepted = async (body: unknown) => {
    const answer = await call(gitchat, "POST", "/messages", body);
    expect(answer.status).toBe(201);
    const listed = await call(gitchat, "GET", "/messages?limit=1");
    expect(listed.body).toEqual([answer.body]);
    return answer.body;
  };

  test("content of exactly 10,000 characters is accepted whole", async () => {
    const content = "a".repeat(10_000);
    expect((await accepted({ content })).content).toBe(content);
  });

  test("10,000 emoji are accepted: the limit counts characters, not UTF-16 units", async () => {
    const content = "😀".repeat(10_000);
    expect(content.length).toBe(20_000);
    expect((await accepted({ content })).content).toBe(content);
  });

  test("a single character is accepted", async () => {
    expect((await accepted({ content: "x" })).content).toBe("x");
  });

  test("a well-formed surrogate pair sent as JSON escapes is accepted", async () => {
    const answer = await postJsonText(gitchat, '{"content":"\\ud83d\\ude00"}');
    expect(answer.status).toBe(201);
    expect(answer.body.content).toBe("😀");
  });

  test("a body of exactly 64 KiB is accepted", async () => {
    const text = `{"content":"hi"${" ".repeat(64 * KiB - 16)}}`;
    expect(new TextEncoder().encode(text).byteLength).toBe(64 * KiB);
    const answer = await postJsonText(gitchat, text);
    expect(answer.status).toBe(201);
  });

  test("a JSON content-type with a charset or a +json suffix is accepted", async () => {
    for (const type of ["application/json; charset=utf-8", "Application/JSON", "application/vnd.gitchat+json"]) {
      const answer = await send(gitchat, "POST", "/messages", { body: '{"content":"typed"}', headers: { "content-type": type } });
      expect({ type, status: answer.status }).toEqual({ type, status: 201 });
    }
  });

  test("a type of 32 lower-case letters, digits, - and _ is accepted", async () => {
    const type = "a1-_".repeat(8);
    expect((await accepted({ content: "typed", type })).type).toBe(type);
  });
});
