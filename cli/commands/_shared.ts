import { writeSync } from "node:fs";
import { parseFlags, type ParseOptions } from "../../src/core/flags.ts";
import type { OptionsSpec } from "../../src/core/options.ts";
import type { Logger } from "../../src/core/log.ts";
import { versionString } from "../../src/core/version.ts";

/** Parses a program's command line like NSQ's `main()`; prints and exits for help, version and bad flags. */
export function parseOrExit<O>(spec: OptionsSpec<O>, argv: readonly string[], o: ParseOptions = {}): O {
  const r = parseFlags(spec, argv, { ...o, version: versionString(spec.program) });
  if (r.kind === "run") return r.options;
  // Synchronous writes: process.exit must not drop buffered output.
  if (r.stdout) writeSync(1, r.stdout);
  if (r.stderr) writeSync(2, r.stderr);
  process.exit(r.code);
}

/**
 * Marks the end of start-up. scripts/build-binary.ts starts the executable with JavaScriptCore's tier-up
 * thresholds scaled up (`--compile-jit-policy`), so run-once start-up code (flag tables, zod schemas, listeners)
 * stays in the interpreter instead of pulling the JIT compilers into memory (about 3 MiB of nsqd's idle RSS).
 * Call this before the command's real work: from here on the JIT tiers up as usual.
 */
export function startupDone(): void {
  Bun.unsafe.setJITPolicy(1);
}

/** What {@link runDaemon} drives: NSQ's daemon lifecycle. */
export interface Daemon {
  main(): Promise<void>;
  exit(): Promise<void>;
}

/**
 * Runs a daemon as NSQ's apps/<daemon>/main.go does under svc.Run: a start-up failure is one FATAL line and
 * exit 1; the first SIGINT/SIGTERM exits cleanly (0, or 1 if exit fails), a second one at once (1).
 * @example await runDaemon(log, () => new NSQD(opts, log));
 */
export async function runDaemon(log: Logger, create: () => Daemon): Promise<void> {
  let daemon: Daemon | undefined;
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`received ${signal} again, exiting without a clean shutdown`);
      process.exit(1);
    }
    stopping = true;
    try {
      await daemon?.exit();
    } catch (e) {
      log.fatal(`exit failed - ${errorText(e)}`);
      process.exit(1);
    }
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  try {
    daemon = create();
    await daemon.main();
    startupDone();
  } catch (e) {
    log.fatal(errorText(e));
    process.exit(1);
  }
}

/** For tools: the first SIGINT/SIGTERM aborts the returned signal (a clean stop); a second one exits at once. */
export function onSignals(log: Logger, signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"]): AbortSignal {
  const ac = new AbortController();
  for (const s of signals) {
    process.on(s, () => {
      if (ac.signal.aborted) {
        log.warn(`received ${s} again, exiting without a clean stop`);
        process.exit(1);
      }
      ac.abort();
    });
  }
  return ac.signal;
}

/**
 * A tool's main after its flags: SIGINT/SIGTERM abort `run`'s signal, an error is one FATAL line and exit 1,
 * a clean stop exits 0.
 * @example await runTool(log, (signal) => toHttp(opts, { log, signal }));
 */
export async function runTool(log: Logger, run: (signal: AbortSignal) => Promise<unknown>): Promise<never> {
  const signal = onSignals(log);
  startupDone();
  try {
    await run(signal);
  } catch (e) {
    fail(log, e);
  }
  process.exit(0);
}

/** For tools: log a fatal error on one line (no stack) and exit 1, as NSQ's log.Fatal does. */
export function fail(log: Logger, e: unknown): never {
  log.fatal(errorText(e));
  process.exit(1);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
