/**
 * `npm test` obtains the browser and strace first (npm's pretest runs
 * scripts/ensure-test-tools.sh): where it cannot install them, it stops with
 * one line saying what to run, instead of letting tests fail later or be skipped.
 */
import { expect, test } from "bun:test";
import { chmodSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const pretest = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts.pretest!;

/** A file that passes for an installed program. */
const fakeProgram = (name: string) => {
  const path = join(tempDir(), name);
  writeFileSync(path, "#!/bin/sh\n");
  chmodSync(path, 0o755);
  return path;
};

/** npm's pretest command with CHROMIUM_PATH and STRACE_PATH set, and a PATH that holds bash and nothing else (so no apt-get). */
const runPretest = async (chromium: string, strace = fakeProgram("strace")) => {
  const bin = tempDir();
  symlinkSync(Bun.which("bash")!, join(bin, "bash"));
  const proc = Bun.spawn([Bun.which("bash")!, "-c", pretest], {
    cwd: ROOT,
    env: { PATH: bin, CHROMIUM_PATH: chromium, STRACE_PATH: strace },
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
    `gitchat's tests need chromium (Chromium at ${missing}, strace on PATH): run \`sudo apt-get install chromium\` (or set CHROMIUM_PATH / STRACE_PATH)\n`,
  );
});

test("npm test stops with one line naming both when Chromium and strace are missing", async () => {
  const chromium = join(tempDir(), "no-chromium-here");
  const { code, output } = await runPretest(chromium, join(tempDir(), "no-strace-here"));
  expect(code).not.toBe(0);
  expect(output).toBe(
    `gitchat's tests need chromium strace (Chromium at ${chromium}, strace on PATH): run \`sudo apt-get install chromium strace\` (or set CHROMIUM_PATH / STRACE_PATH)\n`,
  );
});

test("npm test goes on quietly when Chromium and strace are there", async () => {
  expect(await runPretest(fakeProgram("chromium"))).toEqual({ code: 0, output: "" });
});
