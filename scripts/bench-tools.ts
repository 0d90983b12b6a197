/**
 * Throughput of the tools as a user runs them, each spawned from this checkout (or NSQ_BIN, e.g. dist/nsq)
 * against nsqd running as its own process:
 *
 * - `nsq to-nsq < file` (lines/s) and `nsq tail -n N > /dev/null` (msgs/s), over `--lines` lines;
 * - `nsq to-file` (plain and `--gzip`), `nsq to-http` (POST to a local HTTP server answering 200) and
 *   `nsq nsq-to-nsq` (to a second nsqd), over `--messages` messages waiting in their channel, timed from the
 *   start of the program until nsqd reports every message finished; the tools run with NSQ's defaults
 *   (max-in-flight 200, to-http `-n 100`);
 * - the Consumer's RDY rotation: max-in-flight 1 on two nsqd, `x` and `y` published to the first and `z` to
 *   the second, `--rounds` times; the worst wait from publish to delivery.
 *
 *   bun scripts/bench-tools.ts [--lines=1000000] [--messages=100000] [--size=100] [--max-in-flight=2500] [--runs=3] [--rounds=20]
 *
 * Each figure includes the program's start-up (about 0.1 s under `bun cli/nsq.ts`); the best of
 * `--runs` is reported, with the others alongside.
 */
import { mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Consumer, Producer } from "../src/core/client/index.ts";
import { createLogger } from "../src/core/log.ts";
import { benchArgs, cpuSeconds, nsqCommand, spawnNsqd } from "./bench-lib.ts";

const { opt } = benchArgs();
const LINES = opt("lines", 1_000_000);
const MESSAGES = opt("messages", 100_000);
const SIZE = opt("size", 100);
const MIF = opt("max-in-flight", 2500);
const RUNS = opt("runs", 3);
const ROUNDS = opt("rounds", 20);

const bin = nsqCommand();
const dir = mkdtempSync(join(tmpdir(), "nsq-bench-tools-"));
const quiet = createLogger({ level: "error" });
const body = (i: number) => {
  const n = String(i);
  return n + "x".repeat(Math.max(0, SIZE - n.length));
};

// Lines of SIZE bytes (a counter padded with x), newline-terminated.
const file = join(dir, "input.txt");
writeFileSync(file, `${Array.from({ length: LINES }, (_, i) => body(i)).join("\n")}\n`);

const nsqd = await spawnNsqd([`--mem-queue-size=${Math.max(LINES, MESSAGES) * 2}`], { http: true });
const addr = `127.0.0.1:${nsqd.port}`;
const other = await spawnNsqd([`--mem-queue-size=${MESSAGES * 2}`], { http: true });
const otherAddr = `127.0.0.1:${other.port}`;

/** Wall seconds of one run, and the CPU seconds the program itself used (user + system). */
async function timed(args: string[], stdin: "ignore" | number): Promise<{ wall: number; cpu: number }> {
  const started = performance.now();
  const p = Bun.spawn([...bin, ...args], { stdin, stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${args.join(" ")} exited ${code}:\n${err}`);
  return { wall: (performance.now() - started) / 1000, cpu: cpuOf(p) };
}

function cpuOf(p: { resourceUsage(): { cpuTime: { user: bigint | number; system: bigint | number } } | undefined }): number {
  const u = p.resourceUsage();
  return u ? Number(u.cpuTime.user) / 1e6 + Number(u.cpuTime.system) / 1e6 : NaN;
}

/** A program that runs until stopped: wall seconds from its start until `done()`, then SIGTERM. */
async function timedUntil(args: string[], done: () => Promise<boolean>): Promise<{ wall: number; cpu: number }> {
  const started = performance.now();
  const p = Bun.spawn([...bin, ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const stderr = new Response(p.stderr).text();
  while (!(await done())) {
    if (p.exitCode !== null) throw new Error(`${args.join(" ")} exited ${p.exitCode}:\n${await stderr}`);
    await Bun.sleep(20);
  }
  const wall = (performance.now() - started) / 1000;
  p.kill("SIGTERM");
  if ((await p.exited) !== 0) throw new Error(`${args.join(" ")} did not stop cleanly:\n${await stderr}`);
  return { wall, cpu: cpuOf(p) };
}

/** Creates a durable channel so published messages wait in it. */
async function createChannel(at: string, topic: string, channel: string): Promise<void> {
  const c = new Consumer(topic, channel, { logger: quiet, maxInFlight: 0 });
  c.addHandler(() => {});
  await c.connectToNsqd(at);
  await c.stop();
}

/** MESSAGES bodies of SIZE bytes waiting in `topic`/`channel`. */
async function fill(topic: string, channel: string): Promise<void> {
  await createChannel(addr, topic, channel);
  const p = new Producer(addr, { logger: quiet });
  for (let i = 0; i < MESSAGES; i += 1000) await p.multiPublish(topic, Array.from({ length: Math.min(1000, MESSAGES - i) }, (_, k) => body(i + k)));
  await p.stop();
}

/** nsqd's /stats says every message of the channel was finished. */
function finished(topic: string, channel: string): () => Promise<boolean> {
  return async () => {
    const res = await fetch(`http://127.0.0.1:${nsqd.httpPort}/stats?format=json&topic=${topic}&channel=${channel}`);
    const stats = (await res.json()) as { topics: { channels: Record<string, number>[] }[] };
    const ch = stats.topics[0]?.channels[0];
    return ch !== undefined && ch.message_count! >= MESSAGES && ch.depth === 0 && ch.in_flight_count === 0 && ch.deferred_count === 0;
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
type Run = { rate: number; cpu: number; nsqdCpu: number };
const results = new Map<string, { unit: string; runs: Run[] }>();

async function measure(name: string, unit: string, count: number, run: () => Promise<{ wall: number; cpu: number }>): Promise<void> {
  const before = cpuSeconds(nsqd.proc.pid);
  const r = await run();
  const entry = results.get(name) ?? { unit, runs: [] };
  entry.runs.push({ rate: count / r.wall, cpu: r.cpu, nsqdCpu: cpuSeconds(nsqd.proc.pid) - before });
  results.set(name, entry);
}

const http = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: async (req) => (await req.arrayBuffer(), new Response("ok")) });

/** The Consumer scenario from the production write-up; returns the worst wait in milliseconds. */
async function rdyWorstWait(): Promise<number> {
  const c = new Consumer("rdy", "c", { logger: quiet });
  const arrived = new Map<string, number>();
  c.addHandler((m) => void arrived.set(m.text(), performance.now()));
  await c.connectToNsqds([addr, otherAddr]);
  const [pa, pb] = [new Producer(addr, { logger: quiet }), new Producer(otherAddr, { logger: quiet })];
  let worst = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // let the consumer settle into the idle rotation, at a different phase each round
    await Bun.sleep(137 + ((round * 53) % 300));
    const ids = [`x${round}`, `y${round}`, `z${round}`];
    const sent = performance.now();
    await Promise.all([pa.multiPublish("rdy", ids.slice(0, 2)), pb.publish("rdy", ids[2]!)]);
    while (!ids.every((id) => arrived.has(id))) await Bun.sleep(1);
    worst = Math.max(worst, ...ids.map((id) => arrived.get(id)! - sent));
  }
  await Promise.all([c.stop(), pa.stop(), pb.stop()]);
  return worst;
}

try {
  for (let run = 0; run < RUNS; run++) {
    const topic = `bench_tools_${run}`;
    await createChannel(addr, topic, "bench");
    await measure("to-nsq", "lines/s", LINES, () => timed(["to-nsq", `--topic=${topic}`, `--nsqd-tcp-address=${addr}`], openSync(file, "r")));
    await measure("tail", "msgs/s", LINES, () =>
      timed(["tail", `--topic=${topic}`, "--channel=bench", "-n", String(LINES), `--max-in-flight=${MIF}`, `--nsqd-tcp-address=${addr}`], "ignore"),
    );

    for (const gzip of [false, true]) {
      const t = `bench_file_${gzip ? "gz" : "plain"}_${run}`;
      await fill(t, "nsq_to_file");
      const out = join(dir, t);
      await measure(gzip ? "to-file --gzip" : "to-file", "msgs/s", MESSAGES, () =>
        timedUntil(
          // the last messages of a burst (under 85% of RDY in flight) wait for the next sync, as in NSQ: 100 ms, not 30 s
          ["to-file", `--topic=${t}`, `--nsqd-tcp-address=${addr}`, `--output-dir=${out}`, "--sync-interval=100ms", ...(gzip ? ["--gzip"] : [])],
          finished(t, "nsq_to_file"),
        ),
      );
      rmSync(out, { recursive: true, force: true });
    }

    const th = `bench_http_${run}`;
    await fill(th, "nsq_to_http");
    await measure("to-http", "msgs/s", MESSAGES, () =>
      timedUntil(["to-http", `--topic=${th}`, `--nsqd-tcp-address=${addr}`, `--post=http://127.0.0.1:${http.port}/`], finished(th, "nsq_to_http")),
    );

    const tn = `bench_nsq_${run}`;
    await fill(tn, "nsq_to_nsq");
    await measure("nsq-to-nsq", "msgs/s", MESSAGES, () =>
      timedUntil(["nsq-to-nsq", `--topic=${tn}`, `--nsqd-tcp-address=${addr}`, `--destination-nsqd-tcp-address=${otherAddr}`], finished(tn, "nsq_to_nsq")),
    );
  }
  const worst = await rdyWorstWait();

  console.log(`to-nsq/tail: ${fmt(LINES)} lines × ${SIZE} B (tail --max-in-flight=${MIF}); other tools: ${fmt(MESSAGES)} messages × ${SIZE} B; runs: ${RUNS}`);
  for (const [name, { unit, runs }] of results) {
    const best = runs.reduce((a, b) => (b.rate > a.rate ? b : a));
    console.log(
      `${name}: ${fmt(best.rate)} ${unit}  (runs: ${runs.map((r) => fmt(r.rate)).join(", ")}; ` +
        `best run: ${name} used ${best.cpu.toFixed(2)} s CPU, nsqd ${best.nsqdCpu.toFixed(2)} s)`,
    );
  }
  console.log(`Consumer, max-in-flight 1 on two nsqd, x and y on one, z on the other: worst wait ${worst.toFixed(0)} ms over ${ROUNDS} rounds`);
} finally {
  http.stop(true);
  for (const d of [nsqd, other]) {
    d.proc.kill("SIGTERM");
    await d.proc.exited;
    rmSync(d.dataPath, { recursive: true, force: true });
  }
  rmSync(dir, { recursive: true, force: true });
}
