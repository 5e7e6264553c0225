/** The git CLI, to check what gitchat wrote the way any user's git would read it. */
export const runGit = async (args: string[], options: { cwd?: string; env?: Record<string, string>; stdin?: string } = {}) => {
  const proc = Bun.spawn(["git", ...args], {
    cwd: options.cwd,
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", HOME: "/nonexistent", ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
};

/** git's own verdict on a repository: `git fsck --strict` exits 0 and says nothing is wrong. */
export const fsck = async (gitdir: string) => runGit(["--git-dir", gitdir, "fsck", "--strict", "--no-dangling"]);
