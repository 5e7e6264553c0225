/**
 * The page's form routes for a message's actions (edit, delete, react, reply,
 * the editor and the thread panel), in-process with accounts: what each
 * answers, and each refusal a 4xx that commits nothing.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Gitchat } from "../../src/gitchat.ts";
import type { MessageView } from "../../src/messages/service.ts";
import { accountHeaders, call, openTestGitchat } from "../support/app.ts";

const operator = { operator: true } as const;
let gitchat: Gitchat;
const as: Record<string, Record<string, string>> = {};

const account = (login: string, role: "member" | "admin" = "member") => {
  as[login] = accountHeaders(gitchat, login, role);
};

beforeAll(async () => {
  gitchat = await openTestGitchat({ env: { ACCESS_TOKEN: "page-actions-token" } });
  account("ada");
  account("bo");
  account("root", "admin");
  expect((await call(gitchat, "POST", "/repositories", { owner: "acme", name: "ops" }, as.root)).status).toBe(201);
});
afterAll(() => gitchat.close());

const send = async (who: string, content: string, repository = "local/general") => {
  const answer = await call(gitchat, "POST", "/messages", { content, repository }, as[who]);
  expect(answer.status).toBe(201);
  return answer.body as MessageView;
};

/** A form post, as the page sends it. */
const form = (who: string, path: string, fields: Record<string, string>) =>
  call(gitchat, "POST", path, new URLSearchParams(fields).toString(), { ...as[who], "content-type": "application/x-www-form-urlencoded" });

const base = "/c/local/general/messages";

/** Asserts the refusal (status and error code) and that nothing was committed: every change moves the arrival cursor. */
const refused = async (attempt: Promise<{ status: number; body: any }>, status: number, code: string) => {
  const before = gitchat.messages.latestCursor();
  const answer = await attempt;
  expect({ status: answer.status, code: answer.body?.error?.code, cursor: gitchat.messages.latestCursor() }).toEqual({ status, code, cursor: before });
};

test("edit, delete and react answer the changed message as the page shows it", async () => {
  const m = await send("ada", "first draft");
  const edited = await form("ada", `${base}/${m.id}/edit`, { content: "second draft" });
  expect({ status: edited.status, text: edited.body.includes("second draft"), mark: edited.body.includes("(edited)") }).toEqual({ status: 200, text: true, mark: true });
  const reacted = await form("bo", `${base}/${m.id}/reactions`, { emoji: ":tada:", on: "true" });
  expect({ status: reacted.status, chip: /class="reaction" data-emoji=":tada:" aria-pressed="true"/.test(reacted.body) }).toEqual({ status: 200, chip: true });
  const deleted = await form("ada", `${base}/${m.id}/delete`, {});
  expect({ status: deleted.status, note: deleted.body.includes("message deleted"), text: deleted.body.includes("second draft") }).toEqual({ status: 200, note: true, text: false });
});

test("a reply through the page's composer goes in its thread, which the thread panel shows under its parent", async () => {
  const parent = await send("ada", "the parent");
  const reply = await form("bo", base, { content: "a reply", reply_to: parent.id });
  expect({ status: reply.status, reply: reply.body.includes(`data-reply-to="${parent.id}" data-thread-count="1"`) }).toEqual({ status: 201, reply: true });
  const panel = await call(gitchat, "GET", `/c/local/general/threads/${parent.id}`, undefined, as.ada);
  expect({ status: panel.status, parent: panel.body.includes(`id="t-${parent.id}"`), reply: panel.body.includes("a reply") }).toEqual({ status: 200, parent: true, reply: true });
});

test("each bad request is refused with its error and commits nothing", async () => {
  const ada = await send("ada", "Ada's words");
  const elsewhere = await send("ada", "in another channel", "acme/ops");
  await refused(form("bo", `${base}/${ada.id}/edit`, { content: "Bo's words" }), 403, "forbidden");
  await refused(form("bo", `${base}/${ada.id}/delete`, {}), 403, "forbidden");
  await refused(call(gitchat, "GET", `${base}/${ada.id}/edit`, undefined, as.bo), 403, "forbidden");
  await refused(form("ada", `${base}/${ada.id}/edit`, { content: "  " }), 400, "invalid_input");
  await refused(form("bo", `${base}/${ada.id}/reactions`, { emoji: "not an emoji", on: "true" }), 400, "invalid_input");
  await refused(form("bo", `${base}/${ada.id}/reactions`, { emoji: "👍", on: "maybe" }), 400, "invalid_input");
  await refused(form("ada", `${base}/${elsewhere.id}/edit`, { content: "moved?" }), 404, "unknown_message");
  await refused(form("ada", `${base}/not-an-id/delete`, {}), 400, "invalid_input");
  await refused(form("bo", base, { content: "a reply across channels", reply_to: elsewhere.id }), 400, "invalid_input");
  // An admin may change anyone's message.
  expect((await form("root", `${base}/${ada.id}/edit`, { content: "corrected by an admin" })).status).toBe(200);
});

test("an edit or a reaction from the page counts against RATE_LIMIT as a message does", async () => {
  const limited = await openTestGitchat({ env: { ACCESS_TOKEN: "page-actions-limited", RATE_LIMIT: "2" } });
  try {
    limited.accounts.add(operator, { login: "cy", role: "member" });
    const headers = { authorization: `Bearer ${limited.accounts.createToken(operator, "cy").token}` };
    const post = (path: string, fields: Record<string, string>) =>
      call(limited, "POST", path, new URLSearchParams(fields).toString(), { ...headers, "content-type": "application/x-www-form-urlencoded" });
    const sent = await call(limited, "POST", "/messages", { content: "one" }, headers);
    expect((await post(`${base}/${sent.body.id}/edit`, { content: "one, edited" })).status).toBe(200);
    const before = limited.messages.latestCursor();
    const over = await post(`${base}/${sent.body.id}/reactions`, { emoji: "👍", on: "true" });
    expect({ status: over.status, code: over.body.error.code, cursor: limited.messages.latestCursor() }).toEqual({ status: 429, code: "rate_limited", cursor: before });
  } finally {
    await limited.close();
  }
});
