/**
 * Throughput of the tools as a user runs them: `nsq to-nsq < file` (lines/s, from a file of N lines)
 * and `nsq tail -n N > /dev/null` (messages/s, reading back what to-nsq published). nsqd runs as its own
 * process; every program is spawned from this checkout (or NSQ_BIN, e.g. dist/nsq).
 *
 *   bun scripts/bench-tools.ts [--lines=1000000] [--size=100] [--max-in-flight=2500] [--runs=3]
 *
 * Each figure includes the program's start-up (about 0.1 s under `bun cli/nsq.ts`); the best of
 * `--runs` is reported, with the others alongside.
 */
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Consumer } from "../src/core/client/index.ts";
import { createLogger } from "../src/core/log.ts";
import { benchArgs, nsqCommand } from "./bench-lib.ts";

const { opt } = benchArgs();
const LINES = opt("lines", 1_000_000);
const SIZE = opt("size", 100);
const MIF = opt("max-in-flight", 2500);
const RUNS = opt("runs", 3);

const bin = nsqCommand();
const dir = mkdtempSync(join(tmpdir(), "nsq-bench-tools-"));
const port = 20000 + Math.floor(Math.random() * 20000);
const addr = `127.0.0.1:${port}`;

// Lines of SIZE bytes (a counter padded with x), newline-terminated.
const file = join(dir, "input.txt");
{
  const parts: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const n = String(i);
    parts.push(n + "x".repeat(Math.max(0, SIZE - n.length)));
  }
  writeFileSync(file, `${parts.join("\n")}\n`);
}

const nsqd = Bun.spawn(
  [...bin, "nsqd", `--tcp-address=${addr}`, "--http-address=", `--data-path=${join(dir, "data")}`, `--mem-queue-size=${LINES * 2}`],
  { stdout: "ignore", stderr: "ignore" },
);
for (let i = 0; ; i++) {
  try {
    (await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } })).end();
    break;
  } catch {
    if (i > 100) throw new Error("nsqd did not start");
    await Bun.sleep(50);
  }
}

/** Wall seconds of one run, and the CPU seconds the program itself used (user + system). */
async function timed(args: string[], stdin: "ignore" | number): Promise<{ wall: number; cpu: number }> {
  const started = performance.now();
  const p = Bun.spawn([...bin, ...args], { stdin, stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${args.join(" ")} exited ${code}:\n${err}`);
  const wall = (performance.now() - started) / 1000;
  const u = p.resourceUsage();
  const cpu = u ? Number(u.cpuTime.user + u.cpuTime.system) / 1e6 : NaN;
  return { wall, cpu };
}

/** nsqd's CPU seconds so far, to show which side of a run was the busy one. */
function nsqdCpu(): number {
  const f = readFileSync(`/proc/${nsqd.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Creates a durable channel so published messages wait in it for tail. */
async function createChannel(topic: string, channel: string): Promise<void> {
  const c = new Consumer(topic, channel, { logger: createLogger({ level: "error" }), maxInFlight: 0 });
  c.addHandler(() => {});
  await c.connectToNsqd(addr);
  await c.stop();
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
type Run = { rate: number; cpu: number; nsqdCpu: number };
const toNsqRuns: Run[] = [];
const tailRuns: Run[] = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const topic = `bench_tools_${run}`;
    await createChannel(topic, "bench");
    const fd = openSync(file, "r");
    let before = nsqdCpu();
    const pub = await timed(["to-nsq", `--topic=${topic}`, `--nsqd-tcp-address=${addr}`], fd);
    toNsqRuns.push({ rate: LINES / pub.wall, cpu: pub.cpu, nsqdCpu: nsqdCpu() - before });
    before = nsqdCpu();
    const t = await timed(
      ["tail", `--topic=${topic}`, "--channel=bench", `-n`, String(LINES), `--max-in-flight=${MIF}`, `--nsqd-tcp-address=${addr}`],
      "ignore",
    );
    tailRuns.push({ rate: LINES / t.wall, cpu: t.cpu, nsqdCpu: nsqdCpu() - before });
  }
  const report = (name: string, unit: string, runs: Run[]) => {
    const best = runs.reduce((a, b) => (b.rate > a.rate ? b : a));
    console.log(
      `${name}: ${fmt(best.rate)} ${unit}  (runs: ${runs.map((r) => fmt(r.rate)).join(", ")}; ` +
        `best run: ${name} used ${best.cpu.toFixed(2)} s CPU, nsqd ${best.nsqdCpu.toFixed(2)} s)`,
    );
  };
  console.log(`lines: ${fmt(LINES)} × ${SIZE} B, runs: ${RUNS}, tail --max-in-flight=${MIF}`);
  report("to-nsq", "lines/s", toNsqRuns);
  report("tail", "msgs/s", tailRuns);
} finally {
  nsqd.kill("SIGTERM");
  await nsqd.exited;
  rmSync(dir, { recursive: true, force: true });
}
