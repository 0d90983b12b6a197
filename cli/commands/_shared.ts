import { writeSync } from "node:fs";
import { parseFlags, type ParseOptions } from "../../src/core/flags.ts";
import type { OptionsSpec } from "../../src/core/options.ts";
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
