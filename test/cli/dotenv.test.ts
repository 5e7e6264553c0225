/**
 * `.env` values reach gitchat literally: a `$` in a token is part of the token.
 * Bun's own .env loader would expand `$HOMEXYZ123` to nothing; gitchat turns it
 * off (bunfig.toml) and reads `.env` itself.
 */
import { expect, test } from "bun:test";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, ROOT, startServer, sendWithToken } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const TOKEN = "abc$HOMEXYZ123";

test("npm start in a directory whose .env holds ACCESS_TOKEN=abc$HOMEXYZ123 accepts exactly that token", async () => {
  // `npm start` runs the start script in the project's directory, beside its bunfig.toml and .env:
  // the same here, in a directory of its own.
  const cwd = tempDir();
  copyFileSync(join(ROOT, "bunfig.toml"), join(cwd, "bunfig.toml"));
  writeFileSync(join(cwd, ".env"), `ACCESS_TOKEN=${TOKEN}\n`);
  const script = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
  expect(script).toBe("bun src/cli/main.ts serve");
  const server = await startServer({ dataDir: join(cwd, "data"), cwd, command: [process.execPath, CLI, "serve"] });
  try {
    const send = (token: string) => sendWithToken(server.url, token);
    expect((await send("abc")).status).toBe(401);
    expect((await send(TOKEN)).status).toBe(201);
  } finally {
    expect(await server.stop()).toBe(0);
  }
});
