/**
 * Search operators in GET /messages?q=: from:, in:, before:, after:, has:,
 * quoted phrases, with free words; each bad value a 400 naming its operator;
 * private channels out of reach of those not in them.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Gitchat } from "../../src/gitchat.ts";
import { call, openTestGitchat } from "../support/app.ts";

const TOKEN = "search-test-access-token";
const operator = { operator: true } as const;
const day = (iso: string, hour = 10) => Date.parse(`${iso}T${String(hour).padStart(2, "0")}:00:00.000Z`);

let gitchat: Gitchat;
let clock = day("2026-03-01");
const as: Record<string, Record<string, string>> = { operator: { authorization: `Bearer ${TOKEN}` } };
/** Each message sent, by a short name. */
const sent: Record<string, string> = {};

const account = (login: string, name: string) => {
  gitchat.accounts.add(operator, { login, name });
  as[login] = { authorization: `Bearer ${gitchat.accounts.createToken(operator, login).token}` };
};

const send = async (key: string, who: string, when: number, content: string, repository?: string) => {
  clock = when;
  const answer = await call(gitchat, "POST", "/messages", { content, ...(repository ? { repository } : {}) }, as[who]);
  expect(answer.status).toBe(201);
  sent[answer.body.id] = key;
};

/** The short names of what a search finds, in the order answered (time order). */
const found = async (q: string, who = "bo", extra = "") => {
  const answer = await call(gitchat, "GET", `/messages?q=${encodeURIComponent(q)}${extra}`, undefined, as[who]);
  expect({ q, status: answer.status }).toEqual({ q, status: 200 });
  return (answer.body as { id: string }[]).map((m) => sent[m.id] ?? m.id);
};

const refused = async (q: string, who = "bo") => {
  const answer = await call(gitchat, "GET", `/messages?q=${encodeURIComponent(q)}`, undefined, as[who]);
  return { status: answer.status, code: answer.body?.error?.code, message: answer.body?.error?.message };
};

beforeAll(async () => {
  gitchat = await openTestGitchat({ env: { ACCESS_TOKEN: TOKEN }, now: () => clock });
  account("ada", "Ada Lovelace");
  account("bo", "Bo Diddley");
  for (const [owner, name, isPrivate] of [["acme", "side", false], ["other", "side", false], ["acme", "secret", true]] as const) {
    const who = isPrivate ? "ada" : "operator";
    expect((await call(gitchat, "POST", "/repositories", { owner, name, private: isPrivate }, as[who])).status).toBe(201);
  }
  await send("fine", "ada", day("2026-03-01"), "deploy went out fine");
  await send("link", "bo", day("2026-03-05"), "deploy failed, see https://ci.example/42");
  await send("code", "bo", day("2026-03-05", 12), "use `git log` to check the deploy", "acme/side");
  await send("secret", "ada", day("2026-03-06"), "deploy secret plans, went out", "acme/secret");
  await send("lunch", "ada", day("2026-03-10"), "went out for lunch, fine");
  await send("other", "operator", day("2026-03-11"), "the other side of the deploy", "other/side");
});
afterAll(() => gitchat.close());

describe("each operator narrows a search", () => {
  test("from:LOGIN finds that account's messages", async () => {
    expect(await found("from:ada")).toEqual(["fine", "lunch"]);
  });

  test("from: takes an author's name too, quoted, in any letter case", async () => {
    expect(await found('from:"bo diddley"')).toEqual(["link", "code"]);
  });

  test("from: with words finds the author's messages holding them", async () => {
    expect(await found("deploy from:bo")).toEqual(["link", "code"]);
  });

  test("in:owner/name keeps to that channel", async () => {
    expect(await found("deploy in:acme/side")).toEqual(["code"]);
  });

  test("in:name works when one channel the viewer sees has that name", async () => {
    expect(await found("deploy in:general")).toEqual(["fine", "link"]);
  });

  test("in: given twice searches both channels", async () => {
    expect(await found("deploy in:acme/side in:other/side")).toEqual(["code", "other"]);
  });

  test("in: and repository= together find what is in both (here nothing)", async () => {
    expect(await found("deploy in:acme/side", "bo", "&repository=local/general")).toEqual([]);
  });

  test("before:DAY finds what was sent before that day began (UTC)", async () => {
    expect(await found("deploy before:2026-03-05")).toEqual(["fine"]);
  });

  test("after:DAY finds what was sent after that day ended (UTC)", async () => {
    expect(await found("after:2026-03-05")).toEqual(["lunch", "other"]);
  });

  test("before: and after: together give a range", async () => {
    expect(await found("after:2026-03-01 before:2026-03-10")).toEqual(["link", "code"]);
  });

  test("has:link finds messages holding a web address", async () => {
    expect(await found("has:link")).toEqual(["link"]);
  });

  test("has:code finds messages holding code", async () => {
    expect(await found("has:code")).toEqual(["code"]);
  });

  test("has:file finds nothing: messages have no attachments in this version", async () => {
    // Attachments are being built beside this: until messages carry them, no message has a file.
    expect(await found("has:file")).toEqual([]);
  });

  test("a quoted phrase finds its words together and in order, free words anywhere", async () => {
    expect(await found('"went out fine"')).toEqual(["fine"]);
    expect(await found("went out fine")).toEqual(["fine", "lunch"]);
  });

  test("operators are read in any letter case", async () => {
    expect(await found("FROM:Ada Has:LINK")).toEqual([]);
    expect(await found("From:Bo HAS:link")).toEqual(["link"]);
  });

  test("an unknown word: is searched as text", async () => {
    expect(await found("side:deploy")).toEqual([]);
    expect(await found("other:side")).toEqual(["other"]);
  });
});

describe("private channels stay out of reach", () => {
  test("a private channel's messages are found by its members, and by no one else", async () => {
    expect(await found("deploy from:ada", "ada")).toEqual(["fine", "secret"]);
    expect(await found("deploy from:ada", "bo")).toEqual(["fine"]);
  });

  test("in: naming a private channel the viewer is not in answers as for a name that names nothing", async () => {
    const secret = await refused("in:secret", "bo");
    const nothing = await refused("in:nothing", "bo");
    expect(secret).toEqual({ ...nothing, message: nothing.message.replace("in:nothing", "in:secret") });
    expect(await found("in:secret", "ada")).toEqual(["secret"]);
  });
});

describe("a bad value is a 400 naming its operator, and changes nothing", () => {
  test.each([
    ["before:notadate", 'before: takes a date as YYYY-MM-DD (before:2026-01-31), not "notadate"'],
    ["after:2026-13-01", 'after: takes a date as YYYY-MM-DD (after:2026-01-01), not "2026-13-01"'],
    ["has:picture", 'has: takes link, code or file, not "picture"'],
    ["deploy from:", 'from: needs a value, as in from:ann (to search for the word itself, quote it: "from:")'],
    ["in:unknown", "in:unknown names no channel you can see; write in:owner/name with a channel from GET /repositories"],
    ["in:side", "in:side could be acme/side or other/side; write in:owner/name"],
  ])("%s", async (q, message) => {
    const before = await call(gitchat, "GET", "/messages", undefined, as.operator);
    expect(await refused(q)).toEqual({ status: 400, code: "invalid_input", message });
    expect((await call(gitchat, "GET", "/messages", undefined, as.operator)).body).toEqual(before.body);
  });
});

describe("the page's search and links to messages refuse bad input", () => {
  const page = (path: string, who = "bo") => gitchat.app.handle(new Request(`http://localhost${path}`, { headers: as[who] }));
  const someId = () => Object.keys(sent).find((id) => sent[id] === "fine")!;

  test("the page's search answers a bad operator with 400 and its reason in the fragment", async () => {
    const answer = await page(`/ui/search?q=${encodeURIComponent("has:picture")}`);
    expect({ status: answer.status, body: await answer.text() }).toEqual({
      status: 400,
      body: '<span hx-swap-oob="innerHTML:#search-summary"></span><p class="error" role="alert">has: takes link, code or file, not &quot;picture&quot;</p>',
    });
  });

  test("the window around a message: 400 for an id that is no message id", async () => {
    const answer = await page("/c/local/general/messages?around=notanid");
    expect([answer.status, ((await answer.json()) as { error: { code: string } }).error.code]).toEqual([400, "invalid_input"]);
  });

  test("the window around a message: 404 for a message of another channel", async () => {
    const answer = await page(`/c/acme/side/messages?around=${someId()}`);
    expect([answer.status, ((await answer.json()) as { error: { message: string } }).error.message]).toEqual([404, `there is no message ${someId()} in acme/side`]);
  });

  test("the window around a message in a private channel is the 404 of an unknown channel to someone outside it", async () => {
    const secret = Object.keys(sent).find((id) => sent[id] === "secret")!;
    const outside = await page(`/c/acme/secret/messages?around=${secret}`);
    const unknown = await page(`/c/acme/nothing/messages?around=${secret}`);
    expect([outside.status, (await outside.text()).replace("acme/secret", "acme/nothing")]).toEqual([404, await unknown.text()]);
    expect((await page(`/c/acme/secret/messages?around=${secret}`, "ada")).status).toBe(200);
  });

  test("the messages after one: 400 for an id that is no message id", async () => {
    expect((await page("/c/local/general/messages?newer=nope")).status).toBe(400);
  });
});

describe("search sees messages as they are now", () => {
  test("a deleted message is found by no search: not by its words, its author, its link or its day", async () => {
    await send("doomed", "bo", day("2026-03-20"), "doomed deploy, see https://doomed.example");
    const id = Object.keys(sent).find((k) => sent[k] === "doomed")!;
    expect(await found("doomed from:bo has:link after:2026-03-19")).toEqual(["doomed"]);
    expect((await call(gitchat, "DELETE", `/messages/${id}`, undefined, as.bo)).status).toBe(200);
    expect(await Promise.all(["doomed", "from:bo after:2026-03-19", "has:link after:2026-03-19", "after:2026-03-19"].map((q) => found(q)))).toEqual([[], [], [], []]);
  });

  test("an edited message is found by its new text, and its new link", async () => {
    await send("edited", "ada", day("2026-03-21"), "plain words first");
    const id = Object.keys(sent).find((k) => sent[k] === "edited")!;
    expect((await call(gitchat, "PATCH", `/messages/${id}`, { content: "now with https://edited.example" }, as.ada)).status).toBe(200);
    expect({ link: await found("has:link from:ada"), old: await found("plain from:ada") }).toEqual({ link: ["edited"], old: [] });
  });

  test("a reply is found like any message", async () => {
    const parent = Object.keys(sent).find((k) => sent[k] === "lunch")!;
    clock = day("2026-03-22");
    const answer = await call(gitchat, "POST", "/messages", { content: "a reply about the canteen", reply_to: parent }, as.bo);
    expect(answer.status).toBe(201);
    sent[answer.body.id] = "reply";
    expect(await found("canteen from:bo")).toEqual(["reply"]);
  });

  test("the page's window around a message holds the channel's own messages, as its listing does: no replies", async () => {
    const fine = Object.keys(sent).find((k) => sent[k] === "fine")!;
    const answer = await gitchat.app.handle(new Request(`http://localhost/c/local/general/messages?around=${fine}`, { headers: as.bo }));
    const shown = [...(await answer.text()).matchAll(/data-id="([^"]+)"/g)].map((m) => sent[m[1]!]);
    expect(shown).toEqual(["fine", "link", "lunch", "doomed", "edited"]);
  });
});
