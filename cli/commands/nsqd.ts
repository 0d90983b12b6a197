import { createLogger } from "../../src/core/log.ts";
import { nsqdSpec } from "../../src/daemons/nsqd/options.ts";
import { parseOrExit, startupDone } from "./_shared.ts";

/** `nsq nsqd` / `nsqd`: NSQ's apps/nsqd main. */
export default async function nsqd(argv: readonly string[]): Promise<void> {
  const opts = parseOrExit(nsqdSpec, argv, { config: true });
  const log = createLogger({ level: opts.logLevel, prefix: opts.logPrefix });
  const { NSQD } = await import("../../src/daemons/nsqd/nsqd.ts");

  let daemon: InstanceType<typeof NSQD> | undefined;
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
      log.fatal(`exit failed - ${message(e)}`);
      process.exit(1);
    }
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  try {
    daemon = new NSQD(opts, log);
    await daemon.main();
    startupDone();
  } catch (e) {
    log.fatal(message(e));
    process.exit(1);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
