import { describe, expect, test } from "bun:test";
import { formatDuration, parseDuration } from "../../src/core/duration.ts";
import { OptionsError, parseInt0 } from "../../src/core/options.ts";
import { defaultNodeId, nsqdDefaults, nsqdSpec } from "../../src/daemons/nsqd/options.ts";

describe("nsqd defaults", () => {
  test("match NSQ's code defaults, durations in ms", () => {
    const o = nsqdDefaults();
    expect(o.tcpAddress).toBe("0.0.0.0:4150");
    expect(o.httpAddress).toBe("0.0.0.0:4151");
    expect(o.httpsAddress).toBe("0.0.0.0:4152");
    expect(o.msgTimeout).toBe(60_000);
    expect(o.maxMsgTimeout).toBe(15 * 60_000);
    expect(o.maxMsgSize).toBe(1_048_576);
    expect(o.maxOutputBufferTimeout).toBe(30_000);
    expect(o.outputBufferTimeout).toBe(250);
    expect(o.e2eProcessingLatencyWindowTime).toBe(600_000);
    expect(o.tlsRequired).toBe("false");
    expect(o.logPrefix).toBe("[nsqd] ");
    expect(o.lookupdTcpAddress).toEqual([]);
    expect("verbose" in o).toBe(false);
  });

  test("node id is crc32(md5(hostname)) % 1024", () => {
    // md5("localhost") = 421aa90e079fa326b6494f812ad13e79; crc32 of those 16 bytes = 0x6906b410 (python zlib)
    expect(defaultNodeId("localhost")).toBe(0x6906b410 % 1024);
    expect(nsqdDefaults().nodeId).toBe(defaultNodeId());
  });
});

describe("nsqd validation names the flag", () => {
  const bad = (over: Record<string, unknown>) => () => nsqdSpec.validate({ ...nsqdDefaults(), ...over });
  test.each([
    [{ maxDeflateLevel: 0 }, "--max-deflate-level must be [1,9]"],
    [{ maxDeflateLevel: 10 }, "--max-deflate-level must be [1,9]"],
    [{ nodeId: 1024 }, "--node-id must be [0,1024)"],
    [{ nodeId: -1 }, "--node-id must be [0,1024)"],
    [{ e2eProcessingLatencyPercentile: [0.5, 0] }, "--e2e-processing-latency-percentile must be in (0,1]"],
    [{ tlsRequired: "true" }, "--tls-required: cannot require TLS client connections without TLS key and cert"],
    // zod's own English messages (zod/mini needs its locale loaded for these)
    [{ e2eProcessingLatencyPercentile: [NaN] }, "--e2e-processing-latency-percentile Invalid input: expected number, received NaN"],
    [{ nodeId: 1.5 }, "--node-id Invalid input: expected int, received number"],
  ])("%o", (over, message) => {
    expect(bad(over)).toThrow(new OptionsError(message));
  });

  test("a client auth policy forces tls-required", () => {
    const o = nsqdSpec.validate({ ...nsqdDefaults(), tlsClientAuthPolicy: "require", tlsCert: "c", tlsKey: "k" });
    expect(o.tlsRequired).toBe("true");
  });

  test("percentiles are sorted descending", () => {
    const o = nsqdSpec.validate({ ...nsqdDefaults(), e2eProcessingLatencyPercentile: [0.5, 1, 0.99] });
    expect(o.e2eProcessingLatencyPercentile).toEqual([1, 0.99, 0.5]);
  });
});

describe("Go durations", () => {
  test.each([
    ["250ms", 250],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
    ["1.5s", 1_500],
    ["250us", 0.25],
    ["250µs", 0.25],
    ["10ns", 0.00001],
    ["0", 0],
    ["-2s", -2_000],
    [".5s", 500],
  ])("parse %s", (text, ms) => expect(parseDuration(text)).toBe(ms));

  test.each([
    ["5", 'time: missing unit in duration "5"'],
    ["", 'time: invalid duration ""'],
    ["1x", 'time: unknown unit "x" in duration "1x"'],
    [".s", 'time: invalid duration ".s"'],
    ["s", 'time: invalid duration "s"'],
  ])("reject %p", (text, message) => expect(() => parseDuration(text)).toThrow(message));

  test.each([
    [0, "0s"],
    [250, "250ms"],
    [2_000, "2s"],
    [60_000, "1m0s"],
    [900_000, "15m0s"],
    [3_600_000, "1h0m0s"],
    [1_500, "1.5s"],
    [0.25, "250µs"],
    [90_500, "1m30.5s"],
  ])("format %d", (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe("Go integers (base 0)", () => {
  test.each([
    ["42", 42],
    ["-7", -7],
    ["0x10", 16],
    ["010", 8],
    ["0o17", 15],
    ["0b101", 5],
    ["1_000", 1000],
  ])("parse %s", (text, n) => expect(parseInt0(text)).toBe(n));

  test.each(["", "abc", "12abc", "1.5", "08", "_1", "1__0", "9007199254740993"])("reject %p", (text) => {
    expect(() => parseInt0(text)).toThrow();
  });
});
