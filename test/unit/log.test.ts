import { describe, expect, test } from "bun:test";
import { createLogger, timestamp } from "../../src/core/log.ts";

function capture(level?: "debug" | "info" | "warn" | "error" | "fatal", prefix = "[nsqd] ") {
  const lines: string[] = [];
  const log = createLogger({ level, prefix, write: (l) => lines.push(l), now: () => Date.UTC(2024, 0, 2, 3, 4, 5, 6) + 0.789 });
  return { log, lines };
}

describe("logger", () => {
  test("NSQ line format with prefix, microseconds and level label", () => {
    const { log, lines } = capture("debug");
    log.debug("d");
    log.info("TCP: listening on [::]:4150");
    log.warn("w");
    log.error("e");
    log.fatal("f");
    const ts = timestamp(Date.UTC(2024, 0, 2, 3, 4, 5, 6) + 0.789);
    expect(lines).toEqual([
      `[nsqd] ${ts} DEBUG: d\n`,
      `[nsqd] ${ts} INFO: TCP: listening on [::]:4150\n`,
      `[nsqd] ${ts} WARNING: w\n`,
      `[nsqd] ${ts} ERROR: e\n`,
      `[nsqd] ${ts} FATAL: f\n`,
    ]);
  });

  test("timestamp is Go's Ldate|Ltime|Lmicroseconds (local time; TZ is UTC under bun test)", () => {
    expect(timestamp(Date.UTC(2024, 0, 2, 3, 4, 5, 6) + 0.789)).toBe("2024/01/02 03:04:05.006789");
    expect(timestamp(Date.UTC(1999, 11, 31, 23, 59, 59, 999))).toBe("1999/12/31 23:59:59.999000");
  });

  test.each([
    ["debug", ["DEBUG", "INFO", "WARNING", "ERROR", "FATAL"]],
    ["info", ["INFO", "WARNING", "ERROR", "FATAL"]],
    ["warn", ["WARNING", "ERROR", "FATAL"]],
    ["error", ["ERROR", "FATAL"]],
    ["fatal", ["FATAL"]],
  ] as const)("level %s filters below it", (level, shown) => {
    const { log, lines } = capture(level);
    for (const l of ["debug", "info", "warn", "error", "fatal"] as const) log[l]("x");
    expect(lines.map((l) => /\d (\w+): x\n$/.exec(l)![1])).toEqual([...shown]);
    expect(log.enabled("debug")).toBe(level === "debug");
    expect(log.enabled("fatal")).toBe(true);
  });

  test("defaults to info even under bun test (consola would pick warn)", () => {
    const { log, lines } = capture(undefined, "");
    log.info("hello");
    log.debug("hidden");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: hello\n$/);
  });

  test("repeated identical lines are not throttled", () => {
    const { log, lines } = capture("info");
    for (let i = 0; i < 20; i++) log.info("same");
    expect(lines).toHaveLength(20);
  });

  test("importing the client library leaves the host program's zod configuration alone", () => {
    const client = new URL("../../src/core/client/index.ts", import.meta.url).pathname;
    const script = `await import(${JSON.stringify(client)}); const { z } = await import("zod/mini"); console.log(typeof z.config().localeError);`;
    const r = Bun.spawnSync([process.execPath, "-e", script], { cwd: new URL("../..", import.meta.url).pathname });
    expect(r.stdout.toString().trim()).toBe("undefined");
  });
});
