import { createLogger, type Logger } from "../../src/core/log.ts";

/** A logger that keeps its lines (debug and up) for assertions instead of printing them. */
export function captureLog(): { lines: string[]; logger: Logger; has: (re: RegExp) => boolean } {
  const lines: string[] = [];
  return {
    lines,
    logger: createLogger({ level: "debug", write: (l) => lines.push(l) }),
    has: (re) => lines.some((l) => re.test(l)),
  };
}

/** Polls `cond` (which may be async) until true; fails with `what` after `timeoutMs`. */
export async function until(cond: () => boolean | Promise<boolean>, what = "condition", timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

/** A promise with its resolve, for "wait until the handler saw N messages". */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
