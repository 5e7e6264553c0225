/**
 * `gitchat setup` against the GitHub stand-in: on a real pseudo-terminal
 * (util-linux `script`) and with flags; the token checked with GitHub before
 * anything is written, never shown, and the `.env` readable by its owner only.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "dotenv";
import { startGitHub } from "../support/github.ts";
import { CLI, runCli, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";
import { eventually } from "../sync/support.ts";

const ALICE = "ghp_aliceSetupToken000000000000000000000";
const READER = "ghp_readerSetupToken00000000000000000000";
const FINE = "github_pat_fineGrainedSetupToken0000000000";
const github = await startGitHub({
  users: [
    { login: "alice", token: ALICE },
    { login: "rita", token: READER, scopes: ["read:user", "gist"] },
    { login: "fern", token: FINE, scopes: null },
  ],
});
await github.createRepo("bob", "open-room", { private: false });
await github.createRepo("alice", "chat");
afterAll(() => github.stop());

const githubEnv = { GITHUB_API_URL: github.apiUrl, GITHUB_GIT_URL: github.gitUrl };

const setup = (dir: string, args: string[], stdin?: string) =>
  runCli(["setup", ...args], { dataDir: join(dir, "data"), cwd: dir, env: githubEnv, stdin });

const envOf = (dir: string, file = ".env") => parse(readFileSync(join(dir, file), "utf8"));
const modeOf = (dir: string, file = ".env") => statSync(join(dir, file)).mode & 0o777;

/** `gitchat setup` on a pseudo-terminal: answers each question once its prompt shows, and returns the whole screen and the exit code. */
const onTerminal = async (dir: string, answers: [prompt: string, answer: string][]) => {
  const command = [process.execPath, CLI, "setup"].map((part) => `'${part}'`).join(" ");
  const proc = Bun.spawn(["script", "-qfec", command, "/dev/null"], {
    cwd: dir,
    env: { ...process.env, ...githubEnv, DATA_DIR: join(dir, "data"), TERM: "dumb" },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  let screen = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of proc.stdout as unknown as AsyncIterable<Uint8Array>) screen += decoder.decode(chunk);
  })();
  let seen = 0;
  for (const [prompt, answer] of answers) {
    await eventually(() => screen.indexOf(prompt, seen) >= 0, 20_000).catch(() => {
      throw new Error(`no prompt "${prompt}" on the terminal: ${screen}`);
    });
    seen = screen.indexOf(prompt, seen) + prompt.length;
    proc.stdin.write(`${answer}\r`);
    await proc.stdin.flush();
  }
  const code = await proc.exited;
  proc.stdin.end();
  await reading;
  return { code, screen };
};

test("on a terminal it asks for the token without showing it, checks it with GitHub, and writes a .env only its owner can read", async () => {
  const dir = tempDir();
  const { code, screen } = await onTerminal(dir, [
    ["GitHub token", ALICE],
    ["GitHub user that owns the channels:", ""],
    ["Repository of the default channel:", "chat"],
  ]);
  expect(code).toBe(0);
  expect(screen).not.toContain(ALICE);
  expect(screen).toContain("alice/chat is on GitHub, and alice may push to it");
  const env = envOf(dir);
  expect([env.GITHUB_TOKEN, env.GITHUB_USERNAME, env.GITHUB_REPO_NAME]).toEqual([ALICE, "alice", "chat"]);
  expect(modeOf(dir)).toBe(0o600);
  // GitHub was asked who the token is.
  expect(github.requests.some((r) => r.path === "/api/user" && r.user === "alice")).toBe(true);
}, 60_000);

test("on a terminal it asks before replacing a .env, and keeps it when told no", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, ".env"), "PORT=9999\n", { mode: 0o600 });
  const { code, screen } = await onTerminal(dir, [["Replace it", "n"]]);
  expect(code).toBe(0);
  expect(screen).toContain("nothing was written");
  expect(readFileSync(join(dir, ".env"), "utf8")).toBe("PORT=9999\n");
}, 60_000);

test("with --with-token (stdin) it writes .env and .env.example, prints no token, and a server started there syncs with GitHub", async () => {
  const dir = tempDir();
  const result = await setup(dir, ["--with-token", "--repo", "team"], `${ALICE}\n`);
  expect(result.code).toBe(0);
  expect(result.stdout + result.stderr).not.toContain(ALICE);
  const env = envOf(dir);
  expect([env.GITHUB_TOKEN, env.GITHUB_USERNAME, env.GITHUB_REPO_NAME, env.GITHUB_API_URL]).toEqual([ALICE, "alice", "team", github.apiUrl]);
  expect(env.ACCESS_TOKEN!.length).toBeGreaterThanOrEqual(32);
  expect(modeOf(dir)).toBe(0o600);
  const example = readFileSync(join(dir, ".env.example"), "utf8");
  expect([example.includes(ALICE), example.includes(env.ACCESS_TOKEN!), envOf(dir, ".env.example").GITHUB_USERNAME]).toEqual([false, false, "alice"]);

  // The file is what a server starts from: GitHub gets the channel's repository and the message.
  const server = await startServer({ dataDir: join(dir, "data"), cwd: dir });
  try {
    const sent = await fetch(`${server.url}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${env.ACCESS_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ content: "set up" }),
    });
    expect(sent.status).toBe(201);
    await eventually(() => (github.repo("alice", "team")?.pushes.length ?? 0) > 0, 20_000);
  } finally {
    expect(await server.stop()).toBe(0);
  }
}, 60_000);

test("a fine-grained token (no scopes to list) is taken, saying what GitHub cannot tell beforehand", async () => {
  const dir = tempDir();
  const result = await setup(dir, ["--with-token"], FINE);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain("fern/general is not on GitHub yet: the first start creates it (private) if the token has Administration: read and write");
  expect(envOf(dir).GITHUB_USERNAME).toBe("fern");
});

test.each([
  ["a token GitHub does not know", ["--with-token"], "ghp_notATokenGitHubKnows00000000000000000", 2, "GitHub refused the token"],
  ["a token without the repo scope", ["--with-token"], READER, 2, "has the scopes read:user, gist, not repo"],
  ["a repository the token's user may only read", ["--with-token", "--user", "bob", "--repo", "open-room"], ALICE, 2, "alice may not push to bob/open-room"],
  ["a missing repository of another user", ["--with-token", "--user", "bob", "--repo", "nothing"], ALICE, 2, "creates repositories only under the token's user"],
  ["an empty stdin", ["--with-token"], "", 2, "stdin was empty"],
])("%s is refused, and nothing is written", async (_, args, token, exitCode, says) => {
  const dir = tempDir();
  const result = await setup(dir, args, token);
  expect({ code: result.code, says: result.stderr.includes(says) }).toEqual({ code: exitCode, says: true });
  if (token) expect(result.stdout + result.stderr).not.toContain(token);
  expect([existsSync(join(dir, ".env")), existsSync(join(dir, ".env.example"))]).toEqual([false, false]);
});

test("without a terminal, an existing .env is replaced only with --force, and then readable by its owner only", async () => {
  const dir = tempDir();
  writeFileSync(join(dir, ".env"), "PORT=9999\n");
  chmodSync(join(dir, ".env"), 0o644);
  const refused = await setup(dir, ["--with-token"], ALICE);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("--force");
  expect(readFileSync(join(dir, ".env"), "utf8")).toBe("PORT=9999\n");

  const forced = await setup(dir, ["--with-token", "--force", "--repo", "chat"], ALICE);
  expect(forced.code).toBe(0);
  expect([envOf(dir).GITHUB_TOKEN, envOf(dir).PORT, modeOf(dir)]).toEqual([ALICE, undefined, 0o600]);
});

test("without a token or a terminal it writes a local chat's .env, with no GitHub sync", async () => {
  const dir = tempDir();
  const result = await setup(dir, []);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain("no GitHub sync");
  const env = envOf(dir);
  expect([env.ACCESS_TOKEN!.length >= 32, env.GITHUB_TOKEN]).toEqual([true, undefined]);
});
