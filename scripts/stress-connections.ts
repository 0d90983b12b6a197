/**
 * nsqd under many connections and misbehaving consumers, on this machine's 2 cores; prints its figures:
 * - `--conns` connections at once (half consumers of one channel with RDY 1, half producers publishing), the
 *   RSS each costs, and that every published message is delivered once to the consumers;
 * - `--stalled` consumers with RDY 1000 that never read, while a well-behaved consumer drains a burst:
 *   nsqd's RSS stays bounded and the good consumer gets everything;
 * - a burst of `--burst` messages far beyond `--mem-queue-size`: it goes to the disk queue, not to RSS;
 * - nsqd under `ulimit -n --fd-limit` offered `--conns` connections: how many it keeps, how fast and at what
 *   CPU it refuses the rest, that the connections it kept still publish and consume, and how soon it
 *   accepts again once some close.
 * nsqd runs as its own process (NSQ_BIN=dist/nsq for the binary); file-descriptor limits are raised for both
 * (but for the last phase's nsqd).
 *
 *   bun scripts/stress-connections.ts [--conns=5000] [--stalled=200] [--burst=500000] [--fd-limit=1024]
 */
import type { Socket } from "bun";
import { readFileSync, rmSync } from "node:fs";
import { Command } from "../src/core/protocol/commands.ts";
import { FrameDecoder, FrameType, MAGIC_V2 } from "../src/core/protocol/frame.ts";
import { benchArgs, cpuSeconds, nsqCommand, spawnNsqd } from "./bench-lib.ts";

// Both processes need more descriptors than the usual 1024: run again under a raised limit.
if (process.env.NSQ_STRESS_ULIMIT === undefined) {
  const args = process.argv.slice(1).map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const p = Bun.spawn(["sh", "-c", `ulimit -n "$(ulimit -Hn)" && exec '${process.execPath}' ${args}`], {
    env: { ...process.env, NSQ_STRESS_ULIMIT: "1" },
    stdio: ["inherit", "inherit", "inherit"],
  });
  process.exit(await p.exited);
}

const { opt } = benchArgs();
const CONNS = opt("conns", 5000);
const STALLED = opt("stalled", 200);
const BURST = opt("burst", 500_000);
const FD_LIMIT = opt("fd-limit", 1024);
const MIB = 1024 * 1024;
/** What a stalled consumer may hold in flight (NSQ's contract: up to its RDY, until msg-timeout). */
const STALLED_RDY = 10;

const status = (pid: number, key: string) =>
  Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

interface Conn {
  socket: Socket<undefined>;
  received: number;
}

async function connect(port: number, onMessage?: (c: Conn, id: string) => void, opts: { read?: boolean } = {}): Promise<Conn> {
  const c = { received: 0 } as Conn;
  const decoder = new FrameDecoder((type, data) => {
    if (type !== FrameType.Message) return;
    c.received++;
    onMessage?.(c, new TextDecoder().decode(data.subarray(10, 26)));
  });
  c.socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { data: (_s, chunk) => void decoder.push(chunk), error() {} },
  });
  if (opts.read === false) c.socket.pause();
  c.socket.write(MAGIC_V2);
  return c;
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

const http = (port: number, path: string, body?: string) => fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", body });

type Nsqd = Awaited<ReturnType<typeof spawnNsqd>>;
const all: Conn[] = [];

/** Each phase gets a fresh nsqd, so one phase's heap does not show in the next one's RSS. */
async function phase(run: (d: Nsqd, pid: number) => Promise<void>, command?: string[]): Promise<void> {
  const d = await spawnNsqd(["--mem-queue-size=10000"], { http: true, command });
  try {
    await run(d, d.proc.pid);
  } finally {
    for (const c of all.splice(0)) c.socket.end();
    d.proc.kill("SIGTERM");
    await d.proc.exited;
    rmSync(d.dataPath, { recursive: true, force: true });
  }
}

const fin = (c: Conn, id: string) => c.socket.write(Command.fin(id));

await phase(async (d, pid) => {
  console.log(`nsq: ${nsqCommand().join(" ")}; nsqd idle RSS ${status(pid, "VmRSS").toFixed(1)} MiB (anon ${status(pid, "RssAnon").toFixed(1)})`);
  // 1. many connections: consumers and producers at once
  await http(d.httpPort, "/topic/create?topic=many");
  await http(d.httpPort, "/channel/create?topic=many&channel=c");
  const before = status(pid, "VmRSS");
  const consumers: Conn[] = [];
  for (let i = 0; i < CONNS / 2; i++) {
    const c = await connect(d.port, fin);
    c.socket.write(Buffer.concat([Command.sub("many", "c"), Command.rdy(1)]));
    consumers.push(c);
  }
  const producers: Conn[] = [];
  for (let i = 0; i < CONNS / 2; i++) producers.push(await connect(d.port));
  all.push(...consumers, ...producers);
  await Bun.sleep(500);
  const held = status(pid, "VmRSS");
  console.log(
    `${CONNS} connections held: nsqd RSS ${before.toFixed(1)} -> ${held.toFixed(1)} MiB, ` +
      `${(((held - before) * MIB) / CONNS / 1024).toFixed(1)} KiB per connection`,
  );
  const perProducer = 20;
  const t0 = performance.now();
  for (const p of producers) for (let j = 0; j < perProducer; j++) p.socket.write(Command.pub("many", "m"));
  const total = producers.length * perProducer;
  await waitFor(() => consumers.reduce((n, c) => n + c.received, 0) >= total, "every message delivered");
  const got = consumers.reduce((n, c) => n + c.received, 0);
  const busy = consumers.filter((c) => c.received > 0).length;
  console.log(
    `${total} PUBs from ${producers.length} producers delivered to ${busy} of ${consumers.length} consumers in ` +
      `${((performance.now() - t0) / 1000).toFixed(2)} s; received ${got} (duplicates ${got - total}); peak RSS ${status(pid, "VmHWM").toFixed(1)} MiB`,
  );
  for (const c of all.splice(0)) c.socket.end();
});

await phase(async (d, pid) => {
  // 2. stalled consumers cost bounded memory and delay nobody
  await http(d.httpPort, "/topic/create?topic=stall");
  await http(d.httpPort, "/channel/create?topic=stall&channel=c");
  for (let i = 0; i < STALLED; i++) {
    const c = await connect(d.port, undefined, { read: false });
    c.socket.write(Buffer.concat([Command.sub("stall", "c"), Command.rdy(STALLED_RDY)]));
    all.push(c);
  }
  const good = await connect(d.port, fin);
  good.socket.write(Buffer.concat([Command.sub("stall", "c"), Command.rdy(2500)]));
  all.push(good);
  const body = Array.from({ length: 200 }, () => "x".repeat(200)).join("\n");
  const n = 200_000;
  for (let i = 0; i < n / 200; i++) await http(d.httpPort, "/mpub?topic=stall", body);
  // the stalled ones hold up to their RDY each; everything else reaches the good consumer
  const t1 = performance.now();
  await waitFor(() => good.received >= n - STALLED * STALLED_RDY, "the good consumer's share");
  console.log(
    `${STALLED} stalled consumers (RDY ${STALLED_RDY}, never reading) + 1 good one over ${n} messages: the good one got ` +
      `${good.received} in ${((performance.now() - t1) / 1000).toFixed(1)} s after the last publish; ` +
      `nsqd RSS ${status(pid, "VmRSS").toFixed(1)} MiB (peak ${status(pid, "VmHWM").toFixed(1)})`,
  );
  for (const c of all.splice(0)) c.socket.end();
});

await phase(async (d, pid) => {
  // 3. a burst far beyond --mem-queue-size goes to disk, not to RSS
  await http(d.httpPort, "/topic/create?topic=burst");
  await http(d.httpPort, "/channel/create?topic=burst&channel=c");
  // a window of MPUBs in flight: Bun's write does not buffer, so each is sent when an earlier one is answered
  const mpub = Command.mpub("burst", Array.from({ length: 200 }, () => new Uint8Array(200).fill(98)));
  const batches = BURST / 200;
  let sent = 0;
  let acked = 0;
  let s!: Socket<undefined>;
  const decoder = new FrameDecoder((type) => {
    if (type !== FrameType.Response) return;
    acked++;
    if (sent < batches) {
      sent++;
      s.write(mpub);
    }
  });
  s = await Bun.connect({ hostname: "127.0.0.1", port: d.port, socket: { data: (_s, c) => void decoder.push(c) } });
  s.write(MAGIC_V2);
  for (; sent < Math.min(8, batches); sent++) s.write(mpub);
  await waitFor(() => acked >= batches, "the burst acknowledged");
  const depth = (await (await fetch(`http://127.0.0.1:${d.httpPort}/stats?format=json&topic=burst`)).json()) as {
    topics: { channels: { depth: number; backend_depth: number }[] }[];
  };
  const c = depth.topics[0]!.channels[0]!;
  console.log(
    `burst of ${BURST} x 200 B (${((BURST * 200) / MIB).toFixed(0)} MiB) with --mem-queue-size=10000: channel depth ${c.depth}, ` +
      `${c.backend_depth} on disk; nsqd RSS ${status(pid, "VmRSS").toFixed(1)} MiB (anon ${status(pid, "RssAnon").toFixed(1)}), peak ${status(pid, "VmHWM").toFixed(1)} MiB`,
  );
  s.end();
});

/** A connection that nsqd kept (its IDENTIFY answered), or how long nsqd took to close it. */
async function tryConnect(port: number, onMessage?: (c: Conn, id: string) => void): Promise<Conn | number> {
  const t0 = performance.now();
  let settle!: (kept: boolean) => void;
  const settled = new Promise<boolean>((r) => (settle = r));
  const c = { received: 0 } as Conn;
  const decoder = new FrameDecoder((type, data) => {
    if (type === FrameType.Response) settle(true);
    if (type !== FrameType.Message) return;
    c.received++;
    onMessage?.(c, new TextDecoder().decode(data.subarray(10, 26)));
  });
  try {
    c.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: { data: (_s, chunk) => void decoder.push(chunk), close: () => settle(false), error() {}, connectError: () => settle(false) },
    });
  } catch {
    return performance.now() - t0; // closed before the connect completed here
  }
  c.socket.write(Buffer.concat([MAGIC_V2, Command.identify({})]));
  return (await settled) ? c : performance.now() - t0;
}

await phase(
  async (d, pid) => {
    // 4. at the file descriptor limit: refuse new connections at once, keep serving the open ones
    let log = "";
    (async () => {
      for await (const chunk of d.proc.stderr) log += new TextDecoder().decode(chunk);
    })();
    const producer = (await tryConnect(d.port)) as Conn;
    const consumer = (await tryConnect(d.port, fin)) as Conn;
    consumer.socket.write(Buffer.concat([Command.sub("limit", "c"), Command.rdy(100)]));
    all.push(producer, consumer);
    const refusedMs: number[] = [];
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    for (let i = 0; i < CONNS; i++) {
      const r = await tryConnect(d.port);
      if (typeof r === "number") refusedMs.push(r);
      else all.push(r);
    }
    const cpu = cpuSeconds(pid) - cpu0;
    const wall = (performance.now() - t0) / 1000;
    const kept = all.length;
    refusedMs.sort((a, b) => a - b);
    const idle0 = cpuSeconds(pid);
    await Bun.sleep(1000);
    const idleCpu = cpuSeconds(pid) - idle0;
    const n = 1000;
    for (let i = 0; i < n; i++) producer.socket.write(Command.pub("limit", "m"));
    await waitFor(() => consumer.received >= n, "the kept consumer's messages");
    for (const c of all.splice(2, 100)) c.socket.end();
    const t1 = performance.now();
    let again: Conn | number = 0;
    while (typeof (again = await tryConnect(d.port)) === "number") await Bun.sleep(10);
    all.push(again);
    const errors = log.split("\n").filter((l) => l.includes("ERROR: TCP: refusing")).length;
    console.log(
      `nsqd under ulimit -n ${FD_LIMIT} offered ${CONNS} connections: kept ${kept}, refused ${refusedMs.length} ` +
        `(closed after p50 ${(refusedMs[refusedMs.length >> 1] ?? 0).toFixed(2)} ms, p99 ${(refusedMs[Math.floor(refusedMs.length * 0.99)] ?? 0).toFixed(2)} ms; ` +
        `${errors} ERROR lines); nsqd CPU ${((cpu / wall) * 100).toFixed(0)}% while offered them, ${(idleCpu * 100).toFixed(0)}% idle at the limit; ` +
        `${n} PUBs on a kept connection all consumed; accepting again ${(performance.now() - t1).toFixed(0)} ms after 100 closed`,
    );
  },
  ["sh", "-c", `ulimit -n ${FD_LIMIT} && exec "$@"`, "sh", ...nsqCommand()],
);
