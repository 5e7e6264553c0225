/**
 * Unread through the API: each account's place in each channel is kept on
 * the server (the same from every browser), counts leave out one's own
 * messages and never show a private channel to someone outside it, the
 * place only moves forward, and bad input is a 4xx that changes nothing.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Gitchat } from "../../src/gitchat.ts";
import { accountHeaders, call, openTestGitchat } from "../support/app.ts";
import { runCli } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "unread-access-token";
const operator = { operator: true } as const;

let gitchat: Gitchat;
const as: Record<string, Record<string, string>> = {};

const account = (login: string) => {
  as[login] = accountHeaders(gitchat, login);
};
const send = async (who: string, repository: string, content: string) => {
  const answer = await call(gitchat, "POST", "/messages", { repository, content }, as[who]);
  expect(answer.status).toBe(201);
  return answer.body.id as string;
};
/** The caller's unread counts, by channel. */
const counts = async (who: string) => {
  const answer = await call(gitchat, "GET", "/unread", undefined, as[who]);
  expect(answer.status).toBe(200);
  return Object.fromEntries((answer.body.channels as { repository: string; unread: number }[]).map((c) => [c.repository, c.unread]));
};
const markRead = (who: string, repository: string, messageId: unknown) =>
  call(gitchat, "PUT", `/repositories/${repository}/read`, { message_id: messageId }, as[who]);

beforeAll(async () => {
  gitchat = await openTestGitchat({ env: { ACCESS_TOKEN: TOKEN } });
  account("ann");
  account("bob");
  account("cat");
  for (const name of ["talk", "quiet"]) expect((await call(gitchat, "POST", "/repositories", { owner: "team", name }, as.ann)).status).toBe(201);
  expect((await call(gitchat, "POST", "/repositories", { owner: "team", name: "secret", private: true }, as.ann)).status).toBe(201);
});
afterAll(() => gitchat.close());

test("others' new messages count as unread, one's own do not; marking read up to the newest clears the count, for that account only", async () => {
  await send("ann", "team/talk", "hello from ann");
  await send("bob", "team/talk", "bob one");
  const last = await send("bob", "team/talk", "bob two");
  expect([(await counts("ann"))["team/talk"], (await counts("bob"))["team/talk"], (await counts("cat"))["team/talk"]]).toEqual([2, 1, 3]);
  const answer = await markRead("ann", "team/talk", last);
  expect([answer.status, answer.body]).toEqual([200, { repository: "team/talk", unread: 0, last_read: last, mentions: 0 }]);
  expect([(await counts("ann"))["team/talk"], (await counts("cat"))["team/talk"]]).toEqual([0, 3]);
});

test("the place only moves forward: marking an older message read changes nothing", async () => {
  const first = await send("bob", "team/quiet", "q1");
  const second = await send("bob", "team/quiet", "q2");
  await send("bob", "team/quiet", "q3");
  expect((await markRead("cat", "team/quiet", second)).body.unread).toBe(1);
  const back = await markRead("cat", "team/quiet", first);
  expect([back.status, back.body.last_read, back.body.unread]).toEqual([200, second, 1]);
});

test("a private channel's count reaches only those who see it", async () => {
  await send("ann", "team/secret", "for members only");
  await call(gitchat, "PUT", "/repositories/team/secret/members/bob", undefined, as.ann);
  expect([(await counts("bob"))["team/secret"], "team/secret" in (await counts("cat"))]).toEqual([1, false]);
  const refused = await markRead("cat", "team/secret", "01900000-0000-7000-8000-000000000000");
  expect([refused.status, refused.body.error.code]).toEqual([404, "unknown_repository"]);
});

test("the place is the account's, not the browser's: a second token of the same account sees it read", async () => {
  const last = await send("bob", "team/talk", "for dan, twice");
  gitchat.accounts.add(operator, { login: "dan", role: "member" });
  const laptop = { authorization: `Bearer ${gitchat.accounts.createToken(operator, "dan").token}` };
  const phone = { authorization: `Bearer ${gitchat.accounts.createToken(operator, "dan").token}` };
  expect((await call(gitchat, "PUT", "/repositories/team/talk/read", { message_id: last }, laptop)).status).toBe(200);
  const seen = await call(gitchat, "GET", "/unread", undefined, phone);
  expect(seen.body.channels.find((c: { repository: string }) => c.repository === "team/talk")).toEqual({ repository: "team/talk", unread: 0, last_read: last, mentions: 0 });
});

test("unread messages that mention the reader (@login, any case) are counted apart; a longer login that starts the same is no mention", async () => {
  account("fay");
  await send("bob", "team/talk", "@FAY can you look?");
  await send("bob", "team/talk", "no mention, fay");
  await send("bob", "team/talk", "email fay@example.com is not one either");
  await send("ann", "team/talk", "thanks @fay");
  await send("ann", "team/talk", "@fayette is someone else");
  const answer = await call(gitchat, "GET", "/unread", undefined, as.fay);
  expect(answer.body.channels.find((c: { repository: string }) => c.repository === "team/talk")).toMatchObject({ unread: 5, mentions: 2 });
});

test("an edit, a reaction or a reply (in its thread) is no new message in the channel, and a deleted message is no longer unread", async () => {
  expect((await call(gitchat, "POST", "/repositories", { owner: "team", name: "events" }, as.ann)).status).toBe(201);
  const first = await send("bob", "team/events", "first draft");
  const gone = await send("bob", "team/events", "sent by mistake");
  expect((await counts("cat"))["team/events"]).toBe(2);
  expect((await call(gitchat, "PATCH", `/messages/${first}`, { content: "first, edited" }, as.bob)).status).toBe(200);
  expect((await call(gitchat, "PUT", `/messages/${first}/reactions/${encodeURIComponent("👍")}`, undefined, as.ann)).status).toBe(200);
  expect((await call(gitchat, "DELETE", `/messages/${gone}`, undefined, as.bob)).status).toBe(200);
  expect((await call(gitchat, "POST", "/messages", { repository: "team/events", content: "a reply", reply_to: first }, as.ann)).status).toBe(201);
  expect((await counts("cat"))["team/events"]).toBe(1);
});

test("a newcomer is not greeted by the whole history: a new account counts only what came after it was made", async () => {
  await send("bob", "team/quiet", "before eli");
  await Bun.sleep(2);
  account("eli");
  await Bun.sleep(2);
  await send("bob", "team/quiet", "after eli");
  expect((await counts("eli"))["team/quiet"]).toBe(1);
});

test("bad input is a 4xx with a clear error, and changes nothing", async () => {
  const before = await call(gitchat, "GET", "/unread", undefined, as.cat);
  const elsewhere = await send("bob", "team/quiet", "in quiet, not in talk");
  const cases: [unknown, string, number, string][] = [
    [undefined, "team/talk", 400, "invalid_input"],
    [42, "team/talk", 400, "invalid_input"],
    ["not-a-message-id", "team/talk", 400, "invalid_input"],
    ["01900000-0000-7000-8000-000000000000", "team/talk", 404, "not_found"],
    [elsewhere, "team/talk", 404, "not_found"],
    [elsewhere, "team/nothing", 404, "unknown_repository"],
  ];
  const got = [];
  for (const [messageId, repository] of cases) {
    const answer = await markRead("cat", repository, messageId);
    got.push([answer.status, answer.body?.error?.code]);
  }
  expect(got).toEqual(cases.map(([, , status, code]) => [status, code]));
  const notJson = await call(gitchat, "PUT", "/repositories/team/talk/read", "{", { ...as.cat!, "content-type": "application/json" });
  expect(notJson.status).toBe(400);
  const after = await call(gitchat, "GET", "/unread", undefined, as.cat);
  expect(after.body.channels.find((c: { repository: string }) => c.repository === "team/talk")).toEqual(
    before.body.channels.find((c: { repository: string }) => c.repository === "team/talk"),
  );
});

test("without credentials the unread counts are refused", async () => {
  const answer = await call(gitchat, "GET", "/unread");
  expect([answer.status, answer.body.error.code]).toEqual([401, "unauthorized"]);
});

test("a rebuilt index keeps how far each person has read each channel (git does not hold it)", async () => {
  const dir = tempDir();
  const first = await openTestGitchat({ dataDir: dir, env: { ACCESS_TOKEN: TOKEN } });
  first.accounts.add(operator, { login: "ada" });
  const ada = { account: first.accounts.get("ada") };
  const bob = { name: "bob", id: "local:bob" };
  const read = await first.messages.send({ viewer: operator, content: "read it", author: bob });
  await first.messages.send({ viewer: operator, content: "not yet", author: bob });
  first.unread.markRead({ viewer: ada, name: "ada" }, read.message.repository, read.message.id);
  await first.close();
  expect((await runCli(["rebuild"], { dataDir: dir })).code).toBe(0);
  const second = await openTestGitchat({ dataDir: dir, env: { ACCESS_TOKEN: TOKEN } });
  try {
    const general = second.unread.counts({ viewer: { account: second.accounts.get("ada") }, name: "ada" }).find((c) => c.repository === read.message.repository);
    expect(general).toEqual({ repository: read.message.repository, unread: 1, mentions: 0, lastRead: read.message.id });
  } finally {
    await second.close();
  }
});
