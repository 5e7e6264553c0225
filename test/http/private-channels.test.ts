/**
 * Private channels through the API and the page's routes: to someone outside,
 * a private channel does not exist (the 404 of an unknown name, absent from
 * every list, search and poll); its creator and admins choose its members;
 * every bad input is a 4xx that changes nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Gitchat } from "../../src/gitchat.ts";
import { accountHeaders, call, openTestGitchat, type Answer } from "../support/app.ts";
import { join } from "node:path";
import { MIGRATIONS } from "../../src/db/database.ts";
import { databaseAtVersion } from "../support/schema.ts";
import { runCli } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "private-channels-access-token";
const operatorHeaders = { authorization: `Bearer ${TOKEN}` };
const operator = { operator: true } as const;

let gitchat: Gitchat;
let dataDir: string;
/** Bearer headers of each account, by login. */
const as: Record<string, Record<string, string>> = {};

const account = (login: string, role: "member" | "admin" | "bot" = "member") => {
  as[login] = accountHeaders(gitchat, login, role);
};

beforeAll(async () => {
  dataDir = tempDir();
  gitchat = await openTestGitchat({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  account("ada");
  account("bo");
  account("cy");
  account("root", "admin");
  account("deploy-bot", "bot");
  // Ada's private channel, with one message no one else may read.
  expect((await call(gitchat, "POST", "/repositories", { owner: "acme", name: "secret", private: true }, as.ada)).status).toBe(201);
  expect((await call(gitchat, "POST", "/messages", { repository: "acme/secret", content: "zebra plans, private" }, as.ada)).status).toBe(201);
  expect((await call(gitchat, "POST", "/messages", { content: "zebra talk, public" }, as.bo)).status).toBe(201);
});
afterAll(() => gitchat.close());

const expectRefused = (answer: Answer, status: number, code: string) => {
  expect([answer.status, answer.body?.error?.code]).toEqual([status, code]);
};
const names = async (headers: Record<string, string>) =>
  (await call(gitchat, "GET", "/repositories", undefined, headers)).body.map((r: { full_name: string }) => r.full_name);
const contents = (answer: Answer) => (answer.body as { content: string }[]).map((m) => m.content);
const members = async (headers = as.ada!) =>
  (await call(gitchat, "GET", "/repositories/acme/secret/members", undefined, headers)).body.members.map((m: { login: string }) => m.login);
/** The very answer an unknown channel gets, with its name in place of `unknown`'s. */
const unknownAnswer = async (method: string, path: string, body: unknown, headers: Record<string, string>) => {
  const answer = await call(gitchat, method, path.replace("acme/secret", "acme/nothing"), body, headers);
  return { status: answer.status, body: JSON.parse(JSON.stringify(answer.body).replaceAll("acme/nothing", "acme/secret")) };
};

describe("to a member outside it, a private channel does not exist", () => {
  test("it is absent from the channel lists (API and sidebar) and marked private for its creator", async () => {
    expect(await names(as.bo!)).toEqual(["local/general"]);
    expect(await names(as["deploy-bot"]!)).toEqual(["local/general"]);
    const mine = (await call(gitchat, "GET", "/repositories", undefined, as.ada)).body;
    expect(mine.map((r: { full_name: string; private: boolean }) => [r.full_name, r.private])).toEqual([["local/general", false], ["acme/secret", true]]);
    const sidebar = await gitchat.app.handle(new Request("http://localhost/ui/channels", { headers: as.bo }));
    expect(await sidebar.text()).not.toContain("acme/secret");
  });

  test("reading, polling, searching and posting answer exactly as for an unknown channel", async () => {
    for (const [method, path, body] of [
      ["GET", "/messages?repository=acme/secret", undefined],
      ["GET", "/messages?repository=acme/secret&after=0", undefined],
      ["GET", "/messages?repository=acme/secret&q=zebra", undefined],
      ["POST", "/messages", { repository: "acme/secret", content: "let me in" }],
      ["GET", "/repositories/acme/secret/members", undefined],
      ["PUT", "/repositories/acme/secret/members/bo", undefined],
      ["DELETE", "/repositories/acme/secret/members/ada", undefined],
    ] as const) {
      const answer = await call(gitchat, method, path, body, as.bo);
      expect([method, path, answer.status, answer.body]).toEqual([method, path, 404, (await unknownAnswer(method, path, body, as.bo!)).body]);
    }
    expect(contents(await call(gitchat, "GET", "/messages?repository=acme/secret", undefined, as.ada))).toEqual(["zebra plans, private"]);
  });

  test("reads across channels (newest, after=, before=, search) leave its messages out", async () => {
    expect(contents(await call(gitchat, "GET", "/messages", undefined, as.bo))).toEqual(["zebra talk, public"]);
    expect(contents(await call(gitchat, "GET", "/messages?after=0", undefined, as.bo))).toEqual(["zebra talk, public"]);
    expect(contents(await call(gitchat, "GET", "/messages?q=zebra", undefined, as.bo))).toEqual(["zebra talk, public"]);
    const later = Bun.randomUUIDv7();
    expect(contents(await call(gitchat, "GET", `/messages?before=${later}`, undefined, as.bo))).toEqual(["zebra talk, public"]);
    expect(contents(await call(gitchat, "GET", `/messages?before=${later}`, undefined, as.ada))).toEqual(["zebra plans, private", "zebra talk, public"]);
    expect(contents(await call(gitchat, "GET", "/messages?q=zebra", undefined, as.ada)).sort()).toEqual(["zebra plans, private", "zebra talk, public"]);
  });

  test("the channel page, its fragments and its live stream are the 404 of an unknown channel", async () => {
    for (const path of ["/c/acme/secret", "/c/acme/secret/messages?after=0", "/c/acme/secret/events"]) {
      const response = await gitchat.app.handle(new Request(`http://localhost${path}`, { headers: as.bo }));
      const unknown = await gitchat.app.handle(new Request(`http://localhost${path.replace("secret", "nothing")}`, { headers: as.bo }));
      expect([path, response.status, (await response.text()).replaceAll("secret", "X")]).toEqual([path, 404, (await unknown.text()).replaceAll("nothing", "X")]);
    }
    const posted = await gitchat.app.handle(
      new Request("http://localhost/c/acme/secret/messages", { method: "POST", headers: { ...as.bo, "content-type": "application/json" }, body: JSON.stringify({ content: "hi" }) }),
    );
    expect(posted.status).toBe(404);
    expect(contents(await call(gitchat, "GET", "/messages?repository=acme/secret", undefined, as.ada))).toEqual(["zebra plans, private"]);
  });

  test("admins, ACCESS_TOKEN and the creator see it", async () => {
    expect(await names(as.root!)).toContain("acme/secret");
    expect(await names(operatorHeaders)).toContain("acme/secret");
    expect(contents(await call(gitchat, "GET", "/messages?repository=acme/secret", undefined, as.root))).toEqual(["zebra plans, private"]);
  });
});

describe("members", () => {
  test("the creator adds a member, who then sees the channel; removed, they no longer do", async () => {
    expect(await members()).toEqual(["ada"]);
    const added = await call(gitchat, "PUT", "/repositories/acme/secret/members/BO", undefined, as.ada);
    expect([added.status, added.body]).toEqual([
      200,
      { private: true, creator: "ada", members: [{ login: "ada", name: "ada", role: "member" }, { login: "bo", name: "bo", role: "member" }] },
    ]);
    expect(await names(as.bo!)).toEqual(["local/general", "acme/secret"]);
    expect(contents(await call(gitchat, "GET", "/messages?q=zebra", undefined, as.bo)).sort()).toEqual(["zebra plans, private", "zebra talk, public"]);
    expect((await call(gitchat, "POST", "/messages", { repository: "acme/secret", content: "bo was here" }, as.bo)).status).toBe(201);

    const removed = await call(gitchat, "DELETE", "/repositories/acme/secret/members/bo", undefined, as.ada);
    expect([removed.status, removed.body.members.map((m: { login: string }) => m.login)]).toEqual([200, ["ada"]]);
    expect(await names(as.bo!)).toEqual(["local/general"]);
    expectRefused(await call(gitchat, "GET", "/messages?repository=acme/secret", undefined, as.bo), 404, "unknown_repository");
  });

  test("a member may leave a private channel; an admin adds anyone, a bot included", async () => {
    expect((await call(gitchat, "PUT", "/repositories/acme/secret/members/cy", undefined, as.root)).status).toBe(200);
    expect((await call(gitchat, "PUT", "/repositories/acme/secret/members/deploy-bot", undefined, as.root)).status).toBe(200);
    expect(await names(as["deploy-bot"]!)).toContain("acme/secret");
    const left = await call(gitchat, "DELETE", "/repositories/acme/secret/members/cy", undefined, as.cy);
    expect([left.status, await names(as.cy!)]).toEqual([200, ["local/general"]]);
    expect((await call(gitchat, "DELETE", "/repositories/acme/secret/members/deploy-bot", undefined, operatorHeaders)).status).toBe(200);
    expect(await members()).toEqual(["ada"]);
  });

  test("a public channel's members are every account, and none can be added to it", async () => {
    const general = await call(gitchat, "GET", "/repositories/local/general/members", undefined, as.bo);
    expect([general.body.private, general.body.members.map((m: { login: string }) => m.login)]).toEqual([false, ["ada", "bo", "cy", "deploy-bot", "root"]]);
    expectRefused(await call(gitchat, "PUT", "/repositories/local/general/members/bo", undefined, as.root), 409, "channel_public");
  });

  test("bad input is a 4xx that changes no one's membership", async () => {
    expect((await call(gitchat, "PUT", "/repositories/acme/secret/members/cy", undefined, as.ada)).status).toBe(200);
    const before = await members();
    expectRefused(await call(gitchat, "PUT", "/repositories/acme/secret/members/nobody", undefined, as.ada), 404, "unknown_user");
    expectRefused(await call(gitchat, "PUT", "/repositories/acme/secret/members/not%20a%20login", undefined, as.ada), 404, "unknown_user");
    // Cy is in the channel but did not create it.
    expectRefused(await call(gitchat, "PUT", "/repositories/acme/secret/members/bo", undefined, as.cy), 403, "forbidden");
    expectRefused(await call(gitchat, "DELETE", "/repositories/acme/secret/members/ada", undefined, as.cy), 403, "forbidden");
    // The creator, not an admin, may not let a bot's token read the channel.
    expectRefused(await call(gitchat, "PUT", "/repositories/acme/secret/members/deploy-bot", undefined, as.ada), 403, "forbidden");
    expectRefused(await call(gitchat, "DELETE", "/repositories/acme/secret/members/ada", undefined, as.root), 409, "creator_stays");
    expectRefused(await call(gitchat, "DELETE", "/repositories/acme/secret/members/bo", undefined, as.ada), 404, "not_found");
    expect(await members()).toEqual(before);
    expect(before).toEqual(["ada", "cy"]);
  });
});

describe("the members page", () => {
  const page = (path: string, headers: Record<string, string>, fields?: Record<string, string>) =>
    gitchat.app.handle(
      new Request(`http://localhost${path}`, fields
        ? { method: "POST", headers: { ...headers, "content-type": "application/x-www-form-urlencoded", origin: "http://localhost" }, body: new URLSearchParams(fields) }
        : { headers }),
    );

  test("the creator adds and removes members with plain forms; a member who did not create it sees the list without the forms", async () => {
    const added = await page("/c/acme/secret/members", as.ada!, { login: "bo" });
    expect([added.status, added.headers.get("location")]).toEqual([303, "/c/acme/secret/members"]);
    expect(await members()).toEqual(["ada", "bo", "cy"]);
    const asCy = await (await page("/c/acme/secret/members", as.cy!)).text();
    expect([asCy.includes('<span class="member-login">bo</span>'), asCy.includes('id="member-login"'), asCy.includes("Remove")]).toEqual([true, false, false]);
    const removed = await page("/c/acme/secret/members/remove", as.ada!, { login: "bo" });
    expect(removed.status).toBe(303);
    expect(await members()).toEqual(["ada", "cy"]);
  });

  test("a refused change shows the page again with the error, under its status, and changes nothing", async () => {
    const unknown = await page("/c/acme/secret/members", as.ada!, { login: "nobody" });
    expect([unknown.status, (await unknown.text()).includes("there is no account &quot;nobody&quot;")]).toEqual([404, true]);
    const notAllowed = await page("/c/acme/secret/members", as.cy!, { login: "bo" });
    expect([notAllowed.status, (await notAllowed.text()).includes("only an admin or the creator of acme/secret may choose its members")]).toEqual([403, true]);
    const htmx = await page("/c/acme/secret/members/remove", { ...as.ada!, "hx-request": "true" }, { login: "ada" });
    const fragment = await htmx.text();
    expect([htmx.status, fragment.startsWith('<section id="members-panel"'), fragment.includes("ada created acme/secret and stays one of its members")]).toEqual([409, true, true]);
    expect(await members()).toEqual(["ada", "cy"]);
  });

  test("an admin makes a channel private and public again from its members page; the creator may not", async () => {
    expect((await (await page("/c/acme/secret/members", as.ada!)).text()).includes("Make public")).toBe(false);
    expect((await page("/c/acme/secret/visibility", as.ada!, { private: "false" })).status).toBe(403);
    const made = await page("/c/local/general/visibility", { ...as.root!, "hx-request": "true" }, { private: "true" });
    expect([made.status, (await made.text()).includes("Make public: everyone sees it")]).toEqual([200, true]);
    expect(await names(as.bo!)).toEqual([]);
    expect((await page("/c/local/general/visibility", as.root!, { private: "false" })).status).toBe(303);
    expect(await names(as.bo!)).toEqual(["local/general"]);
  });
});

describe("creating and changing visibility", () => {
  test("bad input to POST /repositories and PATCH is a 4xx that creates or changes nothing", async () => {
    expectRefused(await call(gitchat, "POST", "/repositories", { owner: "acme", name: "other", private: "yes" }, as.ada), 400, "invalid_input");
    expect(await names(operatorHeaders)).not.toContain("acme/other");
    expectRefused(await call(gitchat, "PATCH", "/repositories/acme/secret", { private: false }, as.ada), 403, "forbidden");
    expectRefused(await call(gitchat, "PATCH", "/repositories/acme/secret", { private: "no" }, as.root), 400, "invalid_input");
    expectRefused(await call(gitchat, "PATCH", "/repositories/acme/secret", {}, as.root), 400, "invalid_input");
    expectRefused(await call(gitchat, "PATCH", "/repositories/acme/nothing", { private: true }, as.root), 404, "unknown_repository");
    expect(await names(as.bo!)).toEqual(["local/general"]);
  });

  test("an admin makes a public channel private (members outside lose it) and public again", async () => {
    const made = await call(gitchat, "PATCH", "/repositories/local/general", { private: true }, as.root);
    expect([made.status, made.body.private]).toEqual([200, true]);
    expect(await names(as.bo!)).toEqual([]);
    expectRefused(await call(gitchat, "POST", "/messages", { content: "anyone?" }, as.bo), 404, "unknown_repository");
    const back = await call(gitchat, "PATCH", "/repositories/local/general", { private: false }, operatorHeaders);
    expect([back.status, back.body.private]).toEqual([200, false]);
    expect(await names(as.bo!)).toEqual(["local/general"]);
  });
});

test("someone removed from a private channel stops receiving its live stream at once", async () => {
  expect((await call(gitchat, "PUT", "/repositories/acme/secret/members/bo", undefined, as.ada)).status).toBe(200);
  const stream = await gitchat.app.handle(new Request("http://localhost/c/acme/secret/events", { headers: as.bo }));
  expect(stream.status).toBe(200);
  const reader = stream.body!.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  while (!seen.includes("retry:")) seen += decoder.decode((await reader.read()).value);
  expect((await call(gitchat, "DELETE", "/repositories/acme/secret/members/bo", undefined, as.ada)).status).toBe(200);
  // No message is sent: the stream ends because Bo was removed, not at the channel's next event.
  expect((await reader.read()).done).toBe(true);
});

test("a channel made private by an admin ends the live streams of those outside it at once", async () => {
  const stream = await gitchat.app.handle(new Request("http://localhost/c/local/general/events", { headers: as.bo }));
  const reader = stream.body!.getReader();
  let seen = "";
  while (!seen.includes("retry:")) seen += new TextDecoder().decode((await reader.read()).value);
  expect((await call(gitchat, "PATCH", "/repositories/local/general", { private: true }, as.root)).status).toBe(200);
  try {
    expect((await reader.read()).done).toBe(true);
  } finally {
    expect((await call(gitchat, "PATCH", "/repositories/local/general", { private: false }, as.root)).status).toBe(200);
  }
});

test("a removed account's live stream of a private channel ends at the channel's next message", async () => {
  account("dee");
  expect((await call(gitchat, "PUT", "/repositories/acme/secret/members/dee", undefined, as.ada)).status).toBe(200);
  const stream = await gitchat.app.handle(new Request("http://localhost/c/acme/secret/events", { headers: as.dee }));
  expect(stream.status).toBe(200);
  const reader = stream.body!.getReader();
  let seen = "";
  while (!seen.includes("retry:")) seen += new TextDecoder().decode((await reader.read()).value);
  gitchat.accounts.remove(operator, "dee");
  expect((await call(gitchat, "POST", "/messages", { repository: "acme/secret", content: "after dee left" }, as.ada)).status).toBe(201);
  // Whatever the stream still gives, it ends without the message sent after the removal.
  let rest = "";
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
  expect(rest).not.toContain("after dee left");
});

test("a rebuilt index keeps who sees which channel (git does not hold it)", async () => {
  const dir = tempDir();
  const first = await openTestGitchat({ dataDir: dir, env: { ACCESS_TOKEN: TOKEN } });
  first.accounts.add(operator, { login: "ada" });
  first.accounts.add(operator, { login: "bo" });
  first.accounts.add(operator, { login: "cy" });
  const ada = { account: first.accounts.get("ada") };
  await first.channelAccess.create(ada, "acme", "secret", true);
  first.channelAccess.addMember(ada, "acme/secret", "bo");
  await first.close();
  expect((await runCli(["rebuild"], { dataDir: dir })).code).toBe(0);
  const second = await openTestGitchat({ dataDir: dir, env: { ACCESS_TOKEN: TOKEN } });
  try {
    const seers = ["ada", "bo", "cy"].filter((login) => second.channelAccess.list({ account: second.accounts.get(login) }).some((c) => c.fullName === "acme/secret"));
    expect(seers).toEqual(["ada", "bo"]);
  } finally {
    await second.close();
  }
});

test("channels of an index from before private channels are public after the upgrade, and their creator is unknown", async () => {
  const dir = tempDir();
  const before = MIGRATIONS.findIndex((migration) => migration.includes("CREATE TABLE channel_access"));
  const old = databaseAtVersion(join(dir, "gitchat.db"), before);
  old.run("INSERT INTO repositories (owner, name, created_at) VALUES ('acme', 'old', '2026-01-01T00:00:00.000Z')");
  old.close();
  const upgraded = await openTestGitchat({ dataDir: dir, env: { ACCESS_TOKEN: TOKEN } });
  try {
    upgraded.accounts.add(operator, { login: "ada" });
    const ada = { account: upgraded.accounts.get("ada") };
    expect(upgraded.channelAccess.list(ada).map((c) => [c.fullName, upgraded.channelAccess.isPrivate(c)])).toEqual([["acme/old", false], ["local/general", false]]);
    expect(upgraded.channelAccess.members(ada, "acme/old")).toMatchObject({ private: false, creator: null });
  } finally {
    await upgraded.close();
  }
});
