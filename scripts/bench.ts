/**
 * nsqd throughput, in the manner of NSQ's bench/bench_writer and bench_reader: 200-byte messages,
 * MPUB batches of 200 with one round trip each, then a reader with RDY 2500 that FINs everything.
 * nsqd runs as its own process (spawned from this checkout); the load runs here, on the same cores.
 *
 *   bun scripts/bench.ts [--seconds=10] [--workers=2] [--size=200] [--batch=200] [--rdy=2500] [-- nsqd flags…]
 *
 * Prints msgs/s for MPUB ingest, draining and one-PUB-per-round-trip, and nsqd's RSS idle and under load.
 */
import type { Socket } from "bun";
import { rmSync } from "node:fs";
import { Command } from "../src/core/protocol/commands.ts";
import { FrameDecoder, FrameType, MAGIC_V2 } from "../src/core/protocol/frame.ts";
import { benchArgs, rssKiB, spawnNsqd } from "./bench-lib.ts";

const { opt, nsqdFlags } = benchArgs();
const SECONDS = opt("seconds", 10);
const WORKERS = opt("workers", 2);
const SIZE = opt("size", 200);
const BATCH = opt("batch", 200);
const RDY = opt("rdy", 2500);
const TOPIC = `bench_${Date.now()}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A connection that sends a command and waits for its response, forever, counting messages. */
async function roundTripper(port: number, cmd: Uint8Array, perCmd: number, until: number): Promise<number> {
  let count = 0;
  let done!: (n: number) => void;
  const finished = new Promise<number>((r) => (done = r));
  let sock: Socket<undefined>;
  const decoder = new FrameDecoder((type, data) => {
    if (type === FrameType.Error) throw new Error(new TextDecoder().decode(data));
    if (data.length === 11) return; // _heartbeat_
    count += perCmd;
    if (performance.now() >= until) {
      sock.end();
      done(count);
    } else sock.write(cmd);
  });
  sock = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data: (_s, c) => decoder.push(c) } });
  sock.write(MAGIC_V2);
  sock.write(cmd);
  return finished;
}

async function publish(port: number, seconds: number, batch: number, workers: number) {
  const body = new Uint8Array(SIZE).fill(97);
  const cmd = batch === 1 ? Command.pub(TOPIC, body) : Command.mpub(TOPIC, Array(batch).fill(body));
  const start = performance.now();
  const until = start + seconds * 1000;
  const counts = await Promise.all(Array.from({ length: workers }, () => roundTripper(port, cmd, batch, until)));
  const total = counts.reduce((a, b) => a + b, 0);
  return { total, rate: total / ((performance.now() - start) / 1000) };
}

async function drain(port: number, expected: number, workers: number) {
  const start = performance.now();
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const socks: Socket<undefined>[] = [];
  for (let w = 0; w < workers; w++) {
    let sock: Socket<undefined>;
    const fins: Uint8Array[] = [];
    const decoder = new FrameDecoder((type, data) => {
      if (type !== FrameType.Message) return;
      fins.push(Command.fin(new TextDecoder().decode(data.subarray(10, 26))));
      got++;
    });
    sock = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, c) => {
          decoder.push(c);
          if (fins.length) {
            sock.write(Buffer.concat(fins));
            fins.length = 0;
          }
          if (got >= expected) done();
        },
      },
    });
    sock.write(MAGIC_V2);
    sock.write(Command.sub(TOPIC, "ch"));
    sock.write(Command.rdy(RDY));
    socks.push(sock);
  }
  await finished;
  const secs = (performance.now() - start) / 1000;
  for (const s of socks) s.end();
  return { total: got, rate: got / secs };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

const { proc, port, dataPath } = await spawnNsqd(nsqdFlags);
try {
  await sleep(1000);
  const idle = rssKiB(proc.pid);
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(proc.pid))), 200);
  const phasePeak = () => {
    const p = peak;
    peak = rssKiB(proc.pid);
    return `peak RSS ${(p / 1024).toFixed(1)} MiB`;
  };
  const pub = await publish(port, SECONDS, BATCH, WORKERS);
  console.log(`MPUB ${BATCH}x${SIZE}B, ${WORKERS} conns: ${fmt(pub.rate)} msgs/s (${fmt(pub.total)} msgs in ${SECONDS}s), ${phasePeak()}`);
  const sub = await drain(port, pub.total, 1);
  console.log(`drain RDY ${RDY}: ${fmt(sub.rate)} msgs/s (${fmt(sub.total)} msgs), ${phasePeak()}`);
  const single = await publish(port, Math.min(SECONDS, 5), 1, 1);
  console.log(`PUB one per round trip: ${fmt(single.rate)} msgs/s, ${phasePeak()}`);
  clearInterval(sampler);
  console.log(`nsqd RSS idle ${(idle / 1024).toFixed(1)} MiB, after the run ${(rssKiB(proc.pid) / 1024).toFixed(1)} MiB`);
  console.log(`nsqd flags: ${nsqdFlags.join(" ") || "(defaults)"}`);
} finally {
  proc.kill("SIGTERM");
  await proc.exited;
  rmSync(dataPath, { recursive: true, force: true });
}
