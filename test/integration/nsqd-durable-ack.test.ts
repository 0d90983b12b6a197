import { expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import type { DiskQueueFs } from "../../src/core/diskqueue/index.ts";
import { Command } from "../../src/core/protocol/commands.ts";
import { until } from "../helpers/client.ts";
import { startNsqd, testScope, Wire } from "../helpers/nsqd.ts";

// The disk refuses writes while `failing` is set, as a disk that went read-only or full does.
let failing = false;
const faultyFs: DiskQueueFs = {
  ...fs,
  writeSync: ((...args: Parameters<typeof fs.writeSync>) => {
    if (failing) throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
    return (fs.writeSync as (...a: unknown[]) => number)(...args);
  }) as typeof fs.writeSync,
};

const { defer, track } = testScope();

async function durableNsqd() {
  failing = false;
  // syncTimeout is long so only the publish itself can write: nothing in the background hides the order
  const d = await startNsqd({ memQueueSize: 0, syncTimeout: 60_000 }, faultyFs);
  defer(() => {
    failing = false;
    return d.stop();
  });
  return d;
}

async function drain(port: number, topic: string, n: number): Promise<string[]> {
  const c = track(await Wire.connect(port));
  expect(await c.sub(topic, "ch")).toBe("OK");
  c.send(Command.rdy(100));
  const got: string[] = [];
  while (got.length < n) {
    const m = await c.message(3000);
    c.send(Command.fin(m.id));
    got.push(m.text);
  }
  return got;
}

test("durable mode: a PUB whose write fails answers E_PUB_FAILED, not OK, and the next one after recovery is OK", async () => {
  const d = await durableNsqd();
  const w = track(await Wire.connect(d.port));
  expect(await w.pub("acks", "before")).toBe("OK");
  failing = true;
  w.send(Command.pub("acks", "during"));
  const f = await w.nextNonHeartbeat();
  expect(f!.type).toBe(1);
  expect(f!.text).toBe("E_PUB_FAILED PUB failed EIO: i/o error, write");
  expect(d.nsqd.health).toContain("EIO");

  failing = false;
  // the disk queue re-tries a failing disk at most every 100 ms; until then it keeps refusing
  let answer = "";
  await until(async () => {
    const p = await Wire.connect(d.port);
    answer = await p.pub("acks", "after");
    p.close();
    return answer === "OK";
  }, "a publish after recovery");
  expect(d.nsqd.health).toBeNull();
  // nothing acknowledged is lost; what the failed commit kept buffered is written on recovery, so the
  // refused message comes too (a publisher that retried it would see it twice: at least once, never lost)
  expect(await drain(d.port, "acks", 3)).toEqual(["before", "during", "after"]);
});

test("durable mode: an MPUB whose write fails answers E_MPUB_FAILED", async () => {
  const d = await durableNsqd();
  const w = track(await Wire.connect(d.port));
  failing = true;
  w.send(Command.mpub("acks", ["a", "b", "c"]));
  const f = await w.nextNonHeartbeat();
  expect(f!.text).toBe("E_MPUB_FAILED MPUB failed EIO: i/o error, write");
});

test("durable mode: an HTTP /pub whose write fails answers 503, not 200", async () => {
  const d = await durableNsqd();
  expect((await d.http("/pub?topic=acks", { method: "POST", body: "ok" })).status).toBe(200);
  failing = true;
  const r = await d.http("/pub?topic=acks", { method: "POST", body: "refused" });
  expect(r.status).toBe(503);
  expect(await r.json()).toEqual({ message: "EXITING" });
});

test("durable mode: a DPUB whose deferred entry cannot be written answers E_DPUB_FAILED", async () => {
  const d = await durableNsqd();
  // the topic's deferred store is opened at its first write: a directory in its place makes that fail
  const w = track(await Wire.connect(d.port));
  expect(await w.pub("later", "x")).toBe("OK");
  fs.mkdirSync(join(d.dataPath, "later.deferred.dat"));
  w.send(Command.dpub("later", 1000, "deferred"));
  const f = await w.nextNonHeartbeat();
  expect(f!.text).toStartWith("E_DPUB_FAILED DPUB failed EISDIR");
});
