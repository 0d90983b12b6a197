import { createLogger } from "../../src/core/log.ts";
import { lookupdSpec } from "../../src/daemons/lookupd/options.ts";
import { parseOrExit, runDaemon } from "./_shared.ts";

/** `nsq lookupd` / `nsqlookupd`: NSQ's apps/nsqlookupd main. */
export default async function lookupd(argv: readonly string[]): Promise<void> {
  const opts = parseOrExit(lookupdSpec, argv, { config: true });
  const log = createLogger({ level: opts.logLevel, prefix: opts.logPrefix });
  const { NSQLookupd } = await import("../../src/daemons/lookupd/lookupd.ts");
  await runDaemon(log, () => new NSQLookupd(opts, log));
}
