/**
 * GET /metrics, read as Prometheus reads it (a strict reader of the text
 * format, test/support/prometheus.ts): a real server syncing with the GitHub
 * stand-in, after sends, pushes, a failing push and a pull; and who may scrape.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { call, openTestGitchat } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { standInSettings, startGitHub } from "../support/github.ts";
import { parsePrometheusText, sampleValue } from "../support/prometheus.ts";
import { startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";
import { ALICE, eventually, send, syncedGitchat } from "../sync/support.ts";

const TOKEN = "metrics-access-token-for-tests";
const admin = { authorization: `Bearer ${TOKEN}` };
const CHANNEL = { channel: "alice/chat" };

const github = await startGitHub({ users: [{ login: "alice", token: ALICE }] });
afterAll(() => github.stop());

describe("GET /metrics on a server syncing with GitHub", () => {
  const remoteMessages = async () =>
    (await runGit(["--git-dir", github.repoPath("alice", "chat"), "ls-tree", "-r", "--name-only", "main", "messages"])).stdout.split("\n").filter(Boolean).length;

  test("counts what was sent, committed, pushed, failed to push and pulled, as Prometheus text", async () => {
    const before = Date.now() / 1000;
    const server = await startServer({ dataDir: tempDir(), env: { ...standInSettings(github, { token: ALICE }), ACCESS_TOKEN: TOKEN } });
    const scrape = async () => {
      const response = await fetch(`${server.url}/metrics`, { headers: admin });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      return parsePrometheusText(await response.text());
    };
    const post = (path: string, body?: unknown, headers: Record<string, string> = admin) =>
      fetch(`${server.url}${path}`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body ?? {}) });
    try {
      for (const content of ["one", "two", "three"]) expect((await post("/messages", { content })).status).toBe(201);
      await eventually(async () => (await remoteMessages()) === 3, 20_000);
      await eventually(async () => sampleValue(await scrape(), "gitchat_unpushed_commits", CHANNEL) === 0, 20_000);

      const sent = await scrape();
      expect({
        sent: sampleValue(sent, "gitchat_messages_sent_total"),
        committedMessages: sampleValue(sent, "gitchat_commit_messages_sum"),
        // Every commit was timed and sized: one observation each.
        timedCommits: sampleValue(sent, "gitchat_commit_duration_seconds_count") === sampleValue(sent, "gitchat_commit_messages_count"),
        failures: sampleValue(sent, "gitchat_sync_failures_total", CHANNEL),
        pulled: sampleValue(sent, "gitchat_messages_pulled_total"),
        streams: sampleValue(sent, "gitchat_live_streams"),
        rateLimited: sampleValue(sent, "gitchat_rate_limited_requests_total"),
      }).toEqual({ sent: 3, committedMessages: 3, timedCommits: true, failures: 0, pulled: 0, streams: 0, rateLimited: 0 });
      expect(sent.get("gitchat_commit_duration_seconds")?.type).toBe("histogram");
      const started = sampleValue(sent, "process_start_time_seconds");
      expect(started >= Math.floor(before) && started <= Date.now() / 1000).toBe(true);

      // GitHub refuses every push: the sync fails, and the new commit waits.
      const refusal = github.fail({ method: "POST", path: /git-receive-pack$/, status: 500, times: Infinity });
      expect((await post("/messages", { content: "four" })).status).toBe(201);
      await eventually(async () => sampleValue(await scrape(), "gitchat_sync_failures_total", CHANNEL) > 0, 20_000);
      expect(sampleValue(await scrape(), "gitchat_unpushed_commits", CHANNEL)).toBe(1);
      refusal.cancel();
      expect(((await (await post("/push")).json()) as { success: boolean }).success).toBe(true);
      expect(sampleValue(await scrape(), "gitchat_unpushed_commits", CHANNEL)).toBe(0);

      // Another server sends two messages through GitHub; this one pulls them.
      const other = await syncedGitchat(github);
      try {
        await send(other, "from the other server");
        await send(other, "and another");
        await eventually(async () => (await remoteMessages()) === 6, 20_000);
      } finally {
        await other.close();
      }
      expect(((await (await post("/pull")).json()) as { success: boolean }).success).toBe(true);
      const pulled = await scrape();
      expect([sampleValue(pulled, "gitchat_messages_pulled_total"), sampleValue(pulled, "gitchat_messages_sent_total")]).toEqual([2, 4]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 90_000);
});

describe("who may scrape /metrics", () => {
  test("with access control on, only an admin: no credentials get 401, a member 403", async () => {
    const gitchat = await openTestGitchat({ env: { ACCESS_TOKEN: TOKEN } });
    try {
      expect((await call(gitchat, "POST", "/users", { login: "mia" }, admin)).status).toBe(201);
      const member = (await call(gitchat, "POST", "/users/mia/tokens", {}, admin)).body.token as string;
      const statuses = await Promise.all(
        [{}, { authorization: `Bearer ${member}` }, admin].map(async (headers) => (await call(gitchat, "GET", "/metrics", undefined, headers)).status),
      );
      expect(statuses).toEqual([401, 403, 200]);
    } finally {
      await gitchat.close();
    }
  });

  test("in the open local mode (no ACCESS_TOKEN, no account), anyone on loopback, as /health", async () => {
    const gitchat = await openTestGitchat();
    try {
      expect((await call(gitchat, "GET", "/metrics")).status).toBe(200);
    } finally {
      await gitchat.close();
    }
  });
});

describe("what the HTTP layer counts", () => {
  test("requests refused for the rate limit are counted", async () => {
    const gitchat = await openTestGitchat({ env: { RATE_LIMIT: "2" } });
    try {
      const statuses = [];
      for (const content of ["a", "b", "c", "d"]) statuses.push((await call(gitchat, "POST", "/messages", { content })).status);
      expect(statuses).toEqual([201, 201, 429, 429]);
      const families = parsePrometheusText((await call(gitchat, "GET", "/metrics")).body as string);
      expect(sampleValue(families, "gitchat_rate_limited_requests_total")).toBe(2);
    } finally {
      await gitchat.close();
    }
  });

  test("live streams are counted while they are open", async () => {
    const gitchat = await openTestGitchat();
    const streams = async () => sampleValue(parsePrometheusText((await call(gitchat, "GET", "/metrics")).body as string), "gitchat_live_streams");
    try {
      const stream = await gitchat.app.handle(new Request("http://localhost/c/local/general/events"));
      expect(stream.headers.get("content-type")).toStartWith("text/event-stream");
      expect(await streams()).toBe(1);
      await stream.body?.cancel();
      expect(await streams()).toBe(0);
    } finally {
      await gitchat.close();
    }
  });
});

describe("the test's reader of the text format is strict", () => {
  const HISTOGRAM = '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n';
  test("it reads Prometheus' own example of the format", () => {
    const families = parsePrometheusText(
      [
        "# HELP http_requests_total The total number of HTTP requests.",
        "# TYPE http_requests_total counter",
        'http_requests_total{method="post",code="200"} 1027 1395066363000',
        'http_requests_total{method="post",code="400"}    3 1395066363000',
        "",
        '# Escaping in label values:',
        'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
        "metric_without_timestamp_and_labels 12.47",
        'something_weird{problem="division by zero"} +Inf -3982045',
        HISTOGRAM,
      ].join("\n"),
    );
    expect(sampleValue(families, "http_requests_total", { method: "post", code: "400" })).toBe(3);
    expect(sampleValue(families, "msdos_file_access_time_seconds", { path: "C:\\DIR\\FILE.TXT", error: 'Cannot find file:\n"FILE.TXT"' })).toBe(1458255915);
    expect(sampleValue(families, "something_weird", { problem: "division by zero" })).toBe(Infinity);
    expect(sampleValue(families, "h_count")).toBe(2);
  });

  test.each([
    ["a TYPE after its family's samples", "m 1\n# TYPE m gauge\n"],
    ["an escape the format does not have", 'm{a="\\t"} 1\n'],
    ["a +Inf bucket that is not the count", HISTOGRAM.replace("h_count 2", "h_count 3")],
    ["buckets that are not cumulative", HISTOGRAM.replace('h_bucket{le="1"} 1', 'h_bucket{le="1"} 5')],
    ["a family in two groups", "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x=\"y\"} 2\n"],
    ["the same series twice", "a 1\na 2\n"],
    ["no line feed at the end", "a 1"],
    ["a value that is not a float", "a one\n"],
  ])("it refuses %s", (_, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});
