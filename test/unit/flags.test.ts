import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlagError, parseArgs, parseFlags, resolve, usage } from "../../src/core/flags.ts";
import { nsqdDefaults, nsqdSpec, type NsqdOptions } from "../../src/daemons/nsqd/options.ts";

const VERSION = "nsqd v1.3.0 (test)";
const dir = mkdtempSync(join(tmpdir(), "nsq-flags-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...argv: string[]) {
  return parseFlags(nsqdSpec, argv, { config: true, version: VERSION });
}

function opts(...argv: string[]): NsqdOptions {
  const r = run(...argv);
  if (r.kind !== "run") throw new Error(`expected options, got exit ${r.code}: ${r.stderr}`);
  return r.options;
}

function config(toml: string): string {
  const path = join(dir, `${Bun.hash(toml).toString(16)}.cfg`);
  writeFileSync(path, toml);
  return path;
}

function exitOf(...argv: string[]) {
  const r = run(...argv);
  if (r.kind !== "exit") throw new Error("expected an exit");
  return r;
}

describe("flag syntax (Go flag package)", () => {
  test("single and double dash are equivalent", () => {
    expect(opts("-tcp-address=127.0.0.1:1").tcpAddress).toBe("127.0.0.1:1");
    expect(opts("--tcp-address=127.0.0.1:2").tcpAddress).toBe("127.0.0.1:2");
  });

  test("=value or the next argument", () => {
    expect(opts("--mem-queue-size", "5").memQueueSize).toBe(5);
    expect(opts("--mem-queue-size=6").memQueueSize).toBe(6);
    expect(opts("--log-prefix=").logPrefix).toBe("");
    expect(opts("--statsd-prefix", "a=b").statsdPrefix).toBe("a=b");
  });

  test("booleans: bare is true, a value needs =", () => {
    expect(opts("--statsd-exclude-ephemeral").statsdExcludeEphemeral).toBe(true);
    expect(opts("--deflate=false").deflate).toBe(false);
    expect(opts("-snappy=0").snappy).toBe(false);
    expect(opts("-snappy=F", "-deflate=f").deflate).toBe(false);
    expect(opts("--deflate=TRUE").deflate).toBe(true);
    // "false" after a bare bool is a positional argument, so parsing stops there (Go behaviour).
    const r = parseArgs(nsqdSpec, ["--deflate", "false", "--snappy=false"]);
    expect(r.given.get("deflate")).toBe(true);
    expect(r.args).toEqual(["false", "--snappy=false"]);
  });

  test("invalid boolean value", () => {
    const r = exitOf("--deflate=yes");
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith('invalid boolean value "yes" for -deflate: parse error\nUsage of nsqd:\n');
  });

  test("tls-required is bool-like: bare, true/false, tcp-https", () => {
    const tls = ["--tls-cert=c", "--tls-key=k"];
    expect(opts(...tls, "--tls-required").tlsRequired).toBe("true");
    expect(opts(...tls, "--tls-required=tcp-https").tlsRequired).toBe("tcp-https");
    expect(opts(...tls, "--tls-required=TCP-HTTPS").tlsRequired).toBe("tcp-https");
    expect(opts(...tls, "--tls-required=false").tlsRequired).toBe("false");
    expect(opts(...tls, "--tls-required=1").tlsRequired).toBe("true");
    expect(exitOf("--tls-required=maybe").code).toBe(2);
  });

  test("durations use Go syntax and are milliseconds", () => {
    expect(opts("--msg-timeout=1m30s").msgTimeout).toBe(90_000);
    expect(opts("--msg-timeout", "1.5s").msgTimeout).toBe(1_500);
    expect(opts("--output-buffer-timeout=250us").outputBufferTimeout).toBe(0.25);
    expect(opts("--max-req-timeout=1h").maxReqTimeout).toBe(3_600_000);
  });

  test.each([
    ["--msg-timeout=60", 'invalid value "60" for flag -msg-timeout: time: missing unit in duration "60"'],
    ["--msg-timeout=1y", 'invalid value "1y" for flag -msg-timeout: time: unknown unit "y" in duration "1y"'],
    ["--msg-timeout=", 'invalid value "" for flag -msg-timeout: time: invalid duration ""'],
  ])("invalid duration %s", (arg, message) => {
    const r = exitOf(arg);
    expect(r.code).toBe(2);
    expect(r.stderr).toStartWith(`${message}\n`);
  });

  test("ints reject garbage", () => {
    expect(exitOf("--mem-queue-size=12abc").stderr).toStartWith('invalid value "12abc" for flag -mem-queue-size: parse error\n');
    expect(exitOf("--max-msg-size", "1.5").code).toBe(2);
    expect(opts("--mem-queue-size=0x10").memQueueSize).toBe(16);
  });

  test("repeatable flags accumulate; others keep the last value", () => {
    const o = opts(
      "--lookupd-tcp-address",
      "a:4160",
      "-lookupd-tcp-address=b:4160",
      "--tcp-address=x:1",
      "--tcp-address=y:2",
    );
    expect(o.lookupdTcpAddress).toEqual(["a:4160", "b:4160"]);
    expect(o.tcpAddress).toBe("y:2");
    expect(opts("--auth-http-address=a", "--auth-http-address=b").authHttpAddress).toEqual(["a", "b"]);
    expect(opts("--enable-experiment=topology-aware-consumption").enableExperiment).toEqual([
      "topology-aware-consumption",
    ]);
  });

  test("float lists take comma lists and repeats, sorted descending", () => {
    const o = opts("--e2e-processing-latency-percentile=0.5,1.0", "--e2e-processing-latency-percentile", "0.99");
    expect(o.e2eProcessingLatencyPercentile).toEqual([1, 0.99, 0.5]);
  });

  test("unknown flag: Go's message, usage on stderr, exit 2", () => {
    const r = exitOf("--tcp-address=a:1", "-x");
    expect(r.code).toBe(2);
    expect(r.stdout).toBeUndefined();
    expect(r.stderr).toStartWith("flag provided but not defined: -x\nUsage of nsqd:\n");
    expect(r.stderr).toContain("  -tcp-address string\n");
  });

  test("missing argument and bad syntax", () => {
    expect(exitOf("--tcp-address").stderr).toStartWith("flag needs an argument: -tcp-address\n");
    expect(exitOf("---tcp-address=a").stderr).toStartWith("bad flag syntax: ---tcp-address=a\n");
    expect(exitOf("-=a").stderr).toStartWith("bad flag syntax: -=a\n");
  });

  test("-- ends flags; the first positional stops parsing", () => {
    let r = parseArgs(nsqdSpec, ["--tcp-address=a:1", "--", "--http-address=b:2"]);
    expect([...r.given.keys()]).toEqual(["tcp-address"]);
    expect(r.args).toEqual(["--http-address=b:2"]);
    r = parseArgs(nsqdSpec, ["--tcp-address=a:1", "extra", "--http-address=b:2"]);
    expect([...r.given.keys()]).toEqual(["tcp-address"]);
    expect(r.args).toEqual(["extra", "--http-address=b:2"]);
    r = parseArgs(nsqdSpec, ["-", "--tcp-address=a:1"]);
    expect(r.args).toEqual(["-", "--tcp-address=a:1"]);
  });

  test.each(["-h", "-help", "--help", "--h"])("%s prints usage on stdout and exits 0", (arg) => {
    const r = exitOf("--tcp-address=a:1", arg);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("Usage of nsqd:\n");
    expect(r.stderr).toBeUndefined();
  });

  test("--version prints the version and exits 0, after the whole command line parsed", () => {
    expect(exitOf("--version")).toEqual({ kind: "exit", code: 0, stdout: `${VERSION}\n` });
    expect(exitOf("-version=true", "--tcp-address=a:1").code).toBe(0);
    expect(exitOf("--version", "--bogus").code).toBe(2);
    expect(exitOf("--version=false", "--log-level=nope").code).toBe(2);
  });

  test("deprecated --verbose and --worker-id are accepted and ignored", () => {
    const o = opts("--verbose", "--worker-id");
    expect(o).toEqual({ ...nsqdDefaults() });
  });

  test("parseArgs throws FlagError", () => {
    expect(() => parseArgs(nsqdSpec, ["--nope"])).toThrow(FlagError);
  });
});

describe("choices and validation errors name the flag", () => {
  test("log-level is case-insensitive", () => {
    expect(opts("--log-level=DEBUG").logLevel).toBe("debug");
    expect(opts("--log-level", "Warn").logLevel).toBe("warn");
    expect(exitOf("--log-level=verbose").stderr).toStartWith(
      'invalid value "verbose" for flag -log-level: must be one of debug, info, warn, error, fatal\n',
    );
  });

  test("tls-min-version", () => {
    expect(opts("--tls-min-version=TLS1.2").tlsMinVersion).toBe("tls1.2");
    expect(exitOf("--tls-min-version=ssl3.0").code).toBe(2);
  });

  test.each([
    [["--max-deflate-level=10"], "nsqd: --max-deflate-level must be [1,9]\n"],
    [["--node-id=1024"], "nsqd: --node-id must be [0,1024)\n"],
    [["--e2e-processing-latency-percentile=1.5"], "nsqd: --e2e-processing-latency-percentile must be in (0,1]\n"],
    [["--e2e-processing-latency-percentile=0"], "nsqd: --e2e-processing-latency-percentile must be in (0,1]\n"],
    [["--enable-experiment=warp-drive"], "nsqd: --enable-experiment must be one of topology-aware-consumption\n"],
    [
      ["--tls-client-auth-policy=require"],
      "nsqd: --tls-required: cannot require TLS client connections without TLS key and cert\n",
    ],
  ])("%p exits 1 with one line, no stack", (argv, stderr) => {
    expect(exitOf(...argv)).toEqual({ kind: "exit", code: 1, stderr });
  });

  test("tls-client-auth-policy forces tls-required", () => {
    expect(opts("--tls-cert=c", "--tls-key=k", "--tls-client-auth-policy=require-verify").tlsRequired).toBe("true");
    expect(
      opts("--tls-cert=c", "--tls-key=k", "--tls-client-auth-policy=require", "--tls-required=tcp-https").tlsRequired,
    ).toBe("tcp-https");
  });
});

describe("--config TOML", () => {
  test("snake_case keys, renamed keys, ms integers, comma lists", () => {
    const path = config(`
id = 7
tcp_address = "127.0.0.1:5150"
nsqlookupd_tcp_addresses = ["l1:4160", "l2:4160"]
auth_http_addresses = "a1:4181,a2:4181"
e2e_processing_latency_percentiles = [0.5, 0.99]
enable_experiment = ["topology-aware-consumption"]
msg_timeout = "90s"
max_msg_timeout = 120000
output_buffer_timeout = "100ms"
deflate = false
mem_queue_size = 5
log_level = "WARN"
tls_required = "tcp-https"
tls_cert = "c"
tls_key = "k"
tls_min_version = "tls1.2"
some_unknown_key = "ignored"
verbose = true
`);
    const o = opts(`--config=${path}`);
    expect(o.nodeId).toBe(7);
    expect(o.tcpAddress).toBe("127.0.0.1:5150");
    expect(o.lookupdTcpAddress).toEqual(["l1:4160", "l2:4160"]);
    expect(o.authHttpAddress).toEqual(["a1:4181", "a2:4181"]);
    expect(o.e2eProcessingLatencyPercentile).toEqual([0.99, 0.5]);
    expect(o.enableExperiment).toEqual(["topology-aware-consumption"]);
    expect(o.msgTimeout).toBe(90_000);
    expect(o.maxMsgTimeout).toBe(120_000);
    expect(o.outputBufferTimeout).toBe(100);
    expect(o.deflate).toBe(false);
    expect(o.memQueueSize).toBe(5);
    expect(o.logLevel).toBe("warn");
    expect(o.tlsRequired).toBe("tcp-https");
    expect(o.tlsMinVersion).toBe("tls1.2");
  });

  test("tls_required may be a bool; e2e percentiles may be a comma string", () => {
    const path = config(`
tls_required = true
tls_cert = "c"
tls_key = "k"
e2e_processing_latency_percentiles = "0.9, 1.0"
`);
    const o = opts("--config", path);
    expect(o.tlsRequired).toBe("true");
    expect(o.e2eProcessingLatencyPercentile).toEqual([1, 0.9]);
  });

  test("the flag names themselves are not config keys when renamed", () => {
    const o = opts(`--config=${config(`node_id = 9\nlookupd_tcp_address = ["x:1"]`)}`);
    expect(o.nodeId).toBe(nsqdDefaults().nodeId);
    expect(o.lookupdTcpAddress).toEqual([]);
  });

  test("precedence: command-line flag > config key > default", () => {
    const path = config(`mem_queue_size = 5\nmax_rdy_count = 7\nlookupd_tcp_address = "ignored"\nnsqlookupd_tcp_addresses = ["cfg:4160"]`);
    const o = opts(`--config=${path}`, "--mem-queue-size=6", "--lookupd-tcp-address=cli:4160");
    expect(o.memQueueSize).toBe(6);
    expect(o.maxRdyCount).toBe(7);
    expect(o.maxBodySize).toBe(5_242_880);
    expect(o.lookupdTcpAddress).toEqual(["cli:4160"]);
    // the flag given with its default value still wins over the config file
    expect(opts(`--config=${path}`, "--max-rdy-count=2500").maxRdyCount).toBe(2500);
    // flag order does not matter
    expect(opts("--mem-queue-size=6", "--config", path).memQueueSize).toBe(6);
  });

  test("resolve() without a config file gives the defaults", () => {
    expect(resolve(nsqdSpec, new Map())).toEqual(nsqdDefaults());
  });

  test.each([
    [`msg_timeout = "60"`, 'nsqd: config key msg_timeout = "60": time: missing unit in duration "60"\n'],
    [`msg_timeout = 1.5`, 'nsqd: config key msg_timeout = 1.5: expected a duration string like "60s" or an integer of milliseconds\n'],
    [`mem_queue_size = "lots"`, 'nsqd: config key mem_queue_size = "lots": expected an integer\n'],
    [`deflate = 1`, "nsqd: config key deflate = 1: expected true or false\n"],
    [`tls_required = "sometimes"`, 'nsqd: config key tls_required = "sometimes": must be one of false, true, tcp-https\n'],
    [`nsqlookupd_tcp_addresses = [1, 2]`, "nsqd: config key nsqlookupd_tcp_addresses = [1,2]: expected an array of strings or a comma-separated string\n"],
    [`max_deflate_level = 0`, "nsqd: --max-deflate-level must be [1,9]\n"],
    [`log_level = "loud"`, 'nsqd: config key log_level = "loud": must be one of debug, info, warn, error, fatal\n'],
  ])("bad value %s: exit 1, the message names the key", (toml, stderr) => {
    expect(exitOf(`--config=${config(toml)}`)).toEqual({ kind: "exit", code: 1, stderr });
  });

  test("missing or malformed file", () => {
    const missing = join(dir, "missing.cfg");
    const r = exitOf(`--config=${missing}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`nsqd: failed to load config file ${missing} - `);
    expect(exitOf(`--config=${config("this is = = not toml")}`).code).toBe(1);
  });
});

describe("usage", () => {
  test("Go PrintDefaults layout with defaults, sorted", () => {
    const text = usage(nsqdSpec, { config: true });
    expect(text).toStartWith("Usage of nsqd:\n  -auth-http-address value\n    \t<addr>:<port> to query auth server");
    expect(text).toContain('  -tcp-address string\n    \t<addr>:<port> to listen on for TCP clients (default "0.0.0.0:4150")\n');
    expect(text).toContain("  -msg-timeout duration\n    \tdefault duration to wait before auto-requeing a message (default 1m0s)\n");
    expect(text).toContain("  -deflate\n    \tenable deflate feature negotiation (client compression) (default true)\n");
    expect(text).toContain("  -max-deflate-level int\n");
    expect(text).toContain("(default 6)\n");
    expect(text).toContain("  -config string\n    \tpath to config file\n");
    expect(text).toContain("  -version\n    \tprint version string\n");
    expect(text).toContain("  -tls-required\n    \trequire TLS for client connections (true, false, tcp-https)\n");
    expect(text).toContain('  -log-prefix string\n    \tlog message prefix (default "[nsqd] ")\n');
    const names = [...text.matchAll(/^ {2}-(\S+)/gm)].map((m) => m[1]!);
    expect(names).toEqual(names.toSorted());
    expect(names.length).toBe(nsqdSpec.flags.size + 2);
  });
});
