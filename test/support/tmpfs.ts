/**
 * A small real tmpfs: a full disk for tests. Mounting needs root on Linux
 * (as here and in CI); elsewhere the caller skips, and says why.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type Tmpfs = {
  dir: string;
  /** Gives the file system a new size (remount), e.g. to free space. */
  resize: (size: string) => void;
  unmount: () => void;
};

const run = (args: string[]) => {
  const result = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
  return { ok: result.exitCode === 0, output: `${result.stdout.toString()}${result.stderr.toString()}`.trim() };
};

/** Mounts a tmpfs of `size` (e.g. "1m"), or says why it cannot. */
export const mountTmpfs = (size: string): Tmpfs | { skip: string } => {
  if (process.platform !== "linux") return { skip: `a tmpfs needs Linux, and this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { skip: "mounting a tmpfs needs root, and these tests do not run as root" };
  const dir = mkdtempSync(join(tmpdir(), "gitchat-tmpfs-"));
  const mounted = run(["mount", "-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir]);
  if (!mounted.ok) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `mount -t tmpfs failed: ${mounted.output}` };
  }
  return {
    dir,
    resize: (next) => {
      const resized = run(["mount", "-o", `remount,size=${next}`, dir]);
      if (!resized.ok) throw new Error(`remounting ${dir} at ${next} failed: ${resized.output}`);
    },
    unmount: () => {
      const unmounted = run(["umount", dir]);
      if (!unmounted.ok) throw new Error(`umount ${dir} failed: ${unmounted.output}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** Makes `dir` read-only where it is (a read-only bind mount over itself); returns the function that undoes it. */
export const makeReadOnly = (dir: string) => {
  const bound = run(["mount", "--bind", dir, dir]);
  if (!bound.ok) throw new Error(`mount --bind ${dir} failed: ${bound.output}`);
  const readOnly = run(["mount", "-o", "remount,bind,ro", dir]);
  if (!readOnly.ok) {
    run(["umount", dir]);
    throw new Error(`remounting ${dir} read-only failed: ${readOnly.output}`);
  }
  return () => {
    const unmounted = run(["umount", dir]);
    if (!unmounted.ok) throw new Error(`umount ${dir} failed: ${unmounted.output}`);
  };
};
