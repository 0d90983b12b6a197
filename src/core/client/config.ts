import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parseDuration } from "../duration.ts";
import { VERSION } from "../version.ts";
import { NsqError } from "./errors.ts";

/** How long a consumer pauses after failures (go-nsq `BackoffStrategy`). */
export type BackoffStrategy = "exponential" | "full_jitter";

/** TLS settings used when `tlsV1` is on (go-nsq `tls_root_ca_file`, `tls_cert`, `tls_key`, `tls_insecure_skip_verify`). */
export interface TlsSettings {
  /** PEM text of the CA to verify nsqd against (default: the system roots). */
  ca?: string;
  /** PEM client certificate and key, for nsqd's `--tls-client-auth-policy`. */
  cert?: string;
  key?: string;
  /** Verify nsqd's certificate (default true; go-nsq's `tls_insecure_skip_verify` turns it off). */
  rejectUnauthorized?: boolean;
  /** Name to verify the certificate against (default: the host part of the nsqd address). */
  serverName?: string;
}

/**
 * Client configuration, go-nsq's `Config` with the same defaults but one (`lowRdyIdleTimeout`). Durations are milliseconds.
 * Set fields directly, or by go-nsq option name with {@link setOption} (what `--consumer-opt` and
 * `--producer-opt` do).
 */
export interface ClientConfig {
  /** Time allowed to dial nsqd (go-nsq `dial_timeout`, 1s). */
  dialTimeout: number;
  /** A connection that reads nothing (not even a heartbeat) for this long is closed (`read_timeout`, 60s). */
  readTimeout: number;
  /** A connection whose output stays blocked for this long is closed (`write_timeout`, 1s). */
  writeTimeout: number;
  /** Between lookupd polls, and before reconnecting to a directly given nsqd (`lookupd_poll_interval`, 60s). */
  lookupdPollInterval: number;
  /** Fraction of the interval used as random delay before the first poll loop tick (`lookupd_poll_jitter`, 0.3). */
  lookupdPollJitter: number;
  /** Timeout of one lookupd query (`lookupd_poll_timeout`, 60s). */
  lookupdPollTimeout: number;
  /** Upper bound of the automatic requeue delay (`max_requeue_delay`, 15m). */
  maxRequeueDelay: number;
  /** Requeue delay per attempt when a handler fails (`default_requeue_delay`, 90s). */
  defaultRequeueDelay: number;
  backoffStrategy: BackoffStrategy;
  /** Longest backoff; 0 disables backoff (`max_backoff_duration`, 2m). */
  maxBackoffDuration: number;
  /** Unit of backoff: level n waits multiplier × 2^n (`backoff_multiplier`, 1s). */
  backoffMultiplier: number;
  /** Messages delivered more often than this are finished without calling the handler; 0 = no limit (`max_attempts`, 5). */
  maxAttempts: number;
  /**
   * When connections outnumber max-in-flight (or in backoff), a connection that has received nothing for this
   * long (or four round trips to its nsqd, if longer) passes its RDY on (`low_rdy_idle_timeout`; 100ms here,
   * go-nsq's 10s is what makes a message on an idle nsqd wait 15–25 s there).
   */
  lowRdyIdleTimeout: number;
  /** ... and one that has held RDY this long passes it on when it answers a message (`low_rdy_timeout`, 30s). */
  lowRdyTimeout: number;
  /** Accepted for go-nsq compatibility, no effect: RDY moves when connections go idle, not on a timer (`rdy_redistribute_interval`). */
  rdyRedistributeInterval: number;
  /** Sent in IDENTIFY (default: short hostname, hostname, `nsq.ts/<version>`). */
  clientId: string;
  hostname: string;
  userAgent: string;
  /** nsqd heartbeat interval; -1 disables heartbeats (consumers need them) (`heartbeat_interval`, 30s). */
  heartbeatInterval: number;
  /** Percentage of the channel's messages to receive, 0 = all (`sample_rate`). */
  sampleRate: number;
  /** Ask nsqd for TLS (`tls_v1`). */
  tlsV1: boolean;
  tls: TlsSettings;
  /** Ask nsqd for deflate / snappy compression. */
  deflate: boolean;
  deflateLevel: number;
  snappy: boolean;
  /** nsqd's output buffer for this connection, bytes; -1 disables buffering (`output_buffer_size`, 16384). */
  outputBufferSize: number;
  /** nsqd's flush interval for this connection; -1 disables (`output_buffer_timeout`, 250ms). */
  outputBufferTimeout: number;
  /** Most messages in flight across all of a consumer's connections (`max_in_flight`, 1). */
  maxInFlight: number;
  /** Server-side message timeout for this client; 0 = nsqd's default (`msg_timeout`). */
  msgTimeout: number;
  /** Secret for nsqd's AUTH (`auth_secret`). */
  authSecret: string;
  /** Send `Authorization: Bearer <auth_secret>` to lookupd too (`lookupd_authorization`, true). */
  lookupdAuthorization: boolean;
}

const S = 1000;
const M = 60 * S;

/**
 * A fresh configuration with go-nsq's defaults (but `lowRdyIdleTimeout`, see there).
 * @example
 * const cfg = defaultConfig();
 * cfg.maxInFlight = 200;
 */
export function defaultConfig(): ClientConfig {
  const host = safeHostname();
  return {
    dialTimeout: 1 * S,
    readTimeout: 60 * S,
    writeTimeout: 1 * S,
    lookupdPollInterval: 60 * S,
    lookupdPollJitter: 0.3,
    lookupdPollTimeout: 60 * S,
    maxRequeueDelay: 15 * M,
    defaultRequeueDelay: 90 * S,
    backoffStrategy: "exponential",
    maxBackoffDuration: 2 * M,
    backoffMultiplier: 1 * S,
    maxAttempts: 5,
    lowRdyIdleTimeout: 100,
    lowRdyTimeout: 30 * S,
    rdyRedistributeInterval: 5 * S,
    clientId: host.split(".")[0] ?? host,
    hostname: host,
    userAgent: `nsq.ts/${VERSION}`,
    heartbeatInterval: 30 * S,
    sampleRate: 0,
    tlsV1: false,
    tls: {},
    deflate: false,
    deflateLevel: 6,
    snappy: false,
    outputBufferSize: 16384,
    outputBufferTimeout: 250,
    maxInFlight: 1,
    msgTimeout: 0,
    authSecret: "",
    lookupdAuthorization: true,
  };
}

function safeHostname(): string {
  try {
    return hostname();
  } catch {
    return "localhost";
  }
}

type Kind = "duration" | "int" | "float" | "bool" | "string" | "strategy";
type Key = Exclude<keyof ClientConfig, "tls">;

/**
 * go-nsq's option names, types and ranges. Minimums we relaxed so tests and tight loops can use short
 * intervals: lookupd_poll_interval (go-nsq 5s), low_rdy_idle_timeout and low_rdy_timeout (1s).
 */
const OPTIONS: Record<string, { key: Key; kind: Kind; min?: number; max?: number }> = {
  dial_timeout: { key: "dialTimeout", kind: "duration", min: 1 },
  read_timeout: { key: "readTimeout", kind: "duration", min: 100, max: 5 * M },
  write_timeout: { key: "writeTimeout", kind: "duration", min: 100, max: 5 * M },
  lookupd_poll_interval: { key: "lookupdPollInterval", kind: "duration", min: 10, max: 5 * M },
  lookupd_poll_jitter: { key: "lookupdPollJitter", kind: "float", min: 0, max: 1 },
  lookupd_poll_timeout: { key: "lookupdPollTimeout", kind: "duration", min: 1 },
  max_requeue_delay: { key: "maxRequeueDelay", kind: "duration", min: 0, max: 60 * M },
  default_requeue_delay: { key: "defaultRequeueDelay", kind: "duration", min: 0, max: 60 * M },
  backoff_strategy: { key: "backoffStrategy", kind: "strategy" },
  max_backoff_duration: { key: "maxBackoffDuration", kind: "duration", min: 0, max: 60 * M },
  backoff_multiplier: { key: "backoffMultiplier", kind: "duration", min: 0, max: 60 * M },
  max_attempts: { key: "maxAttempts", kind: "int", min: 0, max: 65535 },
  low_rdy_idle_timeout: { key: "lowRdyIdleTimeout", kind: "duration", min: 10, max: 5 * M },
  low_rdy_timeout: { key: "lowRdyTimeout", kind: "duration", min: 10, max: 5 * M },
  rdy_redistribute_interval: { key: "rdyRedistributeInterval", kind: "duration", min: 1, max: 5 * S },
  client_id: { key: "clientId", kind: "string" },
  hostname: { key: "hostname", kind: "string" },
  user_agent: { key: "userAgent", kind: "string" },
  heartbeat_interval: { key: "heartbeatInterval", kind: "duration" },
  sample_rate: { key: "sampleRate", kind: "int", min: 0, max: 99 },
  tls_v1: { key: "tlsV1", kind: "bool" },
  deflate: { key: "deflate", kind: "bool" },
  deflate_level: { key: "deflateLevel", kind: "int", min: 1, max: 9 },
  snappy: { key: "snappy", kind: "bool" },
  output_buffer_size: { key: "outputBufferSize", kind: "int" },
  output_buffer_timeout: { key: "outputBufferTimeout", kind: "duration" },
  max_in_flight: { key: "maxInFlight", kind: "int", min: 0 },
  max_backoff: { key: "maxBackoffDuration", kind: "duration", min: 0, max: 60 * M },
  msg_timeout: { key: "msgTimeout", kind: "duration", min: 0 },
  auth_secret: { key: "authSecret", kind: "string" },
  lookupd_authorization: { key: "lookupdAuthorization", kind: "bool" },
};

const TLS_FILES = { tls_root_ca_file: "ca", tls_cert: "cert", tls_key: "key" } as const;

/**
 * Sets one option by its go-nsq name (`-` and `_` are the same), coercing a string as go-nsq's
 * `Config.Set` does: durations are Go syntax (`"250ms"`) or integers of milliseconds, booleans are Go's
 * `ParseBool` forms. `tls_root_ca_file`, `tls_cert` and `tls_key` read the named PEM file.
 * @throws NsqError `E_INVALID_CONFIG` naming the option
 * @example
 * setOption(cfg, "max_in_flight", "200");
 * setOption(cfg, "backoff_strategy", "full_jitter");
 * setOption(cfg, "tls_v1", true);
 */
export function setOption(cfg: ClientConfig, name: string, value: string | number | boolean): void {
  const option = name.replaceAll("-", "_");
  const bad = (why: string) => new NsqError("E_INVALID_CONFIG", `option ${option} (${String(value)}): ${why}`);
  if (option in TLS_FILES) {
    if (typeof value !== "string") throw bad("expected a file name");
    let pem: string;
    try {
      pem = readFileSync(value, "utf8");
    } catch (e) {
      throw bad(`cannot read file - ${(e as Error).message}`);
    }
    cfg.tls = { ...cfg.tls, [TLS_FILES[option as keyof typeof TLS_FILES]]: pem };
    return;
  }
  if (option === "tls_insecure_skip_verify") {
    cfg.tls = { ...cfg.tls, rejectUnauthorized: !coerceBool(value, bad) };
    return;
  }
  if (option === "tls_min_version" || option === "tls_server_name") {
    if (option === "tls_server_name" && typeof value === "string") cfg.tls = { ...cfg.tls, serverName: value };
    return;
  }
  const spec = OPTIONS[option];
  if (spec === undefined) throw new NsqError("E_INVALID_CONFIG", `invalid option ${option}`);
  let v: string | number | boolean;
  switch (spec.kind) {
    case "string":
      v = String(value);
      break;
    case "bool":
      v = coerceBool(value, bad);
      break;
    case "strategy":
      if (value !== "exponential" && value !== "full_jitter") throw bad("must be exponential or full_jitter");
      v = value;
      break;
    case "duration":
      if (typeof value === "number") v = value;
      else if (typeof value === "string" && /^-?\d+$/.test(value)) v = Number(value);
      else if (typeof value === "string") {
        try {
          v = parseDuration(value);
        } catch (e) {
          throw bad((e as Error).message);
        }
      } else throw bad("expected a duration");
      break;
    case "int":
    case "float": {
      const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
      if (!Number.isFinite(n) || (spec.kind === "int" && !Number.isInteger(n))) throw bad(`expected ${spec.kind === "int" ? "an integer" : "a number"}`);
      v = n;
      break;
    }
  }
  if (typeof v === "number") {
    if (spec.min !== undefined && v < spec.min) throw bad(`must be >= ${spec.min}`);
    if (spec.max !== undefined && v > spec.max) throw bad(`must be <= ${spec.max}`);
  }
  (cfg as unknown as Record<string, unknown>)[spec.key] = v;
}

/**
 * Applies `--consumer-opt` / `--producer-opt` values: `key,value`, or `key` alone meaning `true`.
 * @example applyOptions(cfg, ["max_attempts,10", "tls_v1"]);
 */
export function applyOptions(cfg: ClientConfig, opts: readonly string[]): void {
  for (const o of opts) {
    const comma = o.indexOf(",");
    if (comma === -1) setOption(cfg, o, true);
    else setOption(cfg, o.slice(0, comma), o.slice(comma + 1));
  }
}

/**
 * A copy of `over` on top of the defaults, checked against go-nsq's ranges.
 * @throws NsqError `E_INVALID_CONFIG`
 * @example const cfg = resolveConfig({ maxInFlight: 100, msgTimeout: 30_000 });
 */
export function resolveConfig(over: Partial<ClientConfig> = {}): ClientConfig {
  const cfg = { ...defaultConfig(), ...over, tls: { ...over.tls } };
  for (const [option, spec] of Object.entries(OPTIONS)) {
    const v = cfg[spec.key];
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new NsqError("E_INVALID_CONFIG", `option ${option} (${v}): expected a number`);
      if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
        throw new NsqError("E_INVALID_CONFIG", `option ${option} (${v}): out of range`);
      }
    }
  }
  if (cfg.heartbeatInterval > cfg.readTimeout) {
    throw new NsqError(
      "E_INVALID_CONFIG",
      `heartbeat_interval (${cfg.heartbeatInterval}ms) must be less than read_timeout (${cfg.readTimeout}ms)`,
    );
  }
  if (cfg.backoffStrategy !== "exponential" && cfg.backoffStrategy !== "full_jitter") {
    throw new NsqError("E_INVALID_CONFIG", `option backoff_strategy (${String(cfg.backoffStrategy)}): must be exponential or full_jitter`);
  }
  return cfg;
}

function coerceBool(value: string | number | boolean, bad: (why: string) => Error): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw bad("expected a boolean");
}
