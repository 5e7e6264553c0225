/**
 * Edits, deletes, replies and reactions through the API (in-process app with
 * accounts): what each answers, what a listing and a poller then see, each
 * bad input a 4xx that changes nothing, and each change a commit of its own
 * that leaves the message's file as it was.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Gitchat } from "../../src/gitchat.ts";
import { storedPath } from "../../src/messages/layout.ts";
import { TreeLookup } from "../../src/git/history.ts";
import type { MessageView } from "../../src/messages/service.ts";
import { accountHeaders, call, openTestGitchat } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { runCli } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "events-test-access-token";
const operator = { operator: true } as const;
let gitchat: Gitchat;
let dataDir: string;
const as: Record<string, Record<string, string>> = {};

const account = (login: string, role: "member" | "admin" | "bot" = "member") => {
  as[login] = accountHeaders(gitchat, login, role);
};

beforeAll(async () => {
  dataDir = tempDir();
  gitchat = await openTestGitchat({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  account("ada");
  account("bo");
  account("root", "admin");
  expect((await call(gitchat, "POST", "/repositories", { owner: "acme", name: "ops" }, as.root)).status).toBe(201);
});
afterAll(async () => {
  await gitchat.close();
});

const send = async (who: string, content: string, extra: Record<string, unknown> = {}) => {
  const answer = await call(gitchat, "POST", "/messages", { content, ...extra }, as[who]);
  expect(answer.status).toBe(201);
  return answer.body as MessageView;
};

const channel = () => gitchat.repositories.resolve("local/general");
const head = () => channel().store.head();
const listed = async (query = "") => (await call(gitchat, "GET", `/messages?repository=local/general&limit=1000${query}`, undefined, as.ada)).body as MessageView[];
const find = async (id: string) => (await listed()).find((m) => m.id === id);

/** The blob of a message's file at the head: never rewritten by what happens to the message. */
const fileAtHead = async (m: MessageView) => {
  const row = gitchat.db.getMessage(channel().id, m.id)!;
  const tree = (await channel().store.readCommit((await head())!)).tree;
  return new TreeLookup(channel().store, tree).blobAt(storedPath(row));
};

/** Asserts that `attempt` is refused with `status` and leaves git and the listing as they were. */
const refusedUnchanged = async (attempt: () => Promise<{ status: number; body: any }>, status: number) => {
  const before = { head: await head(), list: JSON.stringify(await listed()) };
  const answer = await attempt();
  expect({ status: answer.status, code: typeof answer.body?.error?.code }).toEqual({ status, code: "string" });
  expect({ head: await head(), list: JSON.stringify(await listed()) }).toEqual(before);
  return answer.body.error as { code: string; message: string };
};

describe("edit", () => {
  test("the author edits: the answer, the listing and a poller show the new text, and git holds it as a new file", async () => {
    const m = await send("ada", "deploy at 5");
    const file = await fileAtHead(m);
    const cursor = Number((await call(gitchat, "GET", "/messages?repository=local/general", undefined, as.bo)).headers.get("x-next-cursor"));
    const answer = await call(gitchat, "PATCH", `/messages/${m.id}`, { content: "deploy at 6" }, as.ada);
    expect(answer.status).toBe(200);
    const edited = answer.body as MessageView;
    expect({ content: edited.content, edited: edited.edited_at !== null, id: edited.id }).toEqual({ content: "deploy at 6", edited: true, id: m.id });
    expect((await find(m.id))?.content).toBe("deploy at 6");
    // A poller holding a cursor from before the edit gets the message again, as it is now, with a newer cursor.
    const polled = (await call(gitchat, "GET", `/messages?repository=local/general&after=${cursor}`, undefined, as.bo)).body as MessageView[];
    expect(polled.map((p) => [p.id, p.content, p.cursor > cursor])).toEqual([[m.id, "deploy at 6", true]]);
    // The message's file is as it was; the edit is a commit of its own, with a file naming the message.
    expect(await fileAtHead(m)).toBe(file);
    const show = (await runGit(["--git-dir", channel().store.gitdir, "show", "--stat", "--format=%s", (await head())!])).stdout;
    expect(show).toContain(`ada edited ${m.id.slice(-12)}: deploy at 6`);
    expect(show).toContain("1 file changed");
  });

  test("history gives the text as sent and each edit, with their commits", async () => {
    const m = await send("ada", "v1");
    await call(gitchat, "PATCH", `/messages/${m.id}`, { content: "v2" }, as.ada);
    await call(gitchat, "PATCH", `/messages/${m.id}`, { content: "v3" }, as.ada);
    const history = (await call(gitchat, "GET", `/messages/${m.id}/history`, undefined, as.bo)).body;
    expect(history.versions.map((v: { content: string }) => v.content)).toEqual(["v1", "v2", "v3"]);
    expect(history.versions[0].git_hash).toBe(m.git_hash);
    expect(history.versions[2].git_hash).toBe(await head());
  });

  test("someone else's message is refused (403) and nothing changes", async () => {
    const m = await send("ada", "mine");
    await refusedUnchanged(() => call(gitchat, "PATCH", `/messages/${m.id}`, { content: "yours now" }, as.bo), 403);
  });

  test("an admin may edit someone else's message, and the event says an admin made it", async () => {
    const m = await send("ada", "typo heer");
    const answer = await call(gitchat, "PATCH", `/messages/${m.id}`, { content: "typo here" }, as.root);
    expect((answer.body as MessageView).content).toBe("typo here");
    const shown = (await runGit(["--git-dir", channel().store.gitdir, "show", "--format=", (await head())!])).stdout;
    expect(shown).toContain('"admin": true');
  });

  test("an empty edit, an unknown id and a malformed id are refused and change nothing", async () => {
    const m = await send("ada", "stays");
    await refusedUnchanged(() => call(gitchat, "PATCH", `/messages/${m.id}`, { content: "   " }, as.ada), 400);
    await refusedUnchanged(() => call(gitchat, "PATCH", "/messages/01890000-0000-7000-8000-000000000000", { content: "x" }, as.ada), 404);
    await refusedUnchanged(() => call(gitchat, "PATCH", "/messages/not-an-id", { content: "x" }, as.ada), 400);
    await refusedUnchanged(() => call(gitchat, "PATCH", `/messages/${m.id}`, {}, as.ada), 400);
  });

  test("an event's id is not a message: editing it is a 404", async () => {
    const m = await send("ada", "with an event");
    await call(gitchat, "PUT", `/messages/${m.id}/reactions/${encodeURIComponent("👍")}`, undefined, as.bo);
    const event = gitchat.db.sqlite
      .query<{ id: Uint8Array }, []>("SELECT id FROM messages WHERE target IS NOT NULL ORDER BY seq DESC LIMIT 1")
      .get()!;
    const id = Buffer.from(event.id).toString("hex").replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, "$1-$2-$3-$4-$5");
    await refusedUnchanged(() => call(gitchat, "PATCH", `/messages/${id}`, { content: "x" }, as.bo), 404);
  });
});

describe("delete", () => {
  test("the author deletes: the message stays listed as deleted with its author and time, its text gone from the list, search and history", async () => {
    const m = await send("ada", "the password is swordfish");
    const file = await fileAtHead(m);
    await call(gitchat, "PATCH", `/messages/${m.id}`, { content: "the password is hunter2" }, as.ada);
    const answer = await call(gitchat, "DELETE", `/messages/${m.id}`, undefined, as.ada);
    // The delete is a commit of its own: the message's file is as it was (git's history keeps the text).
    expect(await fileAtHead(m)).toBe(file);
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 200, body: { id: m.id, deleted: true } });
    const shown = await find(m.id);
    expect({ deleted: shown?.deleted, content: shown?.content, author: shown?.author, timestamp: shown?.timestamp }).toEqual({
      deleted: true,
      content: "",
      author: "ada",
      timestamp: m.timestamp,
    });
    const search = async (q: string) => ((await call(gitchat, "GET", `/messages?q=${q}`, undefined, as.ada)).body as MessageView[]).length;
    expect([await search("swordfish"), await search("hunter2")]).toEqual([0, 0]);
    const history = (await call(gitchat, "GET", `/messages/${m.id}/history`, undefined, as.ada)).body;
    expect(history.versions.map((v: { content: string | null }) => v.content)).toEqual([null, null]);
    // Nor is it anywhere in the index's columns.
    const rows = gitchat.db.sqlite.query<{ n: number }, []>("SELECT count(*) AS n FROM messages WHERE content LIKE '%swordfish%' OR content LIKE '%hunter2%'").get()!;
    expect(rows.n).toBe(0);
  });

  test("deleting again changes nothing; editing or reacting to a deleted message is a 409", async () => {
    const m = await send("ada", "short-lived");
    await call(gitchat, "DELETE", `/messages/${m.id}`, undefined, as.ada);
    const before = await head();
    expect((await call(gitchat, "DELETE", `/messages/${m.id}`, undefined, as.ada)).status).toBe(200);
    expect(await head()).toBe(before);
    await refusedUnchanged(() => call(gitchat, "PATCH", `/messages/${m.id}`, { content: "back" }, as.ada), 409);
    await refusedUnchanged(() => call(gitchat, "PUT", `/messages/${m.id}/reactions/%F0%9F%91%8D`, undefined, as.bo), 409);
  });

  test("someone else's message is refused (403); an admin's delete counts", async () => {
    const m = await send("ada", "off-topic");
    await refusedUnchanged(() => call(gitchat, "DELETE", `/messages/${m.id}`, undefined, as.bo), 403);
    expect((await call(gitchat, "DELETE", `/messages/${m.id}`, undefined, as.root)).status).toBe(200);
    expect((await find(m.id))?.deleted).toBe(true);
  });
});

test("a deleted message's files are gone with its text: not listed, not served", async () => {
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
  const { message } = await gitchat.messages.send({ viewer: operator, content: "the plan, attached", files: [{ name: "plan.png", type: "image/png", bytes: png }] });
  const file = `/messages/${message.id}/attachments/0`;
  expect((await call(gitchat, "GET", file, undefined, as.ada)).status).toBe(200);
  expect((await call(gitchat, "DELETE", `/messages/${message.id}`, undefined, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  expect({ listed: (await find(message.id))?.attachments, served: (await call(gitchat, "GET", file, undefined, as.ada)).status }).toEqual({ listed: [], served: 404 });
});

describe("reactions", () => {
  test("each person's reaction is counted once; taking it back counts it out", async () => {
    const m = await send("ada", "ship it?");
    const react = (who: string, emoji: string, method = "PUT") =>
      call(gitchat, method, `/messages/${m.id}/reactions/${encodeURIComponent(emoji)}`, undefined, as[who]);
    expect((await react("bo", "👍")).status).toBe(200);
    const before = await head();
    // Giving it again: the same answer, no commit.
    expect(((await react("bo", "👍")).body as MessageView).reactions).toEqual([{ emoji: "👍", count: 1, users: ["bo"], user_ids: ["local:bo"] }]);
    expect(await head()).toBe(before);
    await react("root", "👍");
    await react("ada", ":tada:");
    expect((await find(m.id))?.reactions.map((r) => [r.emoji, r.count])).toEqual([["👍", 2], [":tada:", 1]]);
    const file = await fileAtHead(m);
    const after = (await react("bo", "👍", "DELETE")).body as MessageView;
    expect(await fileAtHead(m)).toBe(file);
    expect(after.reactions.map((r) => [r.emoji, r.users])).toEqual([["👍", ["root"]], [":tada:", ["ada"]]]);
  });

  test("a reaction that is not an emoji or a :shortcode: is refused and changes nothing", async () => {
    const m = await send("ada", "react to me");
    for (const bad of ["abc", "👍👍", ":no spaces:", "<b>"]) {
      const error = await refusedUnchanged(() => call(gitchat, "PUT", `/messages/${m.id}/reactions/${encodeURIComponent(bad)}`, undefined, as.bo), 400);
      expect(error.message).toContain("is not a reaction");
    }
  });
});

describe("replies", () => {
  test("a reply is in its thread, not in the channel's list; the parent counts it; a reply to a reply joins the same thread", async () => {
    const parent = await send("ada", "who is on call?");
    const reply = await send("bo", "me", { reply_to: parent.id });
    expect(reply.reply_to).toBe(parent.id);
    const second = await send("ada", "thanks", { reply_to: reply.id });
    expect(second.reply_to).toBe(parent.id);
    const channelList = await listed();
    expect(channelList.some((m) => m.id === reply.id)).toBe(false);
    expect(channelList.find((m) => m.id === parent.id)?.reply_count).toBe(2);
    const thread = (await call(gitchat, "GET", `/messages?thread=${parent.id}`, undefined, as.ada)).body as MessageView[];
    expect(thread.map((m) => m.content)).toEqual(["me", "thanks"]);
    // Deleting a reply counts it out.
    await call(gitchat, "DELETE", `/messages/${second.id}`, undefined, as.ada);
    expect((await find(parent.id))?.reply_count).toBe(1);
  });

  test("replying to a message of another channel is refused and changes nothing", async () => {
    const elsewhere = (await call(gitchat, "POST", "/messages", { repository: "acme/ops", content: "over here" }, as.ada)).body as MessageView;
    const error = await refusedUnchanged(
      () => call(gitchat, "POST", "/messages", { repository: "local/general", content: "a reply", reply_to: elsewhere.id }, as.bo),
      400,
    );
    expect(error.message).toContain("is not a message of local/general");
  });
});

test("a rebuild gives every message the same folded state", async () => {
  const before = await listed();
  await gitchat.close();
  const rebuilt = await runCli(["rebuild"], { dataDir, env: { ACCESS_TOKEN: TOKEN } });
  expect(rebuilt.code).toBe(0);
  gitchat = await openTestGitchat({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  const withoutCursor = (list: MessageView[]) => list.map(({ cursor: _cursor, ...rest }) => rest);
  const after = (await call(gitchat, "GET", "/messages?repository=local/general&limit=1000", undefined, { authorization: `Bearer ${TOKEN}` })).body;
  expect(withoutCursor(after)).toEqual(withoutCursor(before));
});
