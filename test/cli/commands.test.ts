/**
 * The command line's grammar: --version, per-command help, and refusals
 * (unknown commands, unknown flags, stray arguments: exit 2 with the usage line).
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runCli } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** Runs the CLI in a directory of its own (so that nothing it might write lands in the source tree). */
const cli = (args: string[]) => {
  const dir = tempDir();
  return runCli(args, { dataDir: join(dir, "data"), cwd: dir });
};

/** The command names `gitchat help` lists. */
const listedCommands = async () => {
  const help = await cli(["help"]);
  expect(help.code).toBe(0);
  const block = help.stdout.split("commands:\n")[1]!.split("\n\n")[0]!;
  return block.split("\n").map((line) => line.trim().split(/\s+/)[0]!);
};

test("--version and -v print the package's version", async () => {
  for (const flag of ["--version", "-v"]) {
    const result = await cli([flag]);
    expect({ code: result.code, stdout: result.stdout.trim() }).toEqual({ code: 0, stdout: `gitchat ${version}` });
  }
});

test("gitchat help lists every command, and each one's help is its usage line and its options, the same either way", async () => {
  const commands = await listedCommands();
  expect(commands).toEqual(expect.arrayContaining(["serve", "rebuild", "verify", "repair", "push", "pull", "setup", "signing-key", "help"]));
  for (const name of commands) {
    const viaHelp = await cli(["help", name]);
    const viaFlag = await cli([name, "--help"]);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout.split("\n")[0]).toMatch(new RegExp(`^usage: gitchat ${name}( |$)`));
    expect(viaHelp.stdout).toContain("options:\n");
    expect(viaHelp.stdout).toContain("--help");
    expect({ code: viaFlag.code, stdout: viaFlag.stdout }).toEqual({ code: 0, stdout: viaHelp.stdout });
  }
}, 120_000);

test("COMMAND --help only prints: setup writes no .env and serve does not start", async () => {
  const dir = tempDir();
  const setup = await runCli(["setup", "--help"], { dataDir: join(dir, "data"), cwd: dir });
  expect(setup.code).toBe(0);
  expect(existsSync(join(dir, ".env"))).toBe(false);
  const serve = await runCli(["serve", "-h"], { dataDir: join(dir, "data"), cwd: dir, timeoutMs: 20_000 });
  expect(serve.code).toBe(0);
  expect(serve.stdout).not.toContain("listening");
});

test("an unknown flag is refused with exit 2, naming the flag, with the command's usage line", async () => {
  const result = await cli(["push", "--force"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toBe("gitchat push: unknown option --force\nusage: gitchat push\n");
});

test("an argument a command does not take is refused with exit 2 and the usage line", async () => {
  const result = await cli(["verify", "everything"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toBe("gitchat verify: unexpected argument everything\nusage: gitchat verify\n");
});

test("an unknown command, or help for one, is refused with exit 2 naming it", async () => {
  for (const args of [["frobnicate"], ["help", "frobnicate"]]) {
    const result = await cli(args);
    expect(result.code).toBe(2);
    expect(result.stderr.split("\n")[0]).toBe('gitchat: unknown command "frobnicate"');
    expect(result.stderr).toContain("usage: gitchat COMMAND");
  }
});

test("an unknown flag before any command is refused with exit 2", async () => {
  const result = await cli(["--frobnicate"]);
  expect(result.code).toBe(2);
  expect(result.stderr.split("\n")[0]).toBe("gitchat: unknown option --frobnicate");
});

test("every command gitchat help lists refuses an unknown flag with exit 2, naming the flag, and its own usage line", async () => {
  const wrong: string[] = [];
  for (const name of await listedCommands()) {
    const usage = (await cli(["help", name])).stdout.split("\n")[0]!;
    const result = await cli([name, "--no-such-flag"]);
    const want = `gitchat ${name}: unknown option --no-such-flag\n${usage}\n`;
    if (result.code !== 2 || result.stderr !== want || result.stdout !== "") wrong.push(`${name}: exit ${result.code}, ${JSON.stringify(result.stderr)}`);
  }
  expect(wrong).toEqual([]);
}, 120_000);

test("--version and --help take nothing after them: exit 2 with their usage line", async () => {
  for (const flag of ["--version", "-h"]) {
    const result = await cli([flag, "extra"]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 2, stderr: `gitchat ${flag}: unexpected argument extra\nusage: gitchat ${flag}\n` });
  }
});
