import { describe, expect, test } from "bun:test";
import { dialError } from "../../src/core/client/index.ts";
import { chooserFor, EpsilonGreedyHostPool, HostPool, RoundRobin } from "../../src/tools/hostpool.ts";
import { JsonFilter } from "../../src/tools/nsq-to-nsq/json-filter.ts";
import { TimerMetrics } from "../../src/tools/timer-metrics.ts";
import { filenameTemplate, strftime, withRev } from "../../src/tools/to-file/filename.ts";
import { parseHeaders } from "../../src/tools/to-http/options.ts";
import { queryEscape } from "../../src/tools/to-http/to-http.ts";
import { captureLog } from "../helpers/client.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe("destination choice (--mode)", () => {
  test("round-robin starts at the second address, as NSQ's counter does", () => {
    const rr = new RoundRobin(["a", "b", "c"]);
    expect([1, 2, 3, 4].map(() => rr.get().host)).toEqual(["b", "c", "a", "b"]);
  });

  test("hostpool: a failed host is left out for 30 s, then retried; all failed means all back", () => {
    let now = 1_000_000;
    const pool = new HostPool(["a", "b"], () => now);
    const first = pool.get();
    expect(first.host).toBe("a");
    first.mark(true);
    expect([pool.get().host, pool.get().host]).toEqual(["b", "b"]);
    now += 30_001;
    const retried = pool.get();
    expect(retried.host).toBe("a");
    retried.mark(false);
    expect([pool.get().host, pool.get().host]).toEqual(["b", "a"]);
    for (const c of [pool.get(), pool.get()]) c.mark(true);
    // both down: all back, and go-hostpool starts over from the first (twice)
    expect([pool.get().host, pool.get().host, pool.get().host]).toEqual(["a", "a", "b"]);
  });

  test("epsilon-greedy: after exploring, the faster host gets most requests", () => {
    let now = 0;
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pool = new EpsilonGreedyHostPool(["slow", "fast"], () => now, random);
    for (let i = 0; i < 20; i++) {
      const c = pool.get();
      now += c.host === "slow" ? 90 : 10;
      c.mark(false);
    }
    const picks = Array.from({ length: 100 }, () => {
      const c = pool.get();
      c.mark(false);
      return c.host;
    });
    expect(picks.filter((h) => h === "fast").length).toBeGreaterThan(70);
  });

  test("an unknown --mode falls back as NSQ does, and says so", () => {
    const warnings: string[] = [];
    expect(chooserFor("multicast", ["a"], "all", (w) => warnings.push(w))).toBeNull();
    expect(chooserFor("all", ["a"], "all", (w) => warnings.push(w))).toBeNull();
    expect(warnings).toEqual([]);
    expect(chooserFor("fastest", ["a"], "all", (w) => warnings.push(w))).toBeNull();
    expect(chooserFor("fastest", ["a"], "round-robin", (w) => warnings.push(w))).toBeInstanceOf(RoundRobin);
    expect(warnings).toEqual([
      "--mode=fastest is not round-robin, hostpool or epsilon-greedy: using all destinations for each message, as NSQ does",
      "--mode=fastest is not round-robin, hostpool or epsilon-greedy: using round-robin, as NSQ does",
    ]);
  });
});

describe("nsq_to_file file names", () => {
  const base = { filenameFormat: "<TOPIC>.<HOST><REV>.<DATETIME>.log", hostIdentifier: "", gzip: false, rotateSize: 0, rotateInterval: 0, workDir: "/o", outputDir: "/o" };

  test("strftime: NSQ's conversions, other text kept", () => {
    const d = new Date(2024, 0, 2, 15, 4, 5);
    expect(strftime("%Y-%m-%d_%H:%M:%S %y %I%p %B %b %A %a %% %q 1 Jan", d)).toBe(
      "2024-01-02_15:04:05 24 03PM January Jan Tuesday Tue % %q 1 Jan",
    );
    expect(strftime("%z", d)).toMatch(/^[+-]\d{4}$/);
  });

  test("<REV> dropped when not needed, required when it is; <HOST> from --host-identifier; .gz appended", () => {
    expect(filenameTemplate(base, "t", "box.example.com")).toBe("t.box.<DATETIME>.log");
    expect(filenameTemplate({ ...base, gzip: true, hostIdentifier: "<HOSTNAME>/<SHORT_HOST>" }, "t", "box.example.com")).toBe(
      "t.box.example.com/box<REV>.<DATETIME>.log.gz",
    );
    expect(filenameTemplate({ ...base, filenameFormat: "<PID>" }, "t")).toBe(String(process.pid));
    for (const over of [{ gzip: true }, { rotateSize: 1 }, { rotateInterval: 1 }, { workDir: "/w" }]) {
      expect(() => filenameTemplate({ ...base, ...over, filenameFormat: "<TOPIC>.log" }, "t")).toThrow("missing <REV>");
    }
    expect(withRev("a<REV>.log", 12)).toBe("a-000012.log");
  });
});

describe("nsq_to_http requests", () => {
  test("GET bodies are escaped as Go's url.QueryEscape", () => {
    expect(queryEscape(enc("a b&c=d/é~-_.!*'()"))).toBe("a+b%26c%3Dd%2F%C3%A9~-_.%21%2A%27%28%29");
  });

  test("--header is Key: Value, trimmed; both parts required", () => {
    expect(parseHeaders(["header1: value1", "header2:value2", "X-A:  b:c "])).toEqual({ header1: "value1", header2: "value2", "X-A": "b:c" });
    for (const bad of ["header1:", ": value2", ":", "novalue"]) expect(() => parseHeaders([bad])).toThrow("is invalid");
  });

  test("status lines: timer_metrics' format every --status-every requests", () => {
    const log = captureLog();
    const m = new TimerMetrics(3, "[aggregate]:", log.logger);
    for (let i = 0; i < 4; i++) m.status(performance.now() - 2);
    expect(log.lines.filter((l) => l.includes("finished"))).toHaveLength(1);
    expect(log.lines.at(-1)).toMatch(/INFO: \[aggregate\]: finished 3 - 99th: \d+\.\d\dms - 95th: \d+\.\d\dms - avg: \d+\.\d\dms\n$/);
    expect(log.has(/WARNING: use more than 100 status values for accurate percentiles \(configured with 3\)/)).toBe(true);
  });
});

describe("nsq_to_nsq JSON filters", () => {
  const filter = (o: Partial<ConstructorParameters<typeof JsonFilter>[0]>, errors: string[] = []) =>
    new JsonFilter({ whitelistJsonField: [], requireJsonField: "", requireJsonValue: "", ...o }, (e) => errors.push(e));

  test("no filter: the body as is, JSON or not", () => {
    expect(filter({}).apply(enc("not json"))).toEqual({ action: "publish", body: enc("not json") });
  });

  test("whitelist: Go's encoding (sorted keys, numbers as written, HTML-safe strings)", () => {
    const v = filter({ whitelistJsonField: ["z", "a", "n", "missing", "__proto__"] }).apply(
      enc('{"z":{"y":[1e3,null,true],"b":"\\u2028"},"a":"<&>\\u0001\\n","n":12345678901234567890,"drop":1,"__proto__":1}'),
    );
    expect(v.action).toBe("publish");
    expect(dec((v as { body: Uint8Array }).body)).toBe(
      '{"__proto__":1,"a":"\\u003c\\u0026\\u003e\\u0001\\n","n":12345678901234567890,"z":{"b":"\\u2028","y":[1e3,null,true]}}',
    );
  });

  test("require field and value: strings compare as strings, numbers as float64", () => {
    const errors: string[] = [];
    const f = filter({ requireJsonField: "k", requireJsonValue: "1.0" }, errors);
    expect(f.apply(enc('{"k":1}')).action).toBe("publish");
    expect(f.apply(enc('{"k":"1.0"}')).action).toBe("publish");
    expect(f.apply(enc('{"k":"1"}')).action).toBe("drop");
    expect(f.apply(enc('{"k":true}')).action).toBe("drop");
    expect(f.apply(enc('{"other":1}'))).toEqual({ action: "requeue", reason: "backoff" });
    expect(errors).toEqual(["missing field to check required value"]);
    expect(filter({ requireJsonField: "k" }).apply(enc('{"other":1}')).action).toBe("drop");
  });

  test("not JSON: logged and dropped; whitelisting a non-object: requeued", () => {
    const errors: string[] = [];
    expect(filter({ requireJsonField: "k" }, errors).apply(enc("{oops")).action).toBe("drop");
    expect(filter({ whitelistJsonField: ["a"] }, errors).apply(enc("[1]"))).toEqual({ action: "requeue", reason: "json is not an object" });
    expect(errors).toEqual(["Unable to decode json: {oops", "filterMessage() failed: json is not an object"]);
  });
});

test("dial errors: Go's wording with the address and the OS's reason", () => {
  expect(dialError("127.0.0.1:1", { code: "ECONNREFUSED" })).toBe("dial tcp 127.0.0.1:1: connect: connection refused");
  expect(dialError("10.0.0.1:4150", "timeout")).toBe("dial tcp 10.0.0.1:4150: i/o timeout");
  expect(dialError("nsqd.invalid:4150", { code: "ENOTFOUND" })).toBe("dial tcp: lookup nsqd.invalid: no such host");
  expect(dialError("/tmp/nsqd.sock", { code: "ENOENT" })).toBe("dial unix /tmp/nsqd.sock: connect: no such file or directory");
});
