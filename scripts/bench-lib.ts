/** What the benchmark scripts share: their flags, the nsq command to spawn, and a spawned nsqd. */
import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** `--name=N` flags before an optional `--`; what follows `--` goes to nsqd. */
export function benchArgs(argv = process.argv.slice(2)) {
  const dash = argv.indexOf("--");
  const own = dash === -1 ? argv : argv.slice(0, dash);
  return {
    nsqdFlags: dash === -1 ? [] : argv.slice(dash + 1),
    opt(name: string, def: number): number {
      const a = own.find((x) => x.startsWith(`--${name}=`));
      return a ? Number(a.split("=")[1]) : def;
    },
  };
}

/** This checkout's CLI, or NSQ_BIN (e.g. dist/nsq) to measure the shipped binary. */
export const nsqCommand = (): string[] =>
  process.env.NSQ_BIN ? [process.env.NSQ_BIN] : [process.execPath, join(import.meta.dir, "../cli/nsq.ts")];

export const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);

/** A process's memory from /proc/<pid>/status in KiB: VmRSS, VmHWM (peak RSS), RssAnon, RssFile. */
export function memKiB(pid: number): { rss: number; hwm: number; anon: number; file: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
  return { rss: field("VmRSS"), hwm: field("VmHWM"), anon: field("RssAnon"), file: field("RssFile") };
}

/**
 * /proc/<pid>/stat's fields from field 3 (state) on: whatever follows the last ')', so a comm holding spaces
 * or parentheses does not shift them. Field N (numbered as in proc(5)) is at index N - 3.
 */
function statFields(pid: number): string[] {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  return s.slice(s.lastIndexOf(")") + 1).trim().split(/\s+/);
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (100 ticks a second). */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return (Number(f[14 - 3]) + Number(f[15 - 3])) / 100;
}

/** Minor page faults a process has taken so far: /proc/<pid>/stat's field 10 (minflt). */
export function minorFaults(pid: number): number {
  return Number(statFields(pid)[10 - 3]);
}

export interface BenchNsqd {
  proc: Subprocess<"ignore", "ignore", "pipe">;
  port: number;
  httpPort: number;
  dataPath: string;
}

/** nsqd as its own process on random loopback ports, once its TCP port accepts connections. */
export async function spawnNsqd(
  flags: string[],
  opts: { http?: boolean; command?: string[]; env?: Record<string, string> } = {},
): Promise<BenchNsqd> {
  const dataPath = mkdtempSync(join(tmpdir(), "nsq-bench-"));
  // below the kernel's ephemeral range (32768+), where the load's own client sockets would collide
  const port = 10000 + 2 * Math.floor(Math.random() * 10000);
  const httpPort = opts.http ? port + 1 : 0;
  const http = opts.http ? `--http-address=127.0.0.1:${httpPort}` : "--http-address=";
  const proc = Bun.spawn(
    [...(opts.command ?? nsqCommand()), "nsqd", `--tcp-address=127.0.0.1:${port}`, http, `--data-path=${dataPath}`, "--log-level=warn", ...flags],
    { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: { ...process.env, ...opts.env } },
  );
  for (let i = 0; i < 100; i++) {
    try {
      (await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } })).end();
      return { proc, port, httpPort, dataPath };
    } catch {
      await Bun.sleep(50);
    }
  }
  throw new Error(`nsqd did not start: ${await new Response(proc.stderr).text()}`);
}
