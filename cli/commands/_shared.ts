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

/** For subcommands whose engine is not built yet: say so and fail, after their flags were checked. */
export function notImplemented(command: string): never {
  writeSync(2, `nsq ${command}: not implemented yet\n`);
  process.exit(1);
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

/** For tools: log a fatal error on one line (no stack) and exit 1, as NSQ's log.Fatal does. */
export function fail(log: Logger, e: unknown): never {
  log.fatal(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
