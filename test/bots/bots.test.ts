/**
 * Bot accounts post with their personal token, and their messages are marked
 * as from a bot: in the message file (git), in the index (it comes back after
 * the index is deleted), in the API and on the page. A person's are not.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { dropDatabase, type Gitchat } from "../../src/gitchat.ts";
import { call, openTestGitchat } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "bots-access-token-for-tests";
const admin = { authorization: `Bearer ${TOKEN}` };
const dataDir = tempDir();
let gitchat: Gitchat;
let bot: Record<string, string>;

beforeAll(async () => {
  gitchat = await openTestGitchat({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  expect((await call(gitchat, "POST", "/users", { login: "deploy-bot", name: "Deploy", role: "bot" }, admin)).status).toBe(201);
  bot = { authorization: `Bearer ${(await call(gitchat, "POST", "/users/deploy-bot/tokens", {}, admin)).body.token}` };
});
afterAll(() => gitchat.close());

/** The message file a commit added, as the git CLI shows it. */
const fileOf = async (commit: string) => {
  const gitdir = gitchat.repositories.resolve("local/general").store.gitdir;
  const path = (await runGit(["--git-dir", gitdir, "show", "--name-only", "--format=", commit])).stdout
    .split("\n")
    .find((name) => name.startsWith("messages/"))!;
  return (await runGit(["--git-dir", gitdir, "show", `${commit}:${path}`])).stdout;
};

test("a bot's message is marked bot in its file (after author_id), in the API and in the listing; an operator's is not", async () => {
  const sent = await call(gitchat, "POST", "/messages", { content: "deployed v1.2" }, bot);
  expect(sent.status).toBe(201);
  expect([sent.body.author, sent.body.author_id, sent.body.bot]).toEqual(["Deploy", "local:deploy-bot", true]);
  const person = await call(gitchat, "POST", "/messages", { content: "thanks" }, admin);
  expect(person.body.bot).toBe(false);

  const listed = (await call(gitchat, "GET", "/messages", undefined, admin)).body;
  expect(listed.map((m: { content: string; bot: boolean }) => [m.content, m.bot])).toEqual([["deployed v1.2", true], ["thanks", false]]);

  const file = await fileOf(sent.body.git_hash);
  expect(Object.keys(JSON.parse(file))).toEqual(["id", "author", "author_id", "bot", "content", "type", "created_at"]);
  expect(JSON.parse(file).bot).toBe(true);
  expect(Object.keys(JSON.parse(await fileOf(person.body.git_hash)))).not.toContain("bot");
});

test("the page shows a bot badge beside a bot's name, and none beside a person's", async () => {
  const page = await (await gitchat.app.handle(new Request("http://localhost/c/local/general", { headers: admin }))).text();
  const items = page.split('<li class="message"').slice(1);
  const badge = (content: string) => items.find((item) => item.includes(content))!.includes('class="badge bot"');
  expect([badge("deployed v1.2"), badge("thanks")]).toEqual([true, false]);
});

test("the bot mark comes back from git when the index is deleted", async () => {
  await gitchat.close();
  dropDatabase(dataDir);
  gitchat = await openTestGitchat({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  // The accounts went with the index; the operator's token still reads.
  const listed = (await call(gitchat, "GET", "/messages", undefined, admin)).body;
  expect(listed.map((m: { content: string; bot: boolean }) => [m.content, m.bot])).toEqual([["deployed v1.2", true], ["thanks", false]]);
});
