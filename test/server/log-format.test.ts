/**
 * The server's log, as a log collector reads it: with LOG_FORMAT=json one
 * JSON object per line (time, level, msg, fields); in either format, no
 * secret, whatever goes wrong.
 */
import { afterAll, expect, test } from "bun:test";
import { standInSettings, startGitHub } from "../support/github.ts";
import { runCli, sendWithToken, startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const ALICE = "ghp_aliceLogFormatToken00000000000000000";
const ACCESS = "access-token-in-no-log-1234";
const github = await startGitHub({ users: [{ login: "alice", token: ALICE }] });
afterAll(() => github.stop());

/** A server whose pushes all fail (a warning in the log), a message sent with the token, a wrong token tried, then SIGTERM. */
const eventfulRun = async (format: "text" | "json") => {
  const fault = github.fail({ path: /git-receive-pack/, status: 500, times: Infinity });
  try {
    const server = await startServer({ dataDir: tempDir(), env: { ...standInSettings(github, { token: ALICE }), ACCESS_TOKEN: ACCESS, LOG_FORMAT: format } });
    expect((await sendWithToken(server.url, ACCESS, "hello")).status).toBe(201);
    expect((await sendWithToken(server.url, `${ACCESS}-wrong`, "hello")).status).toBe(401);
    for (let tries = 0; !server.output().includes("sync failed"); tries++) {
      if (tries > 1500) throw new Error(`no sync failure logged:\n${server.output()}`);
      await Bun.sleep(20);
    }
    expect(await server.stop()).toBe(0);
    return server.output();
  } finally {
    fault.cancel();
  }
};

test("LOG_FORMAT=json: every line is one JSON object with time, level and msg; warnings say so, with the channel", async () => {
  const output = await eventfulRun("json");
  const lines = output.trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const line of lines) {
    expect(Object.keys(line).slice(0, 3)).toEqual(["time", "level", "msg"]);
    expect(new Date(line.time as string).toISOString()).toBe(line.time as string);
    expect(["info", "warn", "error"]).toContain(line.level as string);
  }
  expect(lines.find((l) => (l.msg as string).includes("listening on"))).toMatchObject({ level: "info", url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
  expect(lines.find((l) => (l.msg as string).includes("sync failed"))).toMatchObject({ level: "warn", channel: "alice/chat" });
  expect(lines.at(-1)).toMatchObject({ level: "warn", signal: "SIGTERM", msg: expect.stringContaining("not pushed") });
});

test("no secret reaches the log, in either format", async () => {
  for (const format of ["text", "json"] as const) {
    const output = await eventfulRun(format);
    expect(output).toContain("sync failed");
    for (const secret of [ALICE, ACCESS]) expect(output).not.toContain(secret);
  }
}, 60_000);

test("LOG_FORMAT=json: a start-up that is refused ends with one JSON line too, level error", async () => {
  const dataDir = tempDir();
  const first = await startServer({ dataDir });
  try {
    const second = await runCli(["serve"], { dataDir, env: { LOG_FORMAT: "json" }, timeoutMs: 20_000 });
    expect(second.code).toBe(1);
    const lines = second.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", msg: `${dataDir} is in use by another gitchat; stop that one first, or give this one its own DATA_DIR` });
  } finally {
    await first.stop();
  }
}, 60_000);
