import { dlopen, FFIType } from "bun:ffi";
import { closeSync, openSync } from "node:fs";

const LOCK_EX = 2;
const LOCK_NB = 4;

let flock: ((fd: number, op: number) => number) | undefined;

function libcFlock(): (fd: number, op: number) => number {
  if (flock) return flock;
  const lib = dlopen(process.platform === "darwin" ? "libSystem.B.dylib" : "libc.so.6", {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  });
  flock = lib.symbols.flock;
  return flock;
}

/** The directory is locked by another process (flock's EWOULDBLOCK). */
export class DirLockedError extends Error {
  override readonly name = "DirLockedError";
}

/**
 * An exclusive, non-blocking flock(2) on the directory itself, exactly as NSQ's internal/dirlock takes
 * it, so one of ours and one of NSQ's nsqd exclude each other too. The kernel drops it if we die.
 */
export class DirLock {
  private fd = -1;

  constructor(readonly dir: string) {}

  /**
   * @throws DirLockedError when another process holds the lock; the `open` error (ENOENT, ENOTDIR, EACCES…) as is.
   */
  lock(): void {
    const fd = openSync(this.dir, "r");
    if (libcFlock()(fd, LOCK_EX | LOCK_NB) !== 0) {
      closeSync(fd);
      throw new DirLockedError(`cannot flock directory ${this.dir} - resource temporarily unavailable`);
    }
    this.fd = fd;
  }

  unlock(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
