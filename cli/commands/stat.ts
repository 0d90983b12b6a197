import { writeSync } from "node:fs";
import { createLogger } from "../../src/core/log.ts";
import { statSpec } from "../../src/tools/stat/options.ts";
import { fail, onSignals, parseOrExit, startupDone } from "./_shared.ts";

/** `nsq stat` / `nsq_stat`: NSQ's apps/nsq_stat main. */
export default async function stat(argv: readonly string[]): Promise<void> {
  const opts = parseOrExit(statSpec, argv);
  const log = createLogger({ level: "info" });
  const { stat: run } = await import("../../src/tools/stat/stat.ts");
  const signal = onSignals(log, ["SIGINT", "SIGTERM", "SIGHUP"]);
  startupDone();
  try {
    await run(opts, { write: (s) => void writeSync(1, s), log, signal });
  } catch (e) {
    fail(log, e);
  }
  process.exit(0);
}
