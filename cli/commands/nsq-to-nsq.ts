import { createLogger } from "../../src/core/log.ts";
import { nsqToNsqSpec } from "../../src/tools/nsq-to-nsq/options.ts";
import { parseOrExit, runTool } from "./_shared.ts";

/** `nsq nsq-to-nsq` / `nsq_to_nsq`: NSQ's apps/nsq_to_nsq main. */
export default async function nsqToNsq(argv: readonly string[]): Promise<void> {
  const opts = parseOrExit(nsqToNsqSpec, argv);
  const log = createLogger({ level: "info" });
  const { nsqToNsq: run } = await import("../../src/tools/nsq-to-nsq/nsq-to-nsq.ts");
  await runTool(log, (signal) => run(opts, { log, signal }));
}
