import { createLogger } from "../../src/core/log.ts";
import { tailSpec } from "../../src/tools/tail/options.ts";
import { fail, onSignals, parseOrExit, startupDone } from "./_shared.ts";

/** `nsq tail` / `nsq_tail`: NSQ's apps/nsq_tail main. */
export default async function tail(argv: readonly string[]): Promise<void> {
  const opts = parseOrExit(tailSpec, argv);
  const log = createLogger({ level: "info" });
  const { tail: run } = await import("../../src/tools/tail/tail.ts");
  const signal = onSignals(log);
  startupDone();
  try {
    await run(opts, { stdout: Bun.stdout.writer(), log, signal });
  } catch (e) {
    fail(log, e);
  }
  process.exit(0);
}
