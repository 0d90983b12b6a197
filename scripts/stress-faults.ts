/**
 * Faults while producers and consumers run: nsqd in durable mode (`--mem-queue-size=0`) is killed with
 * SIGKILL every `--every` ms for `--rounds` rounds and started again on the same data path and ports;
 * producers keep publishing numbered messages through the project's Producer, a consumer keeps consuming.
 * Then a consumer that dies holding messages in flight, whose messages must come back after --msg-timeout.
 * Prints what was acknowledged, received, duplicated, invented and lost (the goal is zero lost, zero invented).
 * nsqd runs as its own process (NSQ_BIN=dist/nsq for the binary).
 *
 *   bun scripts/stress-faults.ts [--rounds=10] [--every=1000] [--producers=4]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Consumer, Producer } from "../src/core/client/index.ts";
import { createLogger } from "../src/core/log.ts";
import { benchArgs, nsqCommand } from "./bench-lib.ts";

const { opt } = benchArgs();
const ROUNDS = opt("rounds", 10);
const EVERY = opt("every", 1000);
const PRODUCERS = opt("producers", 4);

const dataPath = mkdtempSync(join(tmpdir(), "nsq-faults-"));
const port = 10000 + 2 * Math.floor(Math.random() * 10000);
const addr = `127.0.0.1:${port}`;
const quiet = createLogger({ level: "fatal" });

function startNsqd(extra: string[] = []) {
  return Bun.spawn(
    [...nsqCommand(), "nsqd", `--tcp-address=${addr}`, "--http-address=", `--data-path=${dataPath}`, "--mem-queue-size=0", "--log-level=error", ...extra],
    { stdin: "ignore", stdout: "ignore", stderr: "inherit" },
  );
}

async function listening(): Promise<void> {
  for (;;) {
    try {
      (await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } })).end();
      return;
    } catch {
      await Bun.sleep(20);
    }
  }
}

const acked = new Set<string>();
const attempted = new Set<string>();
const received = new Map<string, number>();
let publishing = true;

async function producer(id: number): Promise<void> {
  const p = new Producer(addr, { logger: quiet });
  for (let seq = 0; publishing; seq++) {
    const body = `p${id}-${seq}`;
    attempted.add(body);
    try {
      await p.publish("faults", body);
      acked.add(body);
    } catch {
      await Bun.sleep(50); // nsqd is down: try the next one when it is back
    }
  }
  await p.stop();
}

// in-flight messages of a killed nsqd come back when they would have timed out: keep that short here
const LOOP_FLAGS = ["--msg-timeout=5s"];
let nsqd = startNsqd(LOOP_FLAGS);
await listening();
const consumer = new Consumer("faults", "c", { maxInFlight: 50, lookupdPollInterval: 100, logger: quiet });
consumer.addHandler((m) => {
  const b = new TextDecoder().decode(m.body);
  received.set(b, (received.get(b) ?? 0) + 1);
});
await consumer.connectToNsqd(addr);
const producers = Array.from({ length: PRODUCERS }, (_, i) => producer(i));

for (let r = 0; r < ROUNDS; r++) {
  await Bun.sleep(EVERY);
  nsqd.kill("SIGKILL");
  await nsqd.exited;
  nsqd = startNsqd(LOOP_FLAGS);
  await listening();
}
await Bun.sleep(EVERY);
publishing = false;
await Promise.all(producers);
// everything acknowledged must arrive, however long the consumer takes to reconnect
const deadline = performance.now() + 60_000;
while ([...acked].some((b) => !received.has(b)) && performance.now() < deadline) await Bun.sleep(100);
consumer.stop();
await consumer.stopped;

const lost = [...acked].filter((b) => !received.has(b));
const invented = [...received.keys()].filter((b) => !attempted.has(b));
const duplicates = [...received.values()].reduce((n, c) => n + c - 1, 0);
console.log(
  `${nsqCommand().join(" ")}: ${ROUNDS} kill -9 restarts every ${EVERY} ms in durable mode, ${PRODUCERS} producers: ` +
    `${attempted.size} published, ${acked.size} acknowledged, ${received.size} received (${duplicates} duplicates), ` +
    `${lost.length} acknowledged and lost, ${invented.length} invented`,
);

// a consumer killed mid-flight: nsqd redelivers its messages after --msg-timeout
nsqd.kill("SIGTERM");
await nsqd.exited;
nsqd = startNsqd(["--msg-timeout=1s"]);
await listening();
const p = new Producer(addr, { logger: quiet });
const bodies = Array.from({ length: 100 }, (_, i) => `inflight-${i}`);
await p.multiPublish("dies", bodies);
await p.stop();
const victim = Bun.spawn(
  [process.execPath, "-e", `
    const { Consumer } = await import(${JSON.stringify(join(import.meta.dir, "../src/core/client/index.ts"))});
    const c = new Consumer("dies", "c", { maxInFlight: 100 });
    let n = 0;
    c.addHandler(() => { if (++n === 100) console.log("holding"); return new Promise(() => {}); }, { concurrency: 100 });
    await c.connectToNsqd(${JSON.stringify(addr)});
  `],
  { stdout: "pipe", stderr: "inherit" },
);
const reader = victim.stdout.getReader();
for (let out = ""; !out.includes("holding"); ) {
  const { value, done } = await reader.read();
  if (done) throw new Error("the victim consumer exited early");
  out += new TextDecoder().decode(value);
}
victim.kill("SIGKILL");
await victim.exited;
const redelivered = new Set<string>();
const t0 = performance.now();
const rescuer = new Consumer("dies", "c", { maxInFlight: 100, logger: quiet });
rescuer.addHandler((m) => void redelivered.add(new TextDecoder().decode(m.body)));
await rescuer.connectToNsqd(addr);
while (redelivered.size < bodies.length && performance.now() - t0 < 30_000) await Bun.sleep(50);
rescuer.stop();
await rescuer.stopped;
console.log(
  `a consumer killed holding ${bodies.length} messages in flight (--msg-timeout=1s): ${redelivered.size} redelivered ` +
    `after ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
nsqd.kill("SIGTERM");
await nsqd.exited;
rmSync(dataPath, { recursive: true, force: true });
process.exit(lost.length === 0 && invented.length === 0 && redelivered.size === bodies.length ? 0 : 1);
