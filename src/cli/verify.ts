/** `gitchat verify`: git and the index hold the same messages, and every file in git reads back. */
import type { Config } from "../config.ts";
import { decodeMessage, idFromPath } from "../git/message-file.ts";
import { openGitchat } from "../gitchat.ts";

export const verifyGitchat = async (config: Config, print: (line: string) => void = console.log) => {
  const gitchat = await openGitchat(config, () => {});
  let ok = true;
  try {
    for (const channel of gitchat.repositories.list()) {
      const head = await channel.store.head();
      const files = head ? await channel.store.listFiles(head) : [];
      const problems: string[] = [];
      for (const file of files) {
        const id = idFromPath(file.path)!;
        const stored = gitchat.db.getMessage(channel.id, id);
        if (!stored) {
          problems.push(`${file.path} is in git but not in the index`);
          continue;
        }
        try {
          const message = decodeMessage(await channel.store.readBlob(file.oid), file.path);
          if (message.content !== stored.content || message.author !== stored.author || message.created_at !== stored.created_at) {
            problems.push(`${file.path} differs between git and the index`);
          }
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
      const indexed = gitchat.db.countMessages(channel.id);
      if (indexed !== files.length) problems.push(`the index holds ${indexed} message(s), git ${files.length}`);
      print(`${channel.fullName}: ${files.length} message(s) in git, ${indexed} indexed${problems.length ? "" : ", consistent"}`);
      for (const problem of problems.slice(0, 20)) print(`  ${problem}`);
      if (problems.length > 20) print(`  ... and ${problems.length - 20} more`);
      ok &&= problems.length === 0;
    }
  } finally {
    await gitchat.close();
  }
  return ok;
};
