/**
 * Incoming webhooks, with payloads shaped as Slack documents them ("Sending
 * messages using incoming webhooks": `{"text": ...}` as JSON, `username`,
 * the form field `payload=`, mrkdwn text, and `attachments`/`blocks`, which
 * gitchat ignores). An admin makes one for a channel; posting to its URL puts
 * the text into that channel as the hook's bot; bad input changes nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Gitchat } from "../../src/gitchat.ts";
import { call, openTestGitchat, type Answer } from "../support/app.ts";
import { runCli, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "hooks-access-token-for-tests";
const admin = { authorization: `Bearer ${TOKEN}` };

const expectRefused = (answer: Answer, status: number, code: string) => {
  expect([answer.status, answer.body?.error?.code]).toEqual([status, code]);
  expect(typeof answer.body.error.message).toBe("string");
};

/** A post to a hook's URL, as a program sends it (no Origin, no cookie). */
const post = (gitchat: Gitchat, url: string, body: string, contentType = "application/json", headers: Record<string, string> = {}) =>
  call(gitchat, "POST", new URL(url).pathname, body, { "content-type": contentType, ...headers });

describe("incoming webhooks", () => {
  let gitchat: Gitchat;
  let hook: { id: string; url: string; login: string };
  const ops = () => call(gitchat, "GET", "/messages?repository=acme/ops", undefined, admin).then((a) => a.body as Record<string, unknown>[]);
  const head = () => gitchat.repositories.resolve("acme/ops").store.head();

  beforeAll(async () => {
    gitchat = await openTestGitchat({ env: { ACCESS_TOKEN: TOKEN, PUBLIC_URL: "https://chat.example.com" } });
    expect((await call(gitchat, "POST", "/repositories", { owner: "acme", name: "ops" }, admin)).status).toBe(201);
    const made = await call(gitchat, "POST", "/hooks", { repository: "Acme/Ops", name: "CI" }, admin);
    expect(made.status).toBe(201);
    hook = made.body;
  });
  afterAll(() => gitchat.close());

  test("an admin makes a hook for a channel: its URL (with the secret) is shown once; the list and the database hold no secret", async () => {
    expect(hook.url).toMatch(/^https:\/\/chat\.example\.com\/hooks\/[A-Za-z0-9_-]{43}$/);
    const secret = hook.url.split("/hooks/")[1]!;
    const listed = await call(gitchat, "GET", "/hooks", undefined, admin);
    expect(listed.body).toEqual([{ id: hook.id, repository: "acme/ops", name: "CI", login: `hook-${hook.id}`, created_at: expect.any(String) }]);
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    const stored = gitchat.db.sqlite.query("SELECT * FROM hooks").all();
    expect(JSON.stringify(stored)).not.toContain(secret);
  });

  test("text alone, as JSON: 200 ok, and the message is in the hook's channel as its bot", async () => {
    const answer = await post(gitchat, hook.url, JSON.stringify({ text: "Hello, world." }));
    expect([answer.status, answer.body, answer.headers.get("content-type")]).toEqual([200, "ok", "text/plain; charset=utf-8"]);
    const last = (await ops()).at(-1)!;
    expect([last.content, last.author, last.author_id, last.bot]).toEqual(["Hello, world.", "CI", `local:hook-${hook.id}`, true]);
  });

  test("username changes the name shown for that message, never its author id", async () => {
    expect((await post(gitchat, hook.url, JSON.stringify({ text: "build 41 passed", username: "ghost-bot", icon_emoji: ":ghost:" }))).status).toBe(200);
    const last = (await ops()).at(-1)!;
    expect([last.content, last.author, last.author_id, last.bot]).toEqual(["build 41 passed", "ghost-bot", `local:hook-${hook.id}`, true]);
  });

  test("Slack's form shape, payload=<json>, posts the same way", async () => {
    const form = new URLSearchParams({ payload: JSON.stringify({ text: "This is a line of text.\nAnd this is another one." }) }).toString();
    const answer = await post(gitchat, hook.url, form, "application/x-www-form-urlencoded");
    expect([answer.status, answer.body]).toEqual([200, "ok"]);
    expect((await ops()).at(-1)!.content).toBe("This is a line of text.\nAnd this is another one.");
  });

  test("mrkdwn text is kept as written; attachments, blocks and channel are ignored (the text goes to the hook's own channel)", async () => {
    const text = "*Deploy* of <https://example.com/run/7|run 7> _finished_ :tada:\n> all green";
    const payload = {
      text,
      channel: "#general",
      attachments: [{ color: "#36a64f", title: "Details", text: "not shown" }],
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "not shown either" } }],
    };
    expect((await post(gitchat, hook.url, JSON.stringify(payload))).status).toBe(200);
    expect((await ops()).at(-1)!.content).toBe(text);
    const general = (await call(gitchat, "GET", "/messages?repository=local/general", undefined, admin)).body;
    expect(general.map((m: { content: string }) => m.content)).not.toContain(text);
  });

  test("bad input gets a clear 4xx and changes nothing", async () => {
    const before = { messages: (await ops()).length, head: await head() };
    const big = JSON.stringify({ text: "x".repeat(70 * 1024) });
    const cases: [Answer, number, string][] = [
      [await post(gitchat, `${hook.url}x`, JSON.stringify({ text: "wrong secret" })), 404, "not_found"],
      [await post(gitchat, hook.url, JSON.stringify({ text: "" })), 400, "invalid_input"],
      [await post(gitchat, hook.url, JSON.stringify({ text: "   " })), 400, "invalid_input"],
      // Blocks only: Slack would draw them; gitchat posts text only.
      [await post(gitchat, hook.url, JSON.stringify({ blocks: [{ type: "section", text: { type: "mrkdwn", text: "hi" } }] })), 400, "invalid_input"],
      [await post(gitchat, hook.url, '{"text": "unterminated'), 400, "invalid_json"],
      [await post(gitchat, hook.url, new URLSearchParams({ payload: "{not json" }).toString(), "application/x-www-form-urlencoded"), 400, "invalid_json"],
      [await post(gitchat, hook.url, JSON.stringify(["text"])), 400, "invalid_input"],
      [await post(gitchat, hook.url, JSON.stringify({ text: "hi", username: 7 })), 400, "invalid_input"],
      [await post(gitchat, hook.url, JSON.stringify({ text: "hi", username: "a\nb" })), 400, "invalid_input"],
      [await post(gitchat, hook.url, JSON.stringify({ text: "y".repeat(10_001) })), 400, "invalid_input"],
      [await post(gitchat, hook.url, big), 413, "payload_too_large"],
      [await post(gitchat, hook.url, "text=hi", "text/plain"), 415, "unsupported_media_type"],
    ];
    for (const [answer, status, code] of cases) expectRefused(answer, status, code);
    expect({ messages: (await ops()).length, head: await head() }).toEqual(before);
  });

  test("another site's page may post to a hook (its secret is its credential), but not make one", async () => {
    const foreign = { origin: "https://evil.example", "sec-fetch-site": "cross-site" };
    expect((await post(gitchat, hook.url, JSON.stringify({ text: "from a browser elsewhere" }), "application/json", foreign)).status).toBe(200);
    expectRefused(await call(gitchat, "POST", "/hooks", { repository: "acme/ops", name: "Evil" }, { ...admin, ...foreign }), 403, "cross_site");
  });

  test("making, listing and removing hooks is for admins; a member is refused", async () => {
    await call(gitchat, "POST", "/users", { login: "mia", role: "bot" }, admin);
    const mia = { authorization: `Bearer ${(await call(gitchat, "POST", "/users/mia/tokens", {}, admin)).body.token}` };
    expectRefused(await call(gitchat, "POST", "/hooks", { repository: "acme/ops", name: "Mine" }, mia), 403, "forbidden");
    expectRefused(await call(gitchat, "GET", "/hooks", undefined, mia), 403, "forbidden");
    expectRefused(await call(gitchat, "POST", "/hooks", { repository: "nobody/nothing", name: "Lost" }, admin), 404, "unknown_repository");
    expectRefused(await call(gitchat, "POST", "/hooks", { repository: "acme/ops", name: "" }, admin), 400, "invalid_input");
    expect((await call(gitchat, "GET", "/hooks", undefined, admin)).body).toHaveLength(1);
  });

  test("a hook whose bot account was removed by hand answers 404 and stores nothing", async () => {
    const other = (await call(gitchat, "POST", "/hooks", { repository: "acme/ops", name: "Doomed" }, admin)).body;
    expect((await call(gitchat, "DELETE", `/users/${other.login}`, undefined, admin)).status).toBe(204);
    const posted = (await ops()).length;
    expectRefused(await post(gitchat, other.url, JSON.stringify({ text: "from a removed bot" })), 404, "not_found");
    expect((await ops()).length).toBe(posted);
    expect((await call(gitchat, "DELETE", `/hooks/${other.id}`, undefined, admin)).status).toBe(204);
  });

  test("a removed hook's URL stops working at once; its messages stay", async () => {
    const posted = (await ops()).length;
    expect((await call(gitchat, "DELETE", `/hooks/${hook.id}`, undefined, admin)).status).toBe(204);
    expectRefused(await post(gitchat, hook.url, JSON.stringify({ text: "after removal" })), 404, "not_found");
    expect((await call(gitchat, "GET", "/hooks", undefined, admin)).body).toEqual([]);
    expectRefused(await call(gitchat, "DELETE", `/hooks/${hook.id}`, undefined, admin), 404, "not_found");
    expect((await ops()).length).toBe(posted);
  });
});

test("a hook is limited like a person: past RATE_LIMIT messages a minute it gets 429, and nothing is stored", async () => {
  const gitchat = await openTestGitchat({ env: { RATE_LIMIT: "2" } });
  try {
    const { url } = (await call(gitchat, "POST", "/hooks", { repository: "local/general", name: "Chatty" })).body;
    const answers = [];
    for (const text of ["one", "two", "three"]) answers.push((await post(gitchat, url, JSON.stringify({ text }))).status);
    expect(answers).toEqual([200, 200, 429]);
    expect((await call(gitchat, "GET", "/messages")).body.map((m: { content: string }) => m.content)).toEqual(["one", "two"]);
  } finally {
    await gitchat.close();
  }
});

test("in the open local mode, making a hook (a bot account) does not turn accounts on, then or after a restart", async () => {
  const dataDir = tempDir();
  let gitchat = await openTestGitchat({ dataDir });
  expect((await call(gitchat, "POST", "/hooks", { repository: "local/general", name: "CI" })).status).toBe(201);
  expect((await call(gitchat, "POST", "/messages", { content: "still open" })).status).toBe(201);
  await gitchat.close();
  gitchat = await openTestGitchat({ dataDir });
  try {
    expect((await call(gitchat, "POST", "/messages", { content: "open after a restart" })).status).toBe(201);
  } finally {
    await gitchat.close();
  }
});

test("a hook's secret never reaches the server's log, whatever is posted to it (a real gitchat serve)", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  try {
    const made = await fetch(`${server.url}/hooks`, {
      method: "POST",
      headers: { ...admin, "content-type": "application/json" },
      body: JSON.stringify({ repository: "local/general", name: "CI" }),
    });
    const { url } = (await made.json()) as { url: string };
    const secret = url.split("/hooks/")[1]!;
    const at = `${server.url}/hooks/${secret}`;
    const sent = [
      await fetch(at, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "deployed" }) }),
      await fetch(at, { method: "POST", headers: { "content-type": "application/json" }, body: "{bad" }),
      await fetch(at, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "x".repeat(2_000_000) }) }),
      await fetch(`${at}/extra`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }),
    ];
    expect(sent.map((r) => r.status)).toEqual([200, 400, 413, 404]);
    await server.stop();
    expect(server.output()).not.toContain(secret);
  } finally {
    await server.stop();
  }
});

test("gitchat rebuild keeps the hooks (git holds none): the URL still posts afterwards", async () => {
  const dataDir = tempDir();
  let gitchat = await openTestGitchat({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  const { url } = (await call(gitchat, "POST", "/hooks", { repository: "local/general", name: "CI" }, admin)).body;
  expect((await post(gitchat, url, JSON.stringify({ text: "before the rebuild" }))).status).toBe(200);
  await gitchat.close();
  const rebuilt = await runCli(["rebuild"], { dataDir, env: { ACCESS_TOKEN: TOKEN } });
  expect(rebuilt.code).toBe(0);
  gitchat = await openTestGitchat({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  try {
    expect((await post(gitchat, url, JSON.stringify({ text: "after the rebuild" }))).status).toBe(200);
    const messages = (await call(gitchat, "GET", "/messages", undefined, admin)).body;
    expect(messages.map((m: { content: string; bot: boolean }) => [m.content, m.bot])).toEqual([["before the rebuild", true], ["after the rebuild", true]]);
  } finally {
    await gitchat.close();
  }
});
