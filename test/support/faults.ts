/** Real faults to inject into a running gitchat. */
import type { Gitchat } from "../../src/gitchat.ts";

/**
 * Makes SQLite refuse to index a message with this content (a trigger that
 * RAISEs), as a full disk does after the commit has landed in git; returns
 * the function that lifts it. The trigger lives in the database file: lift it
 * before the next start-up, whose index walk would meet it too.
 */
export const failIndexOf = (gitchat: Gitchat, content: string) => {
  gitchat.db.sqlite.run(
    `CREATE TRIGGER fail_index BEFORE INSERT ON messages WHEN new.content = '${content.replaceAll("'", "''")}'
     BEGIN SELECT RAISE(ABORT, 'simulated failure after the commit'); END`,
  );
  return () => gitchat.db.sqlite.run("DROP TRIGGER fail_index");
};
