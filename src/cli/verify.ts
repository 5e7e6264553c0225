/**
 * `gitchat verify`: git and the index hold the same messages, and every file
 * in git reads back. Exits 1 only for a real inconsistency; what the rules
 * keep out of the index (quarantined files, kept conflict copies) is listed
 * as a note. Read-only (see verifyChannels in gitchat.ts and
 * messages/consistency.ts): it takes no lock, and runs beside a server.
 */
import type { Config } from "../config.ts";
import { verifyChannels } from "../gitchat.ts";
import { terminalProgress } from "./progress.ts";

const printSome = (print: (line: string) => void, lines: string[], prefix: string) => {
  for (const line of lines.slice(0, 20)) print(`  ${prefix}${line}`);
  if (lines.length > 20) print(`  ... and ${lines.length - 20} more`);
};

export const verifyGitchat = async (config: Config, print: (line: string) => void = console.log) => {
  let ok = true;
  await verifyChannels(config, (what, unit) => terminalProgress(what, undefined, unit), ({ line, problems, notes }) => {
    print(line);
    printSome(print, problems.filter((p) => !line.endsWith(p)), "");
    printSome(print, notes, "note: ");
    ok &&= problems.length === 0;
  });
  return ok;
};
