import { toNsqSpec } from "../../src/tools/to-nsq/options.ts";
import { notImplemented, parseOrExit } from "./_shared.ts";

/** `nsq to-nsq` / `to_nsq`: flags are parsed and checked; the engine is not built yet. */
export default async function toNsq(argv: readonly string[]): Promise<void> {
  parseOrExit(toNsqSpec, argv);
  notImplemented("to-nsq");
}
