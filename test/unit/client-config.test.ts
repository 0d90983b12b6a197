import { describe, expect, test } from "bun:test";
import { applyOptions, defaultConfig, NsqError, resolveConfig, setOption } from "../../src/core/client/index.ts";

describe("client config", () => {
  test("go-nsq's defaults, but a sub-second low_rdy_idle_timeout", () => {
    const c = defaultConfig();
    expect(c).toMatchObject({
      dialTimeout: 1000,
      readTimeout: 60_000,
      writeTimeout: 1000,
      lookupdPollInterval: 60_000,
      lookupdPollJitter: 0.3,
      maxRequeueDelay: 900_000,
      defaultRequeueDelay: 90_000,
      backoffStrategy: "exponential",
      maxBackoffDuration: 120_000,
      backoffMultiplier: 1000,
      maxAttempts: 5,
      lowRdyIdleTimeout: 100, // go-nsq: 10s (src/core/client/rdy.ts says why)
      lowRdyTimeout: 30_000,
      rdyRedistributeInterval: 5000,
      heartbeatInterval: 30_000,
      deflateLevel: 6,
      outputBufferSize: 16384,
      outputBufferTimeout: 250,
      maxInFlight: 1,
    });
    expect(c.userAgent).toMatch(/^nsq\.ts\//);
  });

  test("setOption coerces like go-nsq's Config.Set", () => {
    const c = defaultConfig();
    setOption(c, "max_in_flight", "200");
    setOption(c, "msg-timeout", "1m30s");
    setOption(c, "read_timeout", "5000"); // an integer is milliseconds
    setOption(c, "tls_v1", "true");
    setOption(c, "snappy", 1);
    setOption(c, "backoff_strategy", "full_jitter");
    setOption(c, "tls_insecure_skip_verify", true);
    expect(c).toMatchObject({ maxInFlight: 200, msgTimeout: 90_000, readTimeout: 5000, tlsV1: true, snappy: true });
    expect(c.backoffStrategy).toBe("full_jitter");
    expect(c.tls.rejectUnauthorized).toBe(false);
  });

  test("--consumer-opt values: key,value or a bare key meaning true", () => {
    const c = defaultConfig();
    applyOptions(c, ["max_attempts,10", "deflate", "client_id,a,b"]);
    expect(c).toMatchObject({ maxAttempts: 10, deflate: true, clientId: "a,b" });
  });

  test("bad options and values are E_INVALID_CONFIG errors naming the option", () => {
    const c = defaultConfig();
    const err = (f: () => void) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(NsqError);
        return (e as NsqError).message;
      }
      throw new Error("no error");
    };
    expect(err(() => setOption(c, "nope", "1"))).toBe("E_INVALID_CONFIG invalid option nope");
    expect(err(() => setOption(c, "max_attempts", "70000"))).toBe("E_INVALID_CONFIG option max_attempts (70000): must be <= 65535");
    expect(err(() => setOption(c, "sample_rate", "x"))).toContain("expected an integer");
    expect(err(() => setOption(c, "read_timeout", "5 s"))).toContain("time: unknown unit");
    expect(err(() => setOption(c, "tls_v1", "yes"))).toContain("expected a boolean");
    expect(err(() => setOption(c, "tls_root_ca_file", "/nonexistent"))).toContain("cannot read file");
    expect(err(() => resolveConfig({ heartbeatInterval: 90_000 }))).toContain("must be less than read_timeout");
    expect(err(() => resolveConfig({ maxInFlight: -1 }))).toContain("max_in_flight (-1): out of range");
  });
});
