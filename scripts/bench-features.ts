/**
 * Consume throughput over TLS, snappy, deflate and TLS + snappy, relative to plain TCP. Each case gets a fresh
 * `dist/nsq nsqd` (NSQ_BIN to measure another build) holding `--messages` messages of `--size` bytes (published
 * over HTTP beforehand), which one consumer of this checkout's client library drains with max-in-flight 2500,
 * negotiating the case's features. Cases run interleaved for `--rounds`; the table shows each case's median.
 *
 *   npm run build && bun scripts/bench-features.ts [--messages=200000] [--size=200] [--rounds=3]
 *
 * "nsqd µs/msg" is nsqd's CPU time (user + system) per message drained: the server's cost of each feature,
 * which the client's share (the rest of the wall time, in this process) does not blur.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Consumer, type ConsumerOptions } from "../src/core/client/index.ts";
import { createLogger } from "../src/core/log.ts";
import { encodeMpubBody } from "../src/core/protocol/mpub.ts";
import { writeCerts } from "../test/helpers/certs.ts";
import { benchArgs, cpuSeconds, spawnNsqd } from "./bench-lib.ts";

const { opt } = benchArgs();
const MESSAGES = opt("messages", 200_000);
const SIZE = opt("size", 200);
const ROUNDS = opt("rounds", 3);
const BIN = process.env.NSQ_BIN ?? join(import.meta.dir, "../dist/nsq");
if (!existsSync(BIN)) {
  console.error(`${BIN} not found: run \`npm run build\` first (or set NSQ_BIN)`);
  process.exit(1);
}

const certDir = mkdtempSync(join(tmpdir(), "nsq-bench-certs-"));
const certs = writeCerts(certDir);
const tls = { ca: certs.read(certs.caFile) };

const CASES: [string, ConsumerOptions][] = [
  ["plain", {}],
  ["tls", { tlsV1: true, tls }],
  ["snappy", { snappy: true }],
  ["deflate", { deflate: true }],
  ["tls+snappy", { tlsV1: true, tls, snappy: true }],
];

/** Message bodies: printable and somewhat repetitive, as typical JSON events are (compressible, not trivially). */
function body(i: number): Uint8Array {
  const text = `{"id":${i},"user":"u${i % 977}","event":"click","path":"/items/${i % 131}","ts":${1_700_000_000 + i}}`;
  return new TextEncoder().encode(text.padEnd(SIZE, " ").slice(0, SIZE));
}

async function runCase(features: ConsumerOptions): Promise<{ rate: number; nsqdUs: number }> {
  const d = await spawnNsqd(["--https-address=", `--tls-cert=${certs.serverCert}`, `--tls-key=${certs.serverKey}`, `--mem-queue-size=${MESSAGES + 1}`], {
    http: true,
    command: [BIN],
  });
  try {
    const http = `http://127.0.0.1:${d.httpPort}`;
    for (const path of ["/topic/create?topic=f", "/channel/create?topic=f&channel=ch"]) await fetch(http + path, { method: "POST" });
    for (let i = 0; i < MESSAGES; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, MESSAGES - i) }, (_, k) => body(i + k));
      const r = await fetch(`${http}/mpub?topic=f&binary=true`, { method: "POST", body: encodeMpubBody(batch) });
      if (!r.ok) throw new Error(`mpub: ${r.status} ${await r.text()}`);
    }
    const c = new Consumer("f", "ch", { ...features, maxInFlight: 2500, logger: createLogger({ level: "error" }) });
    let n = 0;
    const done = new Promise<void>((resolve) =>
      c.addHandler(() => {
        if (++n === MESSAGES) resolve();
      }),
    );
    const cpu0 = cpuSeconds(d.proc.pid);
    const t0 = performance.now();
    await c.connectToNsqd(`127.0.0.1:${d.port}`);
    await done;
    const seconds = (performance.now() - t0) / 1000;
    const nsqdUs = ((cpuSeconds(d.proc.pid) - cpu0) * 1e6) / MESSAGES;
    await c.stop();
    return { rate: MESSAGES / seconds, nsqdUs };
  } finally {
    d.proc.kill();
    await d.proc.exited;
    rmSync(d.dataPath, { recursive: true, force: true });
  }
}

const results = new Map<string, { rate: number; nsqdUs: number }[]>(CASES.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, features] of CASES) results.get(name)!.push(await runCase(features));
}
rmSync(certDir, { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const plain = median(results.get("plain")!.map((r) => r.rate));
console.log(`consume ${MESSAGES} × ${SIZE} B, one consumer, max-in-flight 2500, median of ${ROUNDS} (${BIN})`);
console.log(`${"case".padEnd(12)}${"msgs/s".padStart(10)}${"vs plain".padStart(10)}${"nsqd µs/msg".padStart(13)}`);
for (const [name] of CASES) {
  const rs = results.get(name)!;
  const rate = median(rs.map((r) => r.rate));
  const us = median(rs.map((r) => r.nsqdUs));
  console.log(`${name.padEnd(12)}${Math.round(rate).toString().padStart(10)}${`${((rate / plain) * 100).toFixed(0)}%`.padStart(10)}${us.toFixed(2).padStart(13)}`);
}
