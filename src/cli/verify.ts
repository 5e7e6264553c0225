/**
 * `gitchat verify`: git and the index hold the same messages, and every file
 * in git reads back. Exits 1 only for a real inconsistency; what the rules
 * keep out of the index (quarantined files, kept conflict copies) is listed
 * as a note.
 */
import type { Config } from "../config.ts";
import { openGitchat } from "../gitchat.ts";
import { checkChannel } from "../messages/consistency.ts";

const printSome = (print: (line: string) => void, lines: string[], prefix: string) => {
  for (const line of lines.slice(0, 20)) print(`  ${prefix}${line}`);
  if (lines.length > 20) print(`  ... and ${lines.length - 20} more`);
};

export const verifyGitchat = async (config: Config, print: (line: string) => void = console.log) => {
  const gitchat = await openGitchat(config, () => {});
  let ok = true;
  try {
    for (const channel of gitchat.repositories.list()) {
      const { files, indexed, problems, notes } = await checkChannel(gitchat.db, channel);
      const verdict = problems.length ? `, ${problems.length} difference(s)` : ", consistent";
      print(`${channel.fullName}: ${files} message(s) in git, ${indexed} indexed${verdict}${notes.length ? `, ${notes.length} note(s)` : ""}`);
      printSome(print, problems, "");
      printSome(print, notes, "note: ");
      ok &&= problems.length === 0;
    }
  } finally {
    await gitchat.close();
  }
  return ok;
};
