/**
 * One server owns a data directory. The lock is flock(2) on the directory
 * itself: the kernel drops it when the process dies, however it dies, so a
 * kill -9 never blocks the next start; and unlike a lock file, nothing can
 * be unlinked from under it (a lock file that is deleted while its server
 * runs lets a second server lock a new file of the same name).
 *
 * Neither Node nor Bun exposes flock, so it is called from the C library
 * through bun:ffi (which `bun build --compile` keeps working in the binary).
 */
import { dlopen, FFIType } from "bun:ffi";
import { closeSync, openSync } from "node:fs";
import { DataDirLockedError } from "../errors.ts";

export type DataDirLock = { release(): void };

const LOCK_EX = 2;
const LOCK_NB = 4;

const LIBC_NAMES = process.platform === "darwin" ? ["libc.dylib", "/usr/lib/libSystem.B.dylib"] : ["libc.so.6", "libc.so"];

const loadLibc = () => {
  for (const name of LIBC_NAMES) {
    try {
      return dlopen(name, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      });
    } catch {}
  }
  throw new Error(`cannot load the C library (tried ${LIBC_NAMES.join(", ")}) to lock the data directory`);
};

let libc: ReturnType<typeof loadLibc> | undefined;

export const lockDataDir = (dataDir: string): DataDirLock => {
  libc ??= loadLibc();
  const fd = openSync(dataDir, "r");
  if (libc.symbols.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    throw new DataDirLockedError(`${dataDir} is in use by another gitchat; stop that one first, or give this one its own DATA_DIR`);
  }
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      // Closing the descriptor drops the lock.
      closeSync(fd);
    },
  };
};
