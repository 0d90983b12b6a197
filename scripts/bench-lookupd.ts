/**
 * nsqlookupd's figures: how long a restarted lookupd takes to know every topic and channel again, and how
 * many `GET /lookup` it answers per second. Two nsqd register `--topics` topics × 2 channels with it; the
 * lookupd is killed (-9) and started again on the same ports; then `--concurrency` keep-alive clients ask
 * `/lookup` for random topics for `--seconds`. Every daemon is its own process (NSQ_BIN=dist/nsq for the
 * binary); the load runs here, on the same cores.
 *
 *   bun scripts/bench-lookupd.ts [--topics=1000] [--seconds=5] [--concurrency=16]
 */
import { rmSync } from "node:fs";
import { benchArgs, nsqCommand, spawnNsqd } from "./bench-lib.ts";

const { opt } = benchArgs();
const TOPICS = opt("topics", 1000);
const SECONDS = opt("seconds", 5);
const CONCURRENCY = opt("concurrency", 16);

const tcpPort = 40000 + Math.floor(Math.random() * 10000);
const httpPort = tcpPort + 1;
const base = `http://127.0.0.1:${httpPort}`;

function startLookupd() {
  return Bun.spawn(
    [...nsqCommand(), "lookupd", `--tcp-address=127.0.0.1:${tcpPort}`, `--http-address=127.0.0.1:${httpPort}`, "--log-level=warn"],
    { stdin: "ignore", stdout: "ignore", stderr: "inherit" },
  );
}

async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

/** Every topic listed, and its last one with both nsqd and both channels. */
async function complete(): Promise<boolean> {
  const topics = (await (await fetch(`${base}/topics`)).json()) as { topics: string[] };
  if (topics.topics.length < TOPICS) return false;
  const last = (await (await fetch(`${base}/lookup?topic=t${TOPICS - 1}`)).json()) as { channels: string[]; producers: unknown[] };
  return last.producers.length === 2 && last.channels.length === 2;
}

let lookupd = startLookupd();
const lookupdFlag = `--lookupd-tcp-address=127.0.0.1:${tcpPort}`;
const nsqds = [await spawnNsqd([lookupdFlag, "--broadcast-address=127.0.0.1"], { http: true }), await spawnNsqd([lookupdFlag, "--broadcast-address=127.0.0.1"], { http: true })];
try {
  await waitFor(async () => (await fetch(`${base}/ping`)).ok, "lookupd");
  for (const d of nsqds) {
    const http = `http://127.0.0.1:${d.httpPort}`;
    for (let i = 0; i < TOPICS; i++) {
      await fetch(`${http}/topic/create?topic=t${i}`, { method: "POST" });
      await fetch(`${http}/channel/create?topic=t${i}&channel=a`, { method: "POST" });
      await fetch(`${http}/channel/create?topic=t${i}&channel=b`, { method: "POST" });
    }
  }
  await waitFor(complete, "registrations");

  lookupd.kill("SIGKILL");
  await lookupd.exited;
  const restarted = performance.now();
  lookupd = startLookupd();
  await waitFor(async () => (await fetch(`${base}/ping`)).ok, "lookupd restart");
  const listening = performance.now();
  await waitFor(complete, "registrations after the restart");
  const known = performance.now();
  console.log(
    `lookupd restart: listening after ${(listening - restarted).toFixed(0)} ms, knows ${TOPICS} topics × 2 channels × 2 nsqd again ` +
      `${(known - restarted).toFixed(0)} ms after the restart (${(known - listening).toFixed(0)} ms after it listens)`,
  );

  const end = performance.now() + SECONDS * 1000;
  let requests = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const r = await fetch(`${base}/lookup?topic=t${Math.floor(Math.random() * TOPICS)}`);
        if (r.status !== 200) throw new Error(`/lookup: ${r.status}`);
        await r.arrayBuffer();
        requests++;
      }
    }),
  );
  const rate = requests / ((performance.now() - start) / 1000);
  console.log(`GET /lookup: ${Math.round(rate)} requests/s (${CONCURRENCY} keep-alive clients, ${TOPICS} topics, 2 producers each)`);
} finally {
  lookupd.kill("SIGKILL");
  for (const d of nsqds) {
    d.proc.kill("SIGKILL");
    await d.proc.exited;
    rmSync(d.dataPath, { recursive: true, force: true });
  }
}
