import { createLogger } from "../../src/core/log.ts";
import { adminSpec } from "../../src/daemons/admin/options.ts";
import { parseOrExit, runDaemon } from "./_shared.ts";

/** `nsq admin` / `nsqadmin`: NSQ's apps/nsqadmin main. */
export default async function admin(argv: readonly string[]): Promise<void> {
  const opts = parseOrExit(adminSpec, argv, { config: true });
  const log = createLogger({ level: opts.logLevel, prefix: opts.logPrefix });
  const { NSQAdmin } = await import("../../src/daemons/admin/nsqadmin.ts");
  await runDaemon(log, () => new NSQAdmin(opts, log));
}
