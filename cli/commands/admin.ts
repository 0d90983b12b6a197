import { createLogger } from "../../src/core/log.ts";
import { noEffectWarnings } from "../../src/core/options.ts";
import { adminSpec } from "../../src/daemons/admin/options.ts";
import { parseOrExit, runDaemon } from "./_shared.ts";

/** nsqadmin flags accepted for NSQ's command lines and config files that change nothing here, and why. */
const NO_EFFECT: Record<string, string> = {
  "dev-static-dir": "--dev-static-dir has no effect: the static assets are embedded in the executable",
  "http-client-connect-timeout": "--http-client-connect-timeout has no effect: --http-client-request-timeout bounds each request, connecting included",
};

/** `nsq admin` / `nsqadmin`: NSQ's apps/nsqadmin main. */
export default async function admin(argv: readonly string[]): Promise<void> {
  const opts = parseOrExit(adminSpec, argv, { config: true });
  const log = createLogger({ level: opts.logLevel, prefix: opts.logPrefix });
  const { NSQAdmin } = await import("../../src/daemons/admin/nsqadmin.ts");
  await runDaemon(log, () => {
    const a = new NSQAdmin(opts, log);
    return {
      main: async () => {
        await a.main();
        for (const w of noEffectWarnings(adminSpec, opts, NO_EFFECT)) log.warn(w);
      },
      exit: () => a.exit(),
    };
  });
}
