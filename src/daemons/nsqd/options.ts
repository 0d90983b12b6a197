/**
 * nsqd's flags, config keys, defaults and validation (NSQ `apps/nsqd/options.go`, `nsqd/options.go`, `nsqd.New`).
 * Durations are milliseconds.
 * @module
 */
import os from "node:os";
import { z } from "zod/mini";
import { defineOptions, flag, logFlags, noEffectWarnings, OptionsError, type Options } from "../../core/options.ts";

/** `--tls-required` values: Go's TLSNotRequired, TLSRequired and TLSRequiredExceptHTTP. */
export const TLSRequired = { No: "false", Yes: "true", ExceptHTTP: "tcp-https" } as const;
export type TLSRequired = (typeof TLSRequired)[keyof typeof TLSRequired];

/** `--tls-min-version` → protocol number (Go's tls.VersionTLS1x; Bun's `minVersion` takes the same numbers). */
export const TLS_VERSIONS = { "tls1.0": 0x0301, "tls1.1": 0x0302, "tls1.2": 0x0303, "tls1.3": 0x0304 } as const;

export const EXPERIMENTS = ["topology-aware-consumption"] as const;

/** NSQ's default node id: crc32(md5(hostname)) % 1024, stable per host. */
export function defaultNodeId(hostname = os.hostname()): number {
  // Bun.MD5, not node:crypto: loading that module adds ~1.8 MiB to the compiled nsqd's idle RSS.
  return Bun.hash.crc32(Bun.MD5.hash(hostname)) % 1024;
}

const TLS_VERSION_NAMES = Object.keys(TLS_VERSIONS) as (keyof typeof TLS_VERSIONS)[];

const port = [z.minimum(0, "must be a port number [0,65535]"), z.maximum(65_535, "must be a port number [0,65535]")];
const positive = [z.gt(0, "must be greater than 0")];
const nonNegative = [z.minimum(0, "must not be negative")];

export const nsqdSpec = defineOptions(
  "nsqd",
  {
    ...logFlags("nsqd"),
    "node-id": flag.int(() => defaultNodeId(), "unique part for message IDs, (int) in range [0,1024) (default is hash of hostname)", {
      cfg: "id",
      checks: [z.minimum(0, "must be [0,1024)"), z.maximum(1023, "must be [0,1024)")],
    }),
    "worker-id": flag.deprecated("[deprecated] use --node-id"),

    "https-address": flag.string("0.0.0.0:4152", "<addr>:<port> to listen on for HTTPS clients"),
    "http-address": flag.string("0.0.0.0:4151", "<addr>:<port> to listen on for HTTP clients"),
    "tcp-address": flag.string("0.0.0.0:4150", "<addr>:<port> to listen on for TCP clients"),
    "auth-http-address": flag.strings("<addr>:<port> to query auth server (may be given multiple times)", {
      cfg: "auth_http_addresses",
    }),
    "auth-http-request-method": flag.choice(["get", "post"], "get", "HTTP method to use for auth server requests (get or post)"),
    "broadcast-address": flag.string(
      () => os.hostname(),
      "address that will be registered with lookupd (defaults to the OS hostname)",
    ),
    "broadcast-tcp-port": flag.int(0, "TCP port that will be registered with lookupd (defaults to the TCP port that this nsqd is listening on)", {
      checks: port,
    }),
    "broadcast-http-port": flag.int(0, "HTTP port that will be registered with lookupd (defaults to the HTTP port that this nsqd is listening on)", {
      checks: port,
    }),
    "lookupd-tcp-address": flag.strings("lookupd TCP address (may be given multiple times)", {
      cfg: "nsqlookupd_tcp_addresses",
    }),
    "http-client-connect-timeout": flag.duration(2_000, "timeout for HTTP connect (no effect here: the request timeout bounds connecting too)"),
    "http-client-request-timeout": flag.duration(5_000, "timeout for HTTP request"),
    "topology-region": flag.string("", "region of this nsqd (for topology-aware consumption)"),
    "topology-zone": flag.string("", "availability zone of this nsqd (for topology-aware consumption)"),
    "enable-experiment": flag.strings(
      `enable experimental feature (may be given multiple times) (valid options: ${EXPERIMENTS.join(", ")}) (not implemented here: accepted with a warning)`,
      { checks: [z.refine((a) => a.every((x) => (EXPERIMENTS as readonly string[]).includes(x)), `must be one of ${EXPERIMENTS.join(", ")}`)] },
    ),

    "data-path": flag.string("", "path to store disk-backed messages"),
    "mem-queue-size": flag.int(10_000, "number of messages to keep in memory (per topic/channel)", { checks: nonNegative }),
    "max-bytes-per-file": flag.int(104_857_600, "number of bytes per diskqueue file before rolling", { checks: positive }),
    "sync-every": flag.int(2_500, "number of messages per diskqueue fsync", { checks: positive }),
    "sync-timeout": flag.duration(2_000, "duration of time per diskqueue fsync", { checks: positive }),
    "queue-scan-worker-pool-max": flag.int(4, "max concurrency for checking in-flight and deferred message timeouts (no effect here)", {
      checks: positive,
    }),
    "queue-scan-selection-count": flag.int(20, "number of channels to check per cycle (every 100ms) for in-flight and deferred timeouts (no effect here)", {
      checks: positive,
    }),

    "msg-timeout": flag.duration(60_000, "default duration to wait before auto-requeing a message", { checks: positive }),
    "max-msg-timeout": flag.duration(900_000, "maximum duration before a message will timeout", { checks: positive }),
    "max-msg-size": flag.int(1_048_576, "maximum size of a single message in bytes", { checks: positive }),
    "max-req-timeout": flag.duration(3_600_000, "maximum requeuing timeout for a message", { checks: nonNegative }),
    "max-body-size": flag.int(5_242_880, "maximum size of a single command body", { checks: positive }),

    "max-heartbeat-interval": flag.duration(60_000, "maximum client configurable duration of time between client heartbeats", {
      checks: positive,
    }),
    "max-rdy-count": flag.int(2_500, "maximum RDY count for a client", { checks: nonNegative }),
    "max-output-buffer-size": flag.int(65_536, "maximum client configurable size (in bytes) for a client output buffer", {
      checks: nonNegative,
    }),
    "max-output-buffer-timeout": flag.duration(30_000, "maximum client configurable duration of time between flushing to a client", {
      checks: nonNegative,
    }),
    "min-output-buffer-timeout": flag.duration(25, "minimum client configurable duration of time between flushing to a client", {
      checks: nonNegative,
    }),
    "output-buffer-timeout": flag.duration(250, "default duration of time between flushing data to clients", {
      checks: nonNegative,
    }),
    "max-channel-consumers": flag.int(0, "maximum channel consumer connection count per nsqd instance (default 0, i.e., unlimited)", {
      checks: nonNegative,
    }),

    "statsd-address": flag.string("", "UDP <addr>:<port> of a statsd daemon for pushing stats"),
    "statsd-interval": flag.duration(60_000, "duration between pushing to statsd", { checks: positive }),
    "statsd-mem-stats": flag.bool(true, "toggle sending memory and GC stats to statsd"),
    "statsd-prefix": flag.string("nsq.%s", "prefix used for keys sent to statsd (%s for host replacement)"),
    "statsd-udp-packet-size": flag.int(508, "the size in bytes of statsd UDP packets", { checks: positive }),
    "statsd-exclude-ephemeral": flag.bool(false, "Skip ephemeral topics and channels when sending stats to statsd"),

    "e2e-processing-latency-percentile": flag.floats(
      "message processing time percentiles (as float (0, 1.0]) to track (can be specified multiple times or comma separated '1.0,0.99,0.95', default none)",
      {
        cfg: "e2e_processing_latency_percentiles",
        checks: [z.refine((a) => a.every((p) => p > 0 && p <= 1), "must be in (0,1]")],
      },
    ),
    "e2e-processing-latency-window-time": flag.duration(
      600_000,
      "calculate end to end latency quantiles for this duration of time (ie: 60s would only show quantile calculations from the past 60 seconds)",
      { checks: positive },
    ),

    "tls-cert": flag.string("", "path to certificate file"),
    "tls-key": flag.string("", "path to key file"),
    "tls-client-auth-policy": flag.choice(
      ["", "require", "require-verify"],
      "",
      "client certificate auth policy ('require' or 'require-verify')",
    ),
    "tls-root-ca-file": flag.string("", "path to certificate authority file"),
    "tls-required": flag.choice(
      [TLSRequired.No, TLSRequired.Yes, TLSRequired.ExceptHTTP],
      TLSRequired.No,
      "require TLS for client connections (true, false, tcp-https)",
      { boolLike: true, aliases: { "1": "true", t: "true", "0": "false", f: "false" } },
    ),
    "tls-min-version": flag.choice(
      TLS_VERSION_NAMES,
      "tls1.0",
      "minimum SSL/TLS version acceptable ('tls1.0', 'tls1.1', 'tls1.2' or 'tls1.3')",
    ),

    deflate: flag.bool(true, "enable deflate feature negotiation (client compression)"),
    "max-deflate-level": flag.int(6, "max deflate compression level a client can negotiate (> values == > nsqd CPU usage)", {
      checks: [z.minimum(1, "must be [1,9]"), z.maximum(9, "must be [1,9]")],
    }),
    snappy: flag.bool(true, "enable snappy feature negotiation (client compression)"),
  },
  (o) => {
    // nsqd.New: a client-certificate policy implies TLS on every connection.
    if (o.tlsClientAuthPolicy !== "" && o.tlsRequired === TLSRequired.No) o.tlsRequired = TLSRequired.Yes;
    if (o.tlsRequired !== TLSRequired.No && (o.tlsCert === "" || o.tlsKey === "")) {
      throw new OptionsError("--tls-required: cannot require TLS client connections without TLS key and cert");
    }
    if ((o.tlsCert === "") !== (o.tlsKey === "")) throw new OptionsError("--tls-cert and --tls-key must be given together");
    return o;
  },
);

/** NSQ flags nsqd accepts that change nothing here, and why: nsqd warns at start about each one given. */
const NO_EFFECT: Record<string, string> = {
  "queue-scan-worker-pool-max":
    "--queue-scan-worker-pool-max has no effect: every channel with messages in flight or deferred is checked every 100ms on the event loop, without workers",
  "queue-scan-selection-count":
    "--queue-scan-selection-count has no effect: every channel with messages in flight or deferred is checked every 100ms, not a random selection",
  "http-client-connect-timeout":
    "--http-client-connect-timeout has no effect: --http-client-request-timeout bounds each request to lookupd or the auth server, connecting included",
  "enable-experiment":
    "--enable-experiment=topology-aware-consumption is not implemented: messages go to a channel's clients regardless of --topology-zone/--topology-region",
};

/** The warnings for options given a value that does nothing here ({@link NO_EFFECT}). */
export const nsqdNoEffectWarnings = (o: NsqdOptions): string[] => noEffectWarnings(nsqdSpec, o, NO_EFFECT);

/** Everything nsqd reads from its flags and config file, camelCase of the flag names. */
export type NsqdOptions = ReturnType<typeof nsqdSpec.defaults>;

/** NSQ's defaults (for in-process use override e.g. `tcpAddress: "127.0.0.1:0"`). */
export function nsqdDefaults(): NsqdOptions {
  return nsqdSpec.defaults();
}
