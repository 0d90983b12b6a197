import { createLogger } from "../../src/core/log.ts";
import { toHttpSpec } from "../../src/tools/to-http/options.ts";
import { parseOrExit, runTool } from "./_shared.ts";

/** `nsq to-http` / `nsq_to_http`: NSQ's apps/nsq_to_http main. */
export default async function toHttp(argv: readonly string[]): Promise<void> {
  const opts = parseOrExit(toHttpSpec, argv);
  const log = createLogger({ level: "info" });
  const { toHttp: run } = await import("../../src/tools/to-http/to-http.ts");
  await runTool(log, (signal) => run(opts, { log, signal }));
}
