import { lookupdSpec } from "../../src/daemons/lookupd/options.ts";
import { notImplemented, parseOrExit } from "./_shared.ts";

/** `nsq lookupd` / `nsqlookupd`: flags are parsed and checked; the engine is not built yet. */
export default async function lookupd(argv: readonly string[]): Promise<void> {
  parseOrExit(lookupdSpec, argv, { config: true });
  notImplemented("lookupd");
}
