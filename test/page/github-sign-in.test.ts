/**
 * "Sign in with GitHub" in Chromium against the GitHub stand-in (OAuth pages,
 * token exchange, GET /user and the collaborators check, all on 127.0.0.1):
 * a collaborator of the default channel's repository is let in, and so is a
 * login in GITHUB_ALLOWED_USERS; anyone else gets a page that says why; a
 * sign-in whose state is not this browser's is refused; GitHub's access
 * token is neither kept nor logged.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { runGit } from "../support/git.ts";
import { standInSettings, startGitHub, type GitHubStandIn } from "../support/github.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "github-sign-in-access-token";

let browser: Browser;
let github: GitHubStandIn;
let server: RunningServer;
let dataDir: string;
/** The server as the browser opens it: on localhost, PUBLIC_URL's host when it is not set, so GitHub sends people back there. */
let origin: string;
const opened: Watched[] = [];

beforeAll(async () => {
  dataDir = tempDir();
  github = await startGitHub({
    users: [
      { login: "acme", token: "ghp_acmeacmeacmeacmeacmeacmeacmeacmeacme" },
      { login: "ada", token: "ghp_adaadaadaadaadaadaadaadaadaadaadaada", id: 58_001, name: "Ada on GitHub" },
      { login: "bo", token: "ghp_bobobobobobobobobobobobobobobobobobo", id: 58_002 },
      { login: "eve", token: "ghp_eveeveeveeveeveeveeveeveeveeveeveeve", id: 58_003 },
    ],
  });
  await github.createRepo("acme", "chat", { private: true, pushers: ["ada"] });
  [browser, server] = await Promise.all([
    launchBrowser(),
    startServer({
      dataDir,
      env: {
        ...standInSettings(github, { token: github.token("acme"), owner: "acme", name: "chat" }),
        ACCESS_TOKEN: TOKEN,
        GITHUB_CLIENT_ID: github.oauthApp.clientId,
        GITHUB_CLIENT_SECRET: github.oauthApp.clientSecret,
        GITHUB_OAUTH_URL: github.url,
        GITHUB_ALLOWED_USERS: "someone-else, BO",
      },
    }),
  ]);
  origin = server.url.replace("127.0.0.1", "localhost");
}, 40_000);
// Each test's browsers close with it: a chat page left open keeps its live stream.
afterEach(async () => {
  await Promise.all(opened.splice(0).map((w) => w.context.close().catch(() => {})));
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await github?.stop();
});

const newBrowser = async () => {
  const watched = await openPage(browser, origin, { viewport: { width: 1280, height: 800 } }, [github.url]);
  // Each sign-in crosses two servers and two sites: generous waits on a loaded machine.
  watched.context.setDefaultTimeout(30_000);
  opened.push(watched);
  return watched;
};

/** From gitchat's login page to GitHub's authorize page, and the button for `login` there (or Cancel). */
const approveOnGitHub = async (page: Page, button: string) => {
  await page.goto(`${origin}/login`);
  await page.getByRole("link", { name: "Sign in with GitHub" }).click();
  await page.waitForURL(`${github.url}/login/oauth/authorize?**`);
  await page.getByRole("button", { name: button }).click();
};

/**
 * The callback's answer as the browser received it: its status and the reason
 * its page gives. Read from the answer, not the rendered page: Playwright's
 * request routing (each page here is kept to two origins) now and then
 * leaves a page's stylesheet pending after the cross-site hop back from
 * GitHub's page, which would stall a read of the DOM though the page arrived.
 */
const callbackAnswer = (page: Page) =>
  page
    .waitForResponse((r) => r.url().startsWith(`${origin}/login/github/callback`))
    .then(async (r) => ({ status: r.status(), reason: /<p class="refusal" role="alert">([^<]*)<\/p>/.exec(await r.text())?.[1] }));

const signedInName = async (page: Page) => {
  await page.waitForURL(`${origin}/c/acme/chat`);
  return page.locator(".viewer strong").innerText();
};

test("a collaborator of the default channel's repository signs in with GitHub, and their message is theirs in git: github:ID and GitHub's no-reply address", async () => {
  const { page, problems } = await newBrowser();
  await approveOnGitHub(page, "Authorize as ada");
  expect(await signedInName(page)).toBe("Ada on GitHub");

  await page.locator("#content").fill("signed in through GitHub");
  await page.locator("#content").press("Enter");
  await page.waitForSelector("#messages li.message:not(.pending) >> text=signed in through GitHub");
  const me = await page.evaluate(async () => (await fetch("/me")).json());
  expect(me).toEqual({ login: "ada", name: "Ada on GitHub", role: "member", id: "github:58001" });

  const gitdir = join(dataDir, "repos", "acme", "chat.git");
  const log = await runGit(["--git-dir", gitdir, "log", "-1", "--format=%an <%ae>", "main"]);
  expect(log.stdout.trim()).toBe("Ada on GitHub <58001+ada@users.noreply.github.com>");
  const path = (await runGit(["--git-dir", gitdir, "show", "--name-only", "--format=", "main"])).stdout.split("\n").find((p) => p.startsWith("messages/"))!;
  expect(JSON.parse((await runGit(["--git-dir", gitdir, "show", `main:${path}`])).stdout).author_id).toBe("github:58001");
  expect(problems).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 120_000);

test("a login in GITHUB_ALLOWED_USERS signs in with GitHub without access to the repository", async () => {
  const { page } = await newBrowser();
  await approveOnGitHub(page, "Authorize as bo");
  expect(await signedInName(page)).toBe("bo");
}, 120_000);

test("a GitHub user with no access and not allowed is refused with a page that says why, and is not signed in", async () => {
  const { page } = await newBrowser();
  const answered = callbackAnswer(page);
  await approveOnGitHub(page, "Authorize as eve");
  expect(await answered).toEqual({
    status: 403,
    reason: "GitHub user eve may not sign in here: they are not a collaborator of acme/chat, and they are not in GITHUB_ALLOWED_USERS. Ask an admin of this gitchat to let them in.",
  });
  await page.goto(`${origin}/`);
  await page.waitForURL(/\/login\?next=/);
}, 120_000);

test("cancelling on GitHub's page signs no one in, and says so", async () => {
  const { page } = await newBrowser();
  const answered = callbackAnswer(page);
  await approveOnGitHub(page, "Cancel");
  expect(await answered).toEqual({ status: 401, reason: "You did not let this gitchat see your GitHub account." });
}, 120_000);

/**
 * GitHub's answer to the Authorize button (a redirect back to gitchat) goes
 * through `change` first: it gets the redirect's address, and gives the one
 * to follow, or none to stop there (and keep the link).
 */
const interceptGitHubAnswer = (page: Page, change: (location: URL) => string | undefined) =>
  page.route(`${github.url}/login/oauth/authorize`, async (route) => {
    if (route.request().method() !== "POST") return route.fallback();
    const answer = await route.fetch({ maxRedirects: 0 });
    const next = change(new URL(answer.headers().location!));
    if (next === undefined) return route.fulfill({ status: 200, contentType: "text/plain", body: "kept, not followed" });
    return route.fulfill({ status: 302, headers: { location: next } });
  });

test("a sign-in link made in another browser (its state is not this browser's), or with a forged or no state, is refused", async () => {
  // Someone starts a sign-in as bo and stops at the link GitHub sends back, to make another browser follow it.
  const attacker = await newBrowser();
  const intercepted = Promise.withResolvers<string>();
  await interceptGitHubAnswer(attacker.page, (location) => {
    intercepted.resolve(location.toString());
    return undefined;
  });
  await approveOnGitHub(attacker.page, "Authorize as bo");
  const link = await intercepted.promise;
  expect(new URL(link).searchParams.has("code")).toBe(true);

  const victim = await newBrowser();
  const answered = callbackAnswer(victim.page);
  await victim.page.goto(link, { waitUntil: "commit" });
  expect(await answered).toEqual({
    status: 400,
    reason: "This sign-in did not start in this browser, or took longer than 10 minutes: sign in with GitHub again.",
  });

  // The victim's own sign-in, answered with a state that is not the one it was given, or with none.
  for (const forge of [(url: URL) => url.searchParams.set("state", "forged-state"), (url: URL) => url.searchParams.delete("state")]) {
    await interceptGitHubAnswer(victim.page, (location) => {
      forge(location);
      return location.toString();
    });
    const refused = callbackAnswer(victim.page);
    await approveOnGitHub(victim.page, "Authorize as ada");
    expect(await refused).toEqual({
      status: 400,
      reason: "This sign-in did not start in this browser, or took longer than 10 minutes: sign in with GitHub again.",
    });
    await victim.page.unroute(`${github.url}/login/oauth/authorize`);
  }

  // Signed in by none of it: the chat sends this browser to sign in.
  const home = await victim.page.goto(`${origin}/`, { waitUntil: "commit" });
  expect(new URL(home!.url()).pathname).toBe("/login");
}, 120_000);

test("GitHub's access tokens were used and dropped: none is in the data directory or the server's output", () => {
  expect(github.oauthTokens.length).toBeGreaterThanOrEqual(3);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(dataDir);
  const found: string[] = [];
  for (const path of files) {
    const bytes = readFileSync(path).toString("latin1");
    for (const token of github.oauthTokens) if (bytes.includes(token)) found.push(path);
  }
  for (const token of github.oauthTokens) if (server.output().includes(token)) found.push("server output");
  expect(found).toEqual([]);
});
