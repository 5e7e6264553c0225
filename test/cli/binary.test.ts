import { beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, startServer, sendWithToken } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const out = join(tempDir(), "gitchat");

/** Built exactly as `npm run build` builds it, into a temporary directory. */
beforeAll(async () => {
  const script = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { build: string } }).scripts.build;
  const [bun, ...args] = script.split(" ");
  expect(bun).toBe("bun");
  expect(args.at(-2)).toBe("--outfile");
  const build = Bun.spawn([process.execPath, ...args.slice(0, -1), out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect(await build.exited).toBe(0);
}, 60_000);

test("the single executable serves the same API with nothing else installed beside it", async () => {

  // Run it from an empty directory, so that nothing of the source tree can help it.
  const dataDir = tempDir();
  const server = await startServer({ dataDir, command: [out, "serve"] });
  try {
    const sent = await fetch(`${server.url}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: "from the binary" }),
    });
    expect(sent.status).toBe(201);
    const message = (await sent.json()) as { git_hash: string; content: string };
    expect(message.git_hash).toMatch(/^[0-9a-f]{40}$/);
    const listed = (await (await fetch(`${server.url}/messages`)).json()) as { content: string }[];
    expect(listed.map((m) => m.content)).toEqual(["from the binary"]);
    expect((await fetch(`${server.url}/openapi.json`)).status).toBe(200);
    // The page and every asset it loads come from inside the binary.
    const page = await (await fetch(`${server.url}/c/local/general`)).text();
    expect(page).toContain("from the binary");
    const assets = [...page.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      const response = await fetch(`${server.url}${asset}`);
      expect(response.status).toBe(200);
      expect((await response.text()).length).toBeGreaterThan(100);
    }
  } finally {
    expect(await server.stop()).toBe(0);
  }
}, 60_000);

test("the executable takes .env values literally and ignores a bunfig.toml in its working directory", async () => {
  const dataDir = tempDir();
  writeFileSync(join(dataDir, ".env"), "ACCESS_TOKEN=abc$HOMEXYZ123\n");
  // A bunfig.toml where the binary runs could make it run any script first.
  writeFileSync(join(dataDir, "bunfig.toml"), 'preload = ["./preload.ts"]\n');
  writeFileSync(join(dataDir, "preload.ts"), 'require("node:fs").writeFileSync("PRELOADED", "yes");\n');
  const server = await startServer({ dataDir, command: [out, "serve"] });
  try {
    const send = (token: string) => sendWithToken(server.url, token);
    expect((await send("abc")).status).toBe(401);
    expect((await send("abc$HOMEXYZ123")).status).toBe(201);
    expect(existsSync(join(dataDir, "PRELOADED"))).toBe(false);
  } finally {
    expect(await server.stop()).toBe(0);
  }
});

test("gitchat setup writes a private .env with a fresh ACCESS_TOKEN, keeps the data directory private, and never overwrites", async () => {
  const { statSync, readFileSync } = await import("node:fs");
  const { CLI } = await import("../support/server.ts");
  const cwd = tempDir();
  const env = { ...process.env, DATA_DIR: join(cwd, "data"), ACCESS_TOKEN: "" };
  const first = Bun.spawn([process.execPath, CLI, "setup"], { cwd, env, stdout: "pipe", stderr: "pipe" });
  expect(await first.exited).toBe(0);
  expect(statSync(join(cwd, ".env")).mode & 0o777).toBe(0o600);
  expect(statSync(join(cwd, "data")).mode & 0o777).toBe(0o700);
  const token = /^ACCESS_TOKEN=(\S+)$/m.exec(readFileSync(join(cwd, ".env"), "utf8"))?.[1];
  expect(token?.length).toBeGreaterThanOrEqual(24);
  expect(await new Response(first.stdout).text()).not.toContain(token!);
  const again = Bun.spawn([process.execPath, CLI, "setup"], { cwd, env, stdout: "pipe", stderr: "pipe" });
  expect(await again.exited).toBe(1);
  expect(await new Response(again.stderr).text()).toContain("exists already");
  expect(readFileSync(join(cwd, ".env"), "utf8")).toContain(token!);
});
