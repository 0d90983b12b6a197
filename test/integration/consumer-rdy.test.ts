import { describe, expect, test } from "bun:test";
import { Consumer } from "../../src/core/client/index.ts";
import { captureLog, until } from "../helpers/client.ts";
import { addrOf, testScope, type TestNsqd } from "../helpers/nsqd.ts";
import { publish } from "../helpers/tool.ts";

const { defer, nsqd } = testScope();


/** Messages in flight over all the nsqd, as they see it. */
function inFlight(ds: TestNsqd[]): number {
  return ds.reduce((n, d) => n + (d.nsqd.topics.get("t")?.channels.get("ch")?.inFlight.size ?? 0), 0);
}

/** A consumer with the default max-in-flight 1 on every nsqd; records arrivals and the most in flight seen. */
async function consume(ds: TestNsqd[]) {
  const c = new Consumer("t", "ch", { logger: captureLog().logger });
  defer(() => c.stop());
  const arrived = new Map<string, number>();
  let maxInFlight = 0;
  c.addHandler((m) => {
    arrived.set(m.text(), performance.now());
    maxInFlight = Math.max(maxInFlight, inFlight(ds));
  });
  await c.connectToNsqds(ds.map(addrOf));
  return { c, arrived, maxInFlight: () => maxInFlight };
}

describe("Consumer RDY with fewer max-in-flight than nsqd", () => {
  // The deployment check from the production write-up: go-nsq delivers z 15–25 s after x and y.
  test("max-in-flight 1 on two nsqd: x and y on the first, z on the second; z arrives well within 1 s", async () => {
    const [a, b] = [await nsqd(), await nsqd()];
    const { arrived, maxInFlight } = await consume([a, b]);
    let worst = 0;
    for (let round = 0; round < 5; round++) {
      const ids = [`x${round}`, `y${round}`, `z${round}`];
      const sent = performance.now();
      await Promise.all([publish(a, "t", ids.slice(0, 2)), publish(b, "t", ids.slice(2))]);
      await until(() => ids.every((id) => arrived.has(id)), `round ${round}`, 5000);
      worst = Math.max(worst, ...ids.map((id) => arrived.get(id)! - sent));
    }
    // expected about one idle timeout (100 ms); the bound is ten times that
    expect(worst).toBeLessThan(1000);
    expect(maxInFlight()).toBe(1);
  });

  test("max-in-flight 1 on ten nsqd: messages spread over all ten are all drained, one at a time", async () => {
    const ds: TestNsqd[] = [];
    for (let i = 0; i < 10; i++) ds.push(await nsqd());
    for (const [i, d] of ds.entries()) await publish(d, "t", Array.from({ length: 20 }, (_, k) => `${i}-${k}`));
    const { c, arrived, maxInFlight } = await consume(ds);
    await until(() => arrived.size === 200, "all 200 messages", 15_000);
    for (let i = 0; i < 10; i++) expect([...arrived.keys()].filter((k) => k.startsWith(`${i}-`))).toHaveLength(20);
    expect(c.stats().messagesReceived).toBe(200);
    expect(maxInFlight()).toBe(1);
  });
});
