import { describe, expect, test } from "bun:test";
import { Consumer } from "../../src/core/client/index.ts";
import { captureLog, until } from "../helpers/client.ts";
import { addrOf, testScope, type TestNsqd } from "../helpers/nsqd.ts";
import { allFinished, publish, spawnTool } from "../helpers/tool.ts";

const { defer, nsqd } = testScope();



/** Reads `topic` on `d` until `n` distinct bodies arrived; returns every body received (duplicates kept). */
async function drain(d: TestNsqd, topic: string, n: number): Promise<string[]> {
  const c = new Consumer(topic, "check", { logger: captureLog().logger, maxInFlight: 100 });
  defer(() => c.stop());
  const got: string[] = [];
  c.addHandler((m) => void got.push(m.text()));
  await c.connectToNsqd(addrOf(d));
  await until(() => new Set(got).size >= n, `${n} bodies on ${topic}`);
  return got;
}

const FAST_RETRY = ["--consumer-opt=default_requeue_delay,0", "--consumer-opt=backoff_multiplier,10ms"];

describe("nsq nsq-to-nsq", () => {
  test("re-publishes every message; the destination restarted in the middle loses nothing", async () => {
    const source = await nsqd();
    let dest = await nsqd();
    const { port, dataPath } = dest;
    const all = Array.from({ length: 2000 }, (_, i) => `m-${i}`);
    await publish(source, "t", all);
    const t = spawnTool(
      ["nsq-to-nsq", "--topic=t", `--nsqd-tcp-address=${addrOf(source)}`, `--destination-nsqd-tcp-address=${addrOf(dest)}`, "--max-in-flight=20", ...FAST_RETRY],
      defer,
    );
    await until(() => (dest.nsqd.topics.get("t")?.messageCount ?? 0) >= 300, "some messages re-published");
    await dest.stop({ keepData: true });
    await t.waitFor(/failed to publish to t - /);
    dest = await nsqd({ tcpAddress: `127.0.0.1:${port}`, dataPath });
    await until(() => allFinished(source, "t", "nsq_to_nsq", 2000), "every message finished at the source", 15_000);
    const r = await t.stop();
    expect(r.code).toBe(0);
    expect(new Set(await drain(dest, "t", 2000))).toEqual(new Set(all));
    expect(source.nsqd.topics.get("t")!.channels.get("nsq_to_nsq")!.requeueCount).toBeGreaterThan(0);
  }, 30_000);

  test("several --topic to --destination-topic, round-robin over two destinations", async () => {
    const source = await nsqd();
    const [d1, d2] = [await nsqd(), await nsqd()];
    await publish(source, "a", ["a1", "a2"]);
    await publish(source, "b", ["b1", "b2"]);
    const t = spawnTool(
      [
        "nsq-to-nsq",
        "--topic=a",
        "--topic=b",
        "--destination-topic=all",
        `--nsqd-tcp-address=${addrOf(source)}`,
        `--destination-nsqd-tcp-address=${addrOf(d1)}`,
        `--destination-nsqd-tcp-address=${addrOf(d2)}`,
        "--mode=round-robin",
      ],
      defer,
    );
    await until(() => allFinished(source, "a", "nsq_to_nsq", 2) && allFinished(source, "b", "nsq_to_nsq", 2), "all four");
    expect((await t.stop()).code).toBe(0);
    const counts = [d1, d2].map((d) => d.nsqd.topics.get("all")?.messageCount ?? 0);
    expect(counts).toEqual([2, 2]);
  });

  test("JSON filters: required field and value, whitelisted fields re-encoded as Go does", async () => {
    const source = await nsqd();
    const dest = await nsqd();
    await publish(source, "t", [
      '{"kind":"keep","z":1.50,"a":"<b>","drop":true}',
      '{"kind":"other","a":"x"}',
      "not json",
      '{"kind":"keep","a":"second"}',
    ]);
    const t = spawnTool(
      [
        "nsq-to-nsq",
        "--topic=t",
        `--nsqd-tcp-address=${addrOf(source)}`,
        `--destination-nsqd-tcp-address=${addrOf(dest)}`,
        "--require-json-field=kind",
        "--require-json-value=keep",
        "--whitelist-json-field=z",
        "--whitelist-json-field=a",
      ],
      defer,
    );
    await until(() => allFinished(source, "t", "nsq_to_nsq", 4), "all four handled");
    const r = await t.stop();
    expect(r.code).toBe(0);
    expect(await drain(dest, "t", 2)).toEqual(['{"a":"\\u003cb\\u003e","z":1.50}', '{"a":"second"}']);
    expect(r.stderr).toContain("ERROR: Unable to decode json: not json\n");
  });

  test("bad flags and an unreachable source: one clear line, exit 1", async () => {
    const run = (args: string[]) => spawnTool(["nsq-to-nsq", ...args], defer).finished();
    const [missingDest, missingTopic, valueAlone, badOpt, down] = await Promise.all([
      run(["--topic=t", "--nsqd-tcp-address=127.0.0.1:4150"]),
      run(["--nsqd-tcp-address=127.0.0.1:4150", "--destination-nsqd-tcp-address=127.0.0.1:4150"]),
      run(["--topic=t", "--nsqd-tcp-address=a:1", "--destination-nsqd-tcp-address=b:1", "--require-json-value=x"]),
      run(["--topic=t", "--nsqd-tcp-address=a:1", "--destination-nsqd-tcp-address=b:1", "--producer-opt=nope,1"]),
      run(["--topic=t", "--nsqd-tcp-address=127.0.0.1:1", "--destination-nsqd-tcp-address=127.0.0.1:2"]),
    ]);
    expect(missingDest).toEqual({ code: 1, stderr: "nsq_to_nsq: --destination-nsqd-tcp-address required\n" });
    expect(missingTopic.stderr).toBe("nsq_to_nsq: --topic and --channel are required\n");
    expect(valueAlone.stderr).toBe("nsq_to_nsq: --require-json-value requires --require-json-field\n");
    expect(badOpt.stderr).toBe("nsq_to_nsq: --producer-opt E_INVALID_CONFIG invalid option nope\n");
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("FATAL: E_CONNECT_FAILED dial tcp 127.0.0.1:1: connect: connection refused\n");
  });
});
