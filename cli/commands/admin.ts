import { adminSpec } from "../../src/daemons/admin/options.ts";
import { notImplemented, parseOrExit } from "./_shared.ts";

/** `nsq admin` / `nsqadmin`: flags are parsed and checked; the engine is not built yet. */
export default async function admin(argv: readonly string[]): Promise<void> {
  parseOrExit(adminSpec, argv, { config: true });
  notImplemented("admin");
}
