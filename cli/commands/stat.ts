import { statSpec } from "../../src/tools/stat/options.ts";
import { notImplemented, parseOrExit } from "./_shared.ts";

/** `nsq stat` / `nsq_stat`: flags are parsed and checked; the engine is not built yet. */
export default async function stat(argv: readonly string[]): Promise<void> {
  parseOrExit(statSpec, argv);
  notImplemented("stat");
}
