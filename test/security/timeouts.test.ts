import { expect, test } from "bun:test";
import { standInSettings, startGitHub } from "../support/github.ts";
import { startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

/** Opens a raw TCP connection, sends `data`, and says how long until the server closed it (or undefined). */
const closedAfter = (port: number, data: string, limitMs: number) =>
  new Promise<number | undefined>((resolve) => {
    const started = Date.now();
    const timer = setTimeout(() => resolve(undefined), limitMs);
    void Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.write(data);
        },
        data() {},
        close() {
          clearTimeout(timer);
          resolve(Date.now() - started);
        },
        error() {
          clearTimeout(timer);
          resolve(Date.now() - started);
        },
      },
    });
  });

test("a client that promises a body it never sends is cut off after IDLE_TIMEOUT, and half a request head within Bun's ~10 s", async () => {
  const server = await startServer({ dataDir: tempDir(), env: { IDLE_TIMEOUT: "2" } });
  try {
    const port = Number(new URL(server.url).port);
    const [headers, body] = await Promise.all([
      closedAfter(port, "GET /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", 25_000),
      closedAfter(port, "POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"content\":", 10_000),
    ]);
    expect(headers).toBeDefined();
    expect(body).toBeDefined();
    // An unfinished request head is Bun's to time out (about 10 s, whatever IDLE_TIMEOUT says).
    expect(headers!).toBeLessThan(15_000);
    expect(body!).toBeLessThan(8_000);
    // The server is still there for everyone else.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  } finally {
    await server.stop();
  }
}, 40_000);

test("a push that takes longer than IDLE_TIMEOUT (a slow GitHub) still gets its answer, not a dropped connection", async () => {
  const token = "ghp_timeoutsTestToken0000000000000000000000";
  const github = await startGitHub({ users: [{ login: "alice", token }] });
  const server = await startServer({ dataDir: tempDir(), env: { ...standInSettings(github, { token }), IDLE_TIMEOUT: "2", ACCESS_TOKEN: "" } });
  try {
    // GitHub takes 4 s to answer each push: twice the idle timeout.
    github.tamper({
      path: /git-receive-pack$/,
      method: "POST",
      times: Infinity,
      body: (real) =>
        new ReadableStream({
          async start(controller) {
            await Bun.sleep(4_000);
            controller.enqueue(real);
            controller.close();
          },
        }),
    });
    const sent = await fetch(`${server.url}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"content":"slow to push"}' });
    expect(sent.status).toBe(201);
    const pushed = await fetch(`${server.url}/push`, { method: "POST" });
    expect({ status: pushed.status, success: ((await pushed.json()) as { success: boolean }).success }).toEqual({ status: 200, success: true });
  } finally {
    await server.stop();
    await github.stop();
  }
}, 40_000);
