/**
 * nsqlookupd's flags, config keys and defaults (NSQ `apps/nsqlookupd/main.go`, `nsqlookupd/options.go`).
 * Durations are milliseconds.
 * @module
 */
import os from "node:os";
import { z } from "zod/mini";
import { defineOptions, flag, logFlags } from "../../core/options.ts";

export const lookupdSpec = defineOptions("nsqlookupd", {
  ...logFlags("nsqlookupd"),
  "tcp-address": flag.string("0.0.0.0:4160", "<addr>:<port> to listen on for TCP clients"),
  "http-address": flag.string("0.0.0.0:4161", "<addr>:<port> to listen on for HTTP clients"),
  "broadcast-address": flag.string(() => os.hostname(), "address of this lookupd node, (default to the OS hostname)"),
  "inactive-producer-timeout": flag.duration(
    300_000,
    "duration of time a producer will remain in the active list since its last ping",
    { checks: [z.gt(0, "must be greater than 0")] },
  ),
  "tombstone-lifetime": flag.duration(45_000, "duration of time a producer will remain tombstoned if registration remains", {
    checks: [z.minimum(0, "must not be negative")],
  }),
});

export type LookupdOptions = ReturnType<typeof lookupdSpec.defaults>;

export function lookupdDefaults(): LookupdOptions {
  return lookupdSpec.defaults();
}
