import { createLogger } from "../../src/core/log.ts";
import { toNsqSpec } from "../../src/tools/to-nsq/options.ts";
import { fail, onSignals, parseOrExit, startupDone } from "./_shared.ts";

/** `nsq to-nsq` / `to_nsq`: NSQ's apps/to_nsq main. */
export default async function toNsq(argv: readonly string[]): Promise<void> {
  const opts = parseOrExit(toNsqSpec, argv);
  const log = createLogger({ level: "info" });
  const { toNsq: run } = await import("../../src/tools/to-nsq/to-nsq.ts");
  const signal = onSignals(log);
  startupDone();
  try {
    await run(opts, { stdin: Bun.stdin.stream(), log, signal });
  } catch (e) {
    fail(log, e);
  }
  process.exit(0);
}
