/** Checking gitchat's commit signatures the way anyone with a clone would: stock git, and the keys the clone holds. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runGit } from "./git.ts";
import { tempDir } from "./tmp.ts";

/** Clones `source` (a path or URL) into a new directory, with git's own client; the clone's directory. */
export const cloneOf = async (source: string, env: Record<string, string> = {}, config: string[] = []) => {
  const dir = tempDir("gitchat-clone-");
  const cloned = await runGit([...config, "clone", "-q", source, dir], { env });
  if (cloned.code !== 0) throw new Error(`git clone failed: ${cloned.stderr}`);
  return dir;
};

/** The names under `.gitchat/signers/` of `rev` in the clone at `dir`. */
export const signerFiles = async (dir: string, rev = "HEAD") =>
  (await runGit(["-C", dir, "ls-tree", "--name-only", `${rev}:.gitchat/signers`])).stdout.trim().split("\n").filter(Boolean);

/**
 * An allowed-signers file made, as the README says, of every file under
 * `.gitchat/signers/` of the clone's HEAD (`git show HEAD:...`); its path.
 */
export const allowedSignersOf = async (dir: string) => {
  let text = "";
  for (const name of await signerFiles(dir)) text += (await runGit(["-C", dir, "show", `HEAD:.gitchat/signers/${name}`])).stdout;
  const path = join(tempDir("gitchat-signers-"), "allowed_signers");
  writeFileSync(path, text);
  return path;
};

/** `git verify-commit` of `rev` in the clone at `dir`, with SSH signatures and `allowedSigners`. */
export const verifyCommit = (dir: string, rev: string, allowedSigners: string) =>
  runGit(["-C", dir, "-c", "gpg.format=ssh", "-c", `gpg.ssh.allowedSignersFile=${allowedSigners}`, "verify-commit", rev]);
