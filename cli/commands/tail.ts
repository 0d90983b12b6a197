import { tailSpec } from "../../src/tools/tail/options.ts";
import { notImplemented, parseOrExit } from "./_shared.ts";

/** `nsq tail` / `nsq_tail`: flags are parsed and checked; the engine is not built yet. */
export default async function tail(argv: readonly string[]): Promise<void> {
  parseOrExit(tailSpec, argv);
  notImplemented("tail");
}
