/**
 * Push and pull push and pull every channel, and report only on those the
 * caller sees: a private channel's name never reaches someone outside it.
 */
import { expect, test } from "bun:test";
import { call } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { closedAfterEach } from "./support.ts";

const { standIn, server } = closedAfterEach();
const operator = { operator: true } as const;

test("push and pull reports (API and page) name a private channel only to those who see it", async () => {
  const github = await standIn();
  const gitchat = await server(github);
  const bearer: Record<string, Record<string, string>> = {};
  for (const login of ["ada", "bo"]) {
    gitchat.accounts.add(operator, { login });
    bearer[login] = { authorization: `Bearer ${gitchat.accounts.createToken(operator, login).token}` };
  }
  expect((await call(gitchat, "POST", "/repositories", { owner: "alice", name: "secret", private: true }, bearer.ada)).status).toBe(201);
  const hush = await call(gitchat, "POST", "/messages", { repository: "alice/secret", content: "hush" }, bearer.ada);
  expect(hush.status).toBe(201);

  const reported = async (path: string, login: string) =>
    (await call(gitchat, "POST", path, undefined, bearer[login])).body.repositories.map((r: { repository: string }) => r.repository).sort();
  expect(await reported("/push", "bo")).toEqual(["alice/chat"]);
  // Bo's push pushed Ada's channel all the same: GitHub has her message.
  const onGitHub = await runGit(["--git-dir", github.repoPath("alice", "secret"), "log", "--format=%H", "main"]);
  expect(onGitHub.stdout.split("\n")).toContain(hush.body.git_hash);
  expect(await reported("/pull", "bo")).toEqual(["alice/chat"]);
  expect(await reported("/push", "ada")).toEqual(["alice/chat", "alice/secret"]);

  const page = await gitchat.app.handle(new Request("http://localhost/ui/push", { method: "POST", headers: { ...bearer.bo } }));
  expect(await page.text()).toBe("Pushed: all 1 channel(s) in sync.");
});
