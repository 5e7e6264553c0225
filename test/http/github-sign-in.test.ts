/**
 * The GitHub sign-in routes' bad inputs, in process: without GITHUB_CLIENT_ID
 * they say sign-in is not set up; a callback without this browser's state
 * signs no one in and never reaches GitHub. (The whole flow runs in Chromium
 * against the stand-in: test/page/github-sign-in.test.ts.)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Gitchat } from "../../src/gitchat.ts";
import { openTestGitchat } from "../support/app.ts";
import { startGitHub, type GitHubStandIn } from "../support/github.ts";

let plain: Gitchat;
let withGitHub: Gitchat;
let github: GitHubStandIn;
beforeAll(async () => {
  github = await startGitHub();
  plain = await openTestGitchat({ env: { ACCESS_TOKEN: "github-sign-in-api-token" } });
  withGitHub = await openTestGitchat({
    env: {
      ACCESS_TOKEN: "github-sign-in-api-token",
      GITHUB_CLIENT_ID: github.oauthApp.clientId,
      GITHUB_CLIENT_SECRET: github.oauthApp.clientSecret,
      GITHUB_OAUTH_URL: github.url,
      GITHUB_API_URL: github.apiUrl,
    },
  });
});
afterAll(async () => {
  await plain?.close();
  await withGitHub?.close();
  await github?.stop();
});

const get = (gitchat: Gitchat, path: string, cookie?: string) =>
  gitchat.app.handle(new Request(`http://localhost${path}`, { headers: cookie ? { cookie } : {} }));
const sessionSet = (response: Response) => response.headers.getSetCookie().some((c) => c.startsWith("gitchat_session="));

test("without GITHUB_CLIENT_ID the login page offers no GitHub sign-in, and its routes answer 404", async () => {
  expect(await (await get(plain, "/login")).text()).not.toContain("Sign in with GitHub");
  expect((await get(plain, "/login/github")).status).toBe(404);
  expect((await get(plain, "/login/github/callback?code=x&state=y")).status).toBe(404);
  expect(await (await get(withGitHub, "/login")).text()).toContain("Sign in with GitHub");
});

test("GET /login/github sends the browser to GitHub with a random state, bound to it by a short-lived cookie", async () => {
  const started = await get(withGitHub, "/login/github?next=/c/local/general");
  expect(started.status).toBe(303);
  const location = new URL(started.headers.get("location")!);
  expect(location.origin + location.pathname).toBe(`${github.url}/login/oauth/authorize`);
  expect(location.searchParams.get("client_id")).toBe(github.oauthApp.clientId);
  const state = location.searchParams.get("state")!;
  expect(state).toMatch(/^[\w-]{43}$/);
  const cookie = started.headers.getSetCookie().find((c) => c.startsWith("gitchat_github_state="))!;
  expect(cookie).toContain(encodeURIComponent(`${state} /c/local/general`));
  expect(cookie).toContain("HttpOnly; SameSite=Lax; Max-Age=600");
  const again = new URL((await get(withGitHub, "/login/github")).headers.get("location")!);
  expect(again.searchParams.get("state")).not.toBe(state);
});

test("a callback with no state, another state, or no code is a 400 that signs no one in and asks GitHub nothing", async () => {
  const before = github.requests.length;
  const cookie = `gitchat_github_state=${encodeURIComponent("the-real-state /")}`;
  for (const [path, withCookie] of [
    ["/login/github/callback?code=abc&state=the-real-state", false],
    ["/login/github/callback?code=abc&state=another-state", true],
    ["/login/github/callback?code=abc", true],
    ["/login/github/callback?state=the-real-state", true],
  ] as const) {
    const answer = await get(withGitHub, path, withCookie ? cookie : undefined);
    expect([path, answer.status, sessionSet(answer)]).toEqual([path, 400, false]);
  }
  expect(github.requests.length).toBe(before);
  expect(withGitHub.accounts.hasAccounts()).toBe(false);
});

test("the settings page of a GitHub account offers no password form: it signs in with GitHub", async () => {
  const { session } = withGitHub.accounts.signInWithGitHub({ id: 9001, login: "octo", name: "Octo" }, { address: "127.0.0.1", userAgent: "test" });
  const page = await (await get(withGitHub, "/settings", `gitchat_session=${session}`)).text();
  expect([page.includes("You sign in with GitHub"), page.includes('id="settings-current"')]).toEqual([true, false]);
});
