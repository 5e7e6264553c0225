/**
 * Writing files so that a power cut leaves the old state or the new one,
 * never a name without its data: data is fsynced before the rename that
 * publishes it, and the directory is fsynced after the rename, as git and
 * SQLite do. With `sync` off (DURABILITY=process) the same steps run without
 * the fsyncs: a killed process still leaves whole files (the kernel holds
 * them), but a power cut may lose or empty recent ones.
 */
import { closeSync, fsync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

/**
 * fsync on a worker thread. The send path awaits its syncs with this: an
 * fsync waits for the disk, and while the JS thread waited with it no request
 * could be read (it was a quarter of that thread's time at 50 clients). The
 * order of the steps is the same: each is awaited before the next begins.
 */
export const fsyncOffThread = promisify(fsync);

/** Creates the file at `path` (it must not be there) and writes all of `bytes`; the open descriptor. */
const createWith = (path: string, data: Uint8Array | string, mode: number) => {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const fd = openSync(path, "w", mode);
  try {
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
};

/** Writes `data` to a new file at `path`; with `sync`, it is on the disk when this returns. */
export const writeNewFile = (path: string, data: Uint8Array | string, sync: boolean, mode = 0o444) => {
  const fd = createWith(path, data, mode);
  try {
    if (sync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

/** writeNewFile, with its fsync awaited on a worker thread (see fsyncOffThread). */
export const writeNewFileAsync = async (path: string, data: Uint8Array | string, sync: boolean, mode = 0o444) => {
  const fd = createWith(path, data, mode);
  try {
    if (sync) await fsyncOffThread(fd);
  } finally {
    closeSync(fd);
  }
};

/** Makes a file's data, or the names in a directory (renames, creations, removals), durable. */
export const syncPath = (path: string, sync: boolean) => {
  if (!sync) return;
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

/** syncPath, with its fsync awaited on a worker thread (see fsyncOffThread). */
export const syncPathAsync = async (path: string, sync: boolean) => {
  if (!sync) return;
  const fd = openSync(path, "r");
  try {
    await fsyncOffThread(fd);
  } finally {
    closeSync(fd);
  }
};

/** Creates `dir` and its missing parents; each new directory is made durable in its parent. */
export const makeDirectory = (dir: string, sync: boolean, mode?: number) => {
  const first = mkdirSync(dir, { recursive: true, mode });
  if (first === undefined || !sync) return;
  for (let created = dir; ; created = dirname(created)) {
    syncPath(dirname(created), sync);
    if (created === first) return;
  }
};

/**
 * Replaces the file at `path` with `data` atomically: a temporary file beside
 * it (`tmp`), synced, renamed over it, and the directory synced.
 * `renamed` is told as soon as the new file is in place, before the
 * directory's sync (a reader may see it from then on).
 */
export const replaceFile = async (path: string, tmp: string, data: Uint8Array | string, sync: boolean, renamed?: () => void) => {
  try {
    await writeNewFileAsync(tmp, data, sync, 0o644);
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  renamed?.();
  await syncPathAsync(dirname(path), sync);
};

/** Syncs a file, or a directory and everything in it, and the directory holding it. */
export const syncTree = (path: string, sync: boolean) => {
  if (!sync) return;
  const visit = (p: string) => {
    if (statSync(p).isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
    syncPath(p, true);
  };
  visit(path);
  syncPath(join(path, ".."), true);
};
