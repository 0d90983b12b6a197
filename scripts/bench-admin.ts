/**
 * nsqadmin's page times over a cluster of 2 nsqd × `--topics` topics × 3 channels, registered with one
 * lookupd: the median server time of `--requests` GETs of each page after one cold request (each page
 * queries lookupd and every nsqd). Every daemon is its own process (NSQ_BIN=dist/nsq for the binary).
 *
 *   bun scripts/bench-admin.ts [--topics=50] [--requests=20]
 */
import { rmSync } from "node:fs";
import { benchArgs, nsqCommand, spawnNsqd } from "./bench-lib.ts";

const { opt } = benchArgs();
const TOPICS = opt("topics", 50);
const REQUESTS = opt("requests", 20);
// odd ports, so they never meet bench-lib's nsqd (even TCP port, HTTP beside it)
const base = 10001 + 2 * Math.floor(Math.random() * 9000);
const [lookupdTcp, lookupdHttp, adminHttp] = [base, base + 2, base + 4];

async function ready(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await Bun.sleep(25);
  }
  throw new Error(`${url} did not answer`);
}

const spawn = (args: string[]) => Bun.spawn([...nsqCommand(), ...args], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
const lookupd = spawn(["lookupd", `--tcp-address=127.0.0.1:${lookupdTcp}`, `--http-address=127.0.0.1:${lookupdHttp}`]);
const flags = [`--lookupd-tcp-address=127.0.0.1:${lookupdTcp}`, "--broadcast-address=127.0.0.1"];
const nsqds = [await spawnNsqd(flags, { http: true }), await spawnNsqd(flags, { http: true })];
const admin = spawn(["admin", `--http-address=127.0.0.1:${adminHttp}`, `--lookupd-http-address=127.0.0.1:${lookupdHttp}`]);
try {
  for (const d of nsqds) {
    const post = (path: string) => fetch(`http://127.0.0.1:${d.httpPort}${path}`, { method: "POST" });
    for (let t = 0; t < TOPICS; t++) {
      await post(`/topic/create?topic=t${t}`);
      for (let c = 0; c < 3; c++) await post(`/channel/create?topic=t${t}&channel=c${c}`);
    }
  }
  await ready(`http://127.0.0.1:${adminHttp}/ping`);
  for (;;) {
    const r = (await (await fetch(`http://127.0.0.1:${lookupdHttp}/lookup?topic=t${TOPICS - 1}`)).json()) as { producers: unknown[] };
    if (r.producers.length === 2) break;
    await Bun.sleep(25);
  }
  const pages = ["/", `/topics/t0`, `/topics/t0/c0`, `/nodes/127.0.0.1:${nsqds[0]!.httpPort}`, "/nodes", "/lookup"];
  const rows: string[] = [];
  for (const page of pages) {
    const url = `http://127.0.0.1:${adminHttp}${page}`;
    await (await fetch(url)).text();
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const t0 = performance.now();
      const res = await fetch(url);
      await res.text();
      if (!res.ok) throw new Error(`${page}: ${res.status}`);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    rows.push(`${page.padEnd(28)} ${times[Math.floor(times.length / 2)]!.toFixed(1).padStart(7)} ms`);
  }
  console.log(`nsqadmin (${nsqCommand().join(" ")}) over 2 nsqd × ${TOPICS} topics × 3 channels, median of ${REQUESTS}:`);
  for (const r of rows) console.log(`  ${r}`);
} finally {
  for (const p of [admin, lookupd]) p.kill("SIGTERM");
  for (const d of nsqds) {
    d.proc.kill("SIGTERM");
    await d.proc.exited;
    rmSync(d.dataPath, { recursive: true, force: true });
  }
}
