/**
 * nsqd's garbage per command: one connection pipelines `--count` commands of a kind, `--per-write` to a
 * socket write, while nsqd (BUN_JSC_logGC=1) logs each collection with the bytes allocated since the one
 * before; their sum over the run, divided by the commands, is the garbage a command costs. Garbage is what
 * JSC's stop-the-world eden collections scale with, and those pauses are nsqd's latency tail.
 *
 *   bun scripts/bench-gc.ts [--count=300000] [--per-write=100]
 *
 * Kinds: NOP; PUB into a channel nobody consumes (the message is queued); PUB with a consumer that FINs each
 * message (queued, delivered, finished: the whole way of a message).
 */
import { rmSync } from "node:fs";
import { Command } from "../src/core/protocol/commands.ts";
import { FrameDecoder, FrameType, MAGIC_V2 } from "../src/core/protocol/frame.ts";
import { MSG_HEADER_LENGTH, MSG_ID_LENGTH } from "../src/core/protocol/message.ts";
import { benchArgs, spawnNsqd } from "./bench-lib.ts";

const { opt } = benchArgs();
const COUNT = opt("count", 300_000);
const PER_WRITE = opt("per-write", 100);

/** Bytes allocated by nsqd so far, from the `bytes allocated this cycle: N` of each collection it logged. */
let allocated = 0;
let logTail = "";
function readGcLog(chunk: Uint8Array): void {
  const text = logTail + new TextDecoder().decode(chunk);
  const lines = text.split("\n");
  logTail = lines.pop()!;
  for (const l of lines) {
    const m = /bytes allocated this cycle: (\d+)/.exec(l);
    if (m !== null) allocated += Number(m[1]);
  }
}

const d = await spawnNsqd([], { http: true, env: { BUN_JSC_logGC: "1" } });
void (async () => {
  for await (const chunk of d.proc.stderr as ReadableStream<Uint8Array>) readGcLog(chunk);
})();
const post = (path: string) => fetch(`http://127.0.0.1:${d.httpPort}${path}`, { method: "POST" });

/** A raw V2 connection: writes what it is given in order, counts OK responses, FINs messages if asked. */
async function connect(finMessages: boolean) {
  let oks = 0;
  let messages = 0;
  let backlog: Uint8Array[] = [];
  const fin = new Uint8Array(4 + MSG_ID_LENGTH + 1);
  fin.set(new TextEncoder().encode("FIN "));
  fin[fin.length - 1] = 10;
  const frames = new FrameDecoder((type, data) => {
    if (type === FrameType.Message && finMessages) {
      fin.set(data.subarray(MSG_HEADER_LENGTH - MSG_ID_LENGTH, MSG_HEADER_LENGTH), 4);
      send(fin.slice());
      messages++;
    } else if (type === FrameType.Response && data.length === 2) oks++;
  });
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port: d.port,
    socket: { data: (_s, chunk) => void frames.push(chunk), drain: () => flush() },
  });
  function flush(): void {
    while (backlog.length > 0) {
      const b = backlog[0]!;
      const n = socket.write(b);
      if (n === b.length) backlog.shift();
      else {
        backlog[0] = b.subarray(Math.max(0, n));
        return;
      }
    }
  }
  function send(b: Uint8Array): void {
    backlog.push(b);
    if (backlog.length === 1) flush();
  }
  send(MAGIC_V2);
  return { send, pending: () => backlog.length, oks: () => oks, messages: () => messages, end: () => socket.end() };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 6000) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

async function measure(name: string, command: Uint8Array, opts: { topic?: string; consume?: boolean } = {}): Promise<void> {
  let consumer: Awaited<ReturnType<typeof connect>> | null = null;
  if (opts.consume) {
    consumer = await connect(true);
    consumer.send(Command.sub(opts.topic!, "ch"));
    consumer.send(Command.rdy(2500));
    await until(() => consumer!.oks() >= 1, "SUB");
  }
  const c = await connect(false);
  const batch = new Uint8Array(command.length * PER_WRITE);
  for (let i = 0; i < PER_WRITE; i++) batch.set(command, i * command.length);
  const isPub = opts.topic !== undefined;
  // a first round so start-up garbage is not counted
  c.send(batch);
  await until(() => (isPub ? c.oks() >= PER_WRITE : c.pending() === 0), "the first round");
  const before = allocated;
  const t0 = performance.now();
  for (let sent = 0; sent < COUNT; sent += PER_WRITE) {
    c.send(batch);
    if (c.pending() > 64) await until(() => c.pending() < 16, "the socket to drain");
  }
  // responses come in order: a PUB's OK after NOPs means nsqd has read them all
  if (!isPub) c.send(Command.pub("gc_queued", new Uint8Array(1)));
  await until(() => c.oks() >= (isPub ? COUNT + PER_WRITE : 1), "every command handled");
  if (consumer !== null) await until(() => consumer!.messages() >= COUNT + PER_WRITE, "every message");
  const ms = performance.now() - t0;
  const bytes = allocated - before;
  console.log(`${name.padEnd(44)} ${(bytes / COUNT).toFixed(0).padStart(6)} B/command  (${(bytes / 2 ** 20).toFixed(0)} MiB over ${COUNT}, ${((COUNT / ms) * 1000).toFixed(0)}/s)`);
  c.end();
  consumer?.end();
}

const body = new Uint8Array(200).fill(97);
try {
  for (const t of ["gc_queued", "gc_consumed"]) {
    await post(`/topic/create?topic=${t}`);
    await post(`/channel/create?topic=${t}&channel=ch`);
  }
  console.log(`nsqd garbage per command, ${PER_WRITE} commands per write (whole eden cycles only: ±8 MiB over the run)`);
  await measure("NOP", Command.nop());
  await measure("PUB 200 B, queued (no consumer)", Command.pub("gc_queued", body), { topic: "gc_queued" });
  await measure("PUB 200 B, delivered and FINed", Command.pub("gc_consumed", body), { topic: "gc_consumed", consume: true });
} finally {
  d.proc.kill("SIGTERM");
  await d.proc.exited;
  rmSync(d.dataPath, { recursive: true, force: true });
}
