/**
 * nsqd's HTTP publish throughput: `POST /pub` (one message per request) and `POST /mpub` (200 messages of
 * 200 bytes per request, text and binary), from concurrent keep-alive clients, plus the cost of
 * `GET /stats?format=json&include_clients=false` as nsqadmin and nsq_stat poll it.
 * nsqd runs as its own process (spawned from this checkout); the load runs here, on the same cores.
 *
 *   bun scripts/bench-http.ts [--seconds=5] [--concurrency=16] [--size=200] [--batch=200] [-- nsqd flags…]
 */
import { rmSync } from "node:fs";
import { encodeMpubBody } from "../src/core/protocol/mpub.ts";
import { benchArgs, rssKiB, spawnNsqd } from "./bench-lib.ts";

const { opt, nsqdFlags } = benchArgs();
const SECONDS = opt("seconds", 5);
const CONCURRENCY = opt("concurrency", 16);
const SIZE = opt("size", 200);
const BATCH = opt("batch", 200);

async function startNsqd() {
  const d = await spawnNsqd(nsqdFlags, { http: true });
  return { proc: d.proc, base: `http://127.0.0.1:${d.httpPort}`, dataPath: d.dataPath };
}

/** `CONCURRENCY` request loops for `seconds`; returns messages per second. */
async function load(url: string, body: Uint8Array | string, perRequest: number, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000;
  let requests = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        const r = await fetch(url, { method: "POST", body });
        if (r.status !== 200) throw new Error(`${url}: ${r.status} ${await r.text()}`);
        await r.arrayBuffer();
        requests++;
      }
    }),
  );
  return (requests * perRequest) / ((performance.now() - start) / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

const { proc, base, dataPath } = await startNsqd();
try {
  const msg = new Uint8Array(SIZE).fill(97);
  const text = Array(BATCH).fill("a".repeat(SIZE)).join("\n");
  const binary = encodeMpubBody(Array(BATCH).fill(msg));
  console.log(`nsqd HTTP, ${SIZE}-byte messages, ${CONCURRENCY} concurrent keep-alive requests, ${SECONDS}s each, client and nsqd on the same ${navigator.hardwareConcurrency} cores`);
  console.log(`nsqd RSS idle: ${fmt(rssKiB(proc.pid) / 1024)} MiB`);

  await load(`${base}/pub?topic=warmup`, msg, 1, 1);
  const pub = await load(`${base}/pub?topic=bench_pub`, msg, 1, SECONDS);
  console.log(`POST /pub                  ${fmt(pub).padStart(10)} msgs/s  (${fmt(pub)} req/s)`);
  const mpub = await load(`${base}/mpub?topic=bench_mpub`, text, BATCH, SECONDS);
  console.log(`POST /mpub (text, ${BATCH}/req)  ${fmt(mpub).padStart(10)} msgs/s  (${fmt(mpub / BATCH)} req/s)`);
  const mpubBin = await load(`${base}/mpub?topic=bench_mpub_bin&binary=true`, binary, BATCH, SECONDS);
  console.log(`POST /mpub (binary, ${BATCH}/req)${fmt(mpubBin).padStart(10)} msgs/s  (${fmt(mpubBin / BATCH)} req/s)`);
  console.log(`nsqd RSS after: ${fmt(rssKiB(proc.pid) / 1024)} MiB`);

  // a broker with 200 topics × 3 channels, polled the way nsqadmin and nsq_stat poll it
  for (let t = 0; t < 200; t++) {
    await fetch(`${base}/topic/create?topic=s${t}`, { method: "POST" });
    for (let c = 0; c < 3; c++) await fetch(`${base}/channel/create?topic=s${t}&channel=c${c}`, { method: "POST" });
  }
  for (let i = 0; i < 50; i++) await (await fetch(`${base}/stats?format=json`)).arrayBuffer();
  for (const q of ["format=json&include_clients=false", "format=json", "format=json&include_clients=false&include_mem=false"]) {
    const n = 200;
    const t0 = performance.now();
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += (await (await fetch(`${base}/stats?${q}`)).arrayBuffer()).byteLength;
    const ms = (performance.now() - t0) / n;
    console.log(`GET /stats?${q} (200 topics × 3 channels): ${ms.toFixed(2)} ms/request, ${fmt(bytes / n)} bytes`);
  }
} finally {
  proc.kill();
  await proc.exited;
  rmSync(dataPath, { recursive: true, force: true });
}
