/**
 * `npm test` obtains the browser first (npm's pretest runs scripts/ensure-chromium.sh):
 * where it cannot install Chromium, it stops with one line saying what to run,
 * instead of letting the browser tests fail later or be skipped.
 */
import { expect, test } from "bun:test";
import { chmodSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const pretest = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.pretest!;

/** npm's pretest command with CHROMIUM_PATH set, and a PATH that holds bash and nothing else (so no apt-get). */
const runPretest = async (chromium: string) => {
  const bin = tempDir();
  symlinkSync(Bun.which("bash")!, join(bin, "bash"));
  const proc = Bun.spawn([Bun.which("bash")!, "-c", pretest], {
    cwd: ROOT,
    env: { PATH: bin, CHROMIUM_PATH: chromium },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: stdout + stderr };
};

test("npm test stops before the tests with one line saying what to run when Chromium is missing and cannot be installed", async () => {
  const missing = join(tempDir(), "no-chromium-here");
  const { code, output } = await runPretest(missing);
  expect(code).not.toBe(0);
  expect(output).toBe(
    `gitchat's browser tests need Chromium at ${missing}: run \`sudo apt-get install chromium\` (or set CHROMIUM_PATH to a Chromium binary)\n`,
  );
});

test("npm test goes on quietly when Chromium is there", async () => {
  const chromium = join(tempDir(), "chromium");
  writeFileSync(chromium, "#!/bin/sh\n");
  chmodSync(chromium, 0o755);
  expect(await runPretest(chromium)).toEqual({ code: 0, output: "" });
});
