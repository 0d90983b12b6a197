import { createLogger } from "../../src/core/log.ts";
import { toFileSpec } from "../../src/tools/to-file/options.ts";
import { parseOrExit, runTool } from "./_shared.ts";

/** `nsq to-file` / `nsq_to_file`: NSQ's apps/nsq_to_file main; SIGHUP closes (and moves) every file. */
export default async function toFile(argv: readonly string[]): Promise<void> {
  const opts = parseOrExit(toFileSpec, argv);
  const log = createLogger({ level: opts.logLevel, prefix: opts.logPrefix });
  const { toFile: run } = await import("../../src/tools/to-file/to-file.ts");
  await runTool(log, (signal) => run(opts, { log, signal, onHangup: (rotate) => process.on("SIGHUP", rotate) }));
}
