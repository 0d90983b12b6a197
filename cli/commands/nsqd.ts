import { createLogger } from "../../src/core/log.ts";
import { nsqdSpec } from "../../src/daemons/nsqd/options.ts";
import { parseOrExit, runDaemon } from "./_shared.ts";

/** `nsq nsqd` / `nsqd`: NSQ's apps/nsqd main. */
export default async function nsqd(argv: readonly string[]): Promise<void> {
  const opts = parseOrExit(nsqdSpec, argv, { config: true });
  const log = createLogger({ level: opts.logLevel, prefix: opts.logPrefix });
  const { NSQD } = await import("../../src/daemons/nsqd/nsqd.ts");
  await runDaemon(log, () => new NSQD(opts, log));
}
