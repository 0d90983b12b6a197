/**
 * `npm run bench`: nsqd's throughput, memory and latency as NSQ's bench.sh measures them, as one table next to
 * Go nsqd 1.3's figures on this machine and the targets of issue 9. Every case gets a fresh `dist/nsq nsqd`
 * (NSQ_BIN to measure another build) whose topic and channel are created over HTTP before the load starts;
 * the load is `nsq bench writer|reader|latency`, spawned from the same binary, 200-byte messages. NSQD_BIN
 * runs another build's nsqd under this build's load (a build from before `nsq bench` existed, for instance).
 *
 *   bun scripts/bench.ts [--seconds=5] [--workers=2] [--load-procs=1] [-- extra nsqd flags…]
 *
 * The CPU columns say which side was busy: nsqd's share of one core over the case, and the load tool's
 * (user + system over its whole life, start-up included). A load tool well below 100% was not the bottleneck;
 * `--load-procs=2` spreads each writer's and reader's connections over two processes to check it another way.
 * The faults column is nsqd's minor page faults over the case per message of its row: each costs ~12 µs on the
 * Firecracker VM this was tuned on (~0.2 µs on ordinary hardware), so they explain much of nsqd's speed there.
 */
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseDuration } from "../src/core/duration.ts";
import { benchArgs, cpuSeconds, memKiB, minorFaults, spawnNsqd, type BenchNsqd } from "./bench-lib.ts";

const { opt, nsqdFlags } = benchArgs();
const SECONDS = opt("seconds", 5);
/** Connections per writer and reader: Go's GOMAXPROCS on this machine. */
const WORKERS = opt("workers", 2);
/** Processes the writer's and reader's workers are spread over, to show the load tool is not the limit. */
const PROCS = opt("load-procs", 1);
const BIN = process.env.NSQ_BIN ?? join(import.meta.dir, "../dist/nsq");
const NSQD_BIN = process.env.NSQD_BIN ?? BIN;
if (!existsSync(BIN)) {
  console.error(`${BIN} not found: run \`npm run build\` first (or set NSQ_BIN)`);
  process.exit(1);
}
const TOPIC = "sub_bench";
const CHANNEL = "ch";

interface Target {
  op: "≥" | "≤";
  value: number;
}
interface Row {
  name: string;
  value: number;
  unit: "msgs/s" | "ms" | "MiB";
  go?: number;
  target?: Target;
  nsqdCpu?: number;
  /** nsqd's minor page faults over the case, per message of this row. */
  faultsPerMsg?: number;
  loadCpu?: number;
}
const rows: Row[] = [];
const memRows: { name: string; idle: Mem; peak: Mem; hwm: number }[] = [];

interface Mem {
  anon: number;
  file: number;
}

/** A POST, retried for a while: nsqd's HTTP listener may come up just after its TCP one. */
async function post(url: string): Promise<Response> {
  for (let i = 0; ; i++) {
    try {
      return await fetch(url, { method: "POST" });
    } catch (e) {
      if (i === 50) throw e;
      await Bun.sleep(50);
    }
  }
}

/** A fresh nsqd with the topic and channel created, its idle memory, and a sampler for its peaks. */
async function startNsqd(flags: string[], topic = TOPIC) {
  const d: BenchNsqd = await spawnNsqd([...flags, ...nsqdFlags], { http: true, command: [NSQD_BIN] });
  const http = `http://127.0.0.1:${d.httpPort}`;
  for (const path of [`/topic/create?topic=${topic}`, `/channel/create?topic=${topic}&channel=${CHANNEL}`]) {
    const r = await post(http + path);
    if (!r.ok) throw new Error(`POST ${path}: ${r.status} ${await r.text()}`);
  }
  await Bun.sleep(1000);
  const pid = d.proc.pid;
  const m = memKiB(pid);
  const idle = { anon: m.anon, file: m.file };
  const peak = { ...idle };
  const sample = () => {
    const s = memKiB(pid);
    peak.anon = Math.max(peak.anon, s.anon);
    peak.file = Math.max(peak.file, s.file);
  };
  const sampler = setInterval(sample, 100);
  return {
    address: `127.0.0.1:${d.port}`,
    cpu: () => cpuSeconds(pid),
    faults: () => minorFaults(pid),
    /** The channel's depth: what a reader has left to drain. */
    async depth(): Promise<number> {
      const stats = (await (await fetch(`${http}/stats?format=json&topic=${topic}&channel=${CHANNEL}`)).json()) as {
        topics: { channels: { depth: number }[] }[];
      };
      return stats.topics[0]?.channels[0]?.depth ?? 0;
    },
    /** Records the memory row (when named) and stops nsqd. */
    async stop(memName?: string): Promise<void> {
      clearInterval(sampler);
      sample();
      if (memName) memRows.push({ name: memName, idle, peak, hwm: memKiB(pid).hwm });
      d.proc.kill("SIGKILL");
      await d.proc.exited;
      rmSync(d.dataPath, { recursive: true, force: true });
    },
  };
}
type Nsqd = Awaited<ReturnType<typeof startNsqd>>;

interface ToolRun {
  line: string;
  opsPerSec: number;
  /** Messages the run stands for (ops/s × duration) and its duration in seconds. */
  count: number;
  seconds: number;
  /** The tool's CPU seconds over its wall seconds; with several processes, the busiest one's. */
  cpuShare: number;
}

/** `nsq bench <tool> …`, its result line from stderr, and how much CPU it used. */
async function tool(args: string[]): Promise<ToolRun> {
  const started = performance.now();
  const p = Bun.spawn([BIN, "bench", ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  const wall = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`nsq bench ${args.join(" ")} exited ${code}:\n${err}`);
  const line = err.trim().split("\n").at(-1)!;
  const u = p.resourceUsage();
  const cpu = u ? Number(u.cpuTime.user + u.cpuTime.system) / 1e6 : NaN;
  const m = /duration: (\S+) - [\d.]+mb\/s - ([\d.]+|\+Inf|NaN)ops\/s/.exec(line);
  const seconds = m ? parseDuration(m[1]!) / 1000 : NaN;
  const opsPerSec = m ? Number(m[2]) : NaN;
  return { line, opsPerSec, count: Math.round(opsPerSec * seconds), seconds, cpuShare: cpu / wall };
}

/**
 * A writer or reader as `--load-procs` processes sharing the workers (and a reader's `--count`): the rate is
 * all their messages over the longest run.
 */
async function load(args: string[], count = 0): Promise<ToolRun> {
  if (PROCS === 1) return tool([...args, `--workers=${WORKERS}`, ...(count ? [`--count=${count}`] : [])]);
  const runs = await Promise.all(
    Array.from({ length: PROCS }, (_, i) => {
      const workers = Math.floor(WORKERS / PROCS) + (i < WORKERS % PROCS ? 1 : 0);
      return tool([...args, `--workers=${workers}`, ...(count ? [`--count=${Math.ceil(count / PROCS)}`] : [])]);
    }),
  );
  const total = runs.reduce((n, r) => n + r.count, 0);
  const seconds = Math.max(...runs.map((r) => r.seconds));
  return {
    line: runs.map((r) => r.line.replace(/^.*duration: /, "duration: ")).join(" | "),
    opsPerSec: total / seconds,
    count: total,
    seconds,
    cpuShare: Math.max(...runs.map((r) => r.cpuShare)),
  };
}

const runfor = `--runfor=${SECONDS}s`;
const at = (d: Nsqd) => `--nsqd-tcp-address=${d.address}`;
const writer = (d: Nsqd, ...extra: string[]) => load(["writer", at(d), `--topic=${TOPIC}`, runfor, ...extra]);
const reader = (d: Nsqd, count = 0) => load(["reader", at(d), `--topic=${TOPIC}`, `--channel=${CHANNEL}`, runfor], count);
const atLeast = (value: number): Target => ({ op: "≥", value });

/** Runs `load` and adds nsqd's share of one core over it and the minor page faults nsqd took meanwhile. */
async function measured<T>(d: Nsqd, load: () => Promise<T>): Promise<T & { nsqdCpu: number; nsqdFaults: number }> {
  const cpu0 = d.cpu();
  const faults0 = d.faults();
  const t0 = performance.now();
  const r = await load();
  const nsqdCpu = (d.cpu() - cpu0) / ((performance.now() - t0) / 1000);
  return { ...r, nsqdCpu, nsqdFaults: d.faults() - faults0 };
}

/** Faults per message; NaN when the row has no messages to divide by. */
const perMsg = (faults: number, messages: number) => (messages > 0 ? faults / messages : NaN);

/**
 * A msgs/s row from a writer's or reader's run, with nsqd's faults over it per message of the run; logs its
 * result line(s) on stderr as it goes.
 */
function rate(name: string, run: ToolRun, go: number, target: Target, nsqdCpu?: number, nsqdFaults?: number): void {
  console.error(`  ${name.padEnd(58)} ${run.line.replace(/^\[\w+\] [\d/]+ [\d:]+ /, "")}`);
  const faultsPerMsg = nsqdFaults === undefined ? undefined : perMsg(nsqdFaults, run.count);
  rows.push({ name, value: run.opsPerSec, unit: "msgs/s", go, target, nsqdCpu, faultsPerMsg, loadCpu: run.cpuShare });
}

/** A writer, then a reader draining the backlog it left (stopping early when drained), on one nsqd. */
async function writerThenReader(label: string, flags: string[], go: [number, number], targets: [Target, Target]): Promise<void> {
  const d = await startNsqd(flags);
  try {
    const w = await measured(d, () => writer(d));
    rate(`${label}: writer, MPUB 200`, w, go[0], targets[0], w.nsqdCpu, w.nsqdFaults);
    const backlog = await d.depth();
    const r = await measured(d, () => reader(d, backlog));
    rate(`${label}: reader draining, ${WORKERS} conns RDY 2500`, r, go[1], targets[1], r.nsqdCpu, r.nsqdFaults);
  } finally {
    await d.stop(`${label}: writer then reader`);
  }
}

async function pubRoundTrips(): Promise<void> {
  const d = await startNsqd([]);
  try {
    const w = await measured(d, () => writer(d, "--pub"));
    rate(`defaults: PUB, one per round trip, ${WORKERS} conns`, w, 14_000, atLeast(14_000), w.nsqdCpu, w.nsqdFaults);
  } finally {
    await d.stop();
  }
}

async function writerAndReader(): Promise<void> {
  const d = await startNsqd([]);
  try {
    const both = await measured(d, async () => {
      const [w, r] = await Promise.all([writer(d), reader(d)]);
      return { w, r };
    });
    rate("defaults: writer + reader at once, in", both.w, 237_000, atLeast(350_000), both.nsqdCpu, both.nsqdFaults);
    rate("defaults: writer + reader at once, out", both.r, 234_000, atLeast(350_000));
  } finally {
    await d.stop("defaults: writer + reader at once");
  }
}

async function latency(label: string, extra: string[]): Promise<void> {
  const topic = "bench_latency";
  const d = await startNsqd([], topic);
  try {
    const args = ["latency", at(d), `--topic=${topic}`, `--channel=${CHANNEL}`, runfor, "--rate=10000", ...extra];
    const r = await measured(d, () => tool(args));
    const name = `latency p99 at 10k msgs/s, ${label}`;
    console.error(`  ${name.padEnd(58)} ${r.line.replace(/^\[\w+\] [\d/]+ [\d:]+ /, "")}`);
    const p99 = /p99: (\S+)/.exec(r.line)?.[1];
    const value = p99 === undefined || p99 === "n/a" ? NaN : parseDuration(p99);
    const sent = Number(/sent: (\d+)/.exec(r.line)?.[1] ?? NaN);
    const faultsPerMsg = perMsg(r.nsqdFaults, sent);
    rows.push({ name, value, unit: "ms", target: { op: "≤", value: 2 }, nsqdCpu: r.nsqdCpu, faultsPerMsg, loadCpu: r.cpuShare });
  } finally {
    await d.stop();
  }
}

const extra = nsqdFlags.length ? `, nsqd ${nsqdFlags.join(" ")}` : "";
console.error(`${BIN}: ${SECONDS} s runs, 200-byte messages, ${WORKERS} connections in ${PROCS} process(es)${extra}`);
await writerThenReader("defaults", [], [202_000, 192_000], [atLeast(700_000), atLeast(300_000)]);
await pubRoundTrips();
const bigQueue = "--mem-queue-size=1000000";
await writerThenReader(bigQueue, [bigQueue], [339_000, 213_000], [atLeast(500_000), atLeast(300_000)]);
await writerAndReader();
await latency("client defaults", []);
await latency("output_buffer_size=-1", ["--output-buffer-size=-1"]);

const mib = (kib: number) => kib / 1024;
for (const m of memRows) {
  const go = m.name.startsWith("defaults: writer then") ? 23 : m.name.startsWith("defaults: writer +") ? 27 : undefined;
  // Issue 9's ≤ 64 MiB is for the default-flags loads: with --mem-queue-size=1000000 the memory queue itself
  // holds ~250 MB by design, so that row has no target.
  const target: Target | undefined = m.name.startsWith(bigQueue) ? undefined : { op: "≤", value: 64 };
  rows.push({ name: `peak RSS (VmHWM), ${m.name}`, value: mib(m.hwm), unit: "MiB", go, target });
}
const idleAnon = Math.max(...memRows.map((m) => m.idle.anon));
rows.push({ name: "anon RSS idle (largest of the runs)", value: mib(idleAnon), unit: "MiB", target: { op: "≤", value: 8 } });

// The table.
const num = (v: number, unit: Row["unit"]) =>
  Number.isNaN(v) ? "n/a" : unit === "msgs/s" ? Math.round(v).toLocaleString("en-US") : v.toFixed(unit === "ms" ? 2 : 1);
const pct = (v?: number) => (v === undefined || Number.isNaN(v) ? "" : `${Math.round(v * 100)}%`);
const faults = (v?: number) => (v === undefined ? "" : Number.isNaN(v) ? "n/a" : v.toFixed(2));
const met = (r: Row) => {
  if (r.target === undefined || Number.isNaN(r.value)) return "";
  return (r.target.op === "≥" ? r.value >= r.target.value : r.value <= r.target.value) ? "yes" : "NO";
};
const table = [
  ["case", "ours", "Go 1.3", "target", "met", "nsqd CPU", "nsqd faults/msg", "load CPU"],
  ...rows.map((r) => [
    r.name,
    `${num(r.value, r.unit)} ${r.unit}`,
    r.go === undefined ? "" : num(r.go, r.unit),
    r.target ? `${r.target.op} ${num(r.target.value, r.unit)}` : "",
    met(r),
    pct(r.nsqdCpu),
    faults(r.faultsPerMsg),
    pct(r.loadCpu),
  ]),
];
const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
const fmtRow = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
console.log();
console.log(fmtRow(table[0]!));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const row of table.slice(1)) console.log(fmtRow(row));

console.log();
const memTable = [
  ["nsqd memory, MiB", "idle anon", "idle file", "peak anon", "peak file", "VmHWM"],
  ...memRows.map((m) => [m.name, ...[m.idle.anon, m.idle.file, m.peak.anon, m.peak.file, m.hwm].map((k) => mib(k).toFixed(1))]),
];
const memWidths = memTable[0]!.map((_, i) => Math.max(...memTable.map((row) => row[i]!.length)));
for (const [i, row] of memTable.entries()) {
  console.log(row.map((c, j) => (j === 0 ? c.padEnd(memWidths[j]!) : c.padStart(memWidths[j]!))).join("  "));
  if (i === 0) console.log(memWidths.map((w) => "-".repeat(w)).join("  "));
}
console.log();
console.log("faults/msg: nsqd's minor page faults per message during the case (each costs ~12 µs on the Firecracker VM this was tuned on)");
