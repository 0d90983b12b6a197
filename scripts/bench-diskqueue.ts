// Disk queue micro-benchmark: 1M records of 226 bytes (a 200-byte message body + the 26-byte header), nsqd's
// default sync settings. Usage: bun scripts/bench-diskqueue.ts [records] [recordSize] [bufferSize]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskQueue } from "../src/core/diskqueue/index.ts";

const records = Number(process.argv[2] ?? 1_000_000);
const size = Number(process.argv[3] ?? 226);
const bufferSize = process.argv[4] ? Number(process.argv[4]) : undefined;
const dir = mkdtempSync(join(tmpdir(), "nsq-bench-dq-"));
const open = () =>
  new DiskQueue({
    name: "bench", dataPath: dir, maxBytesPerFile: 104857600, minMsgSize: 26, maxMsgSize: 1048576 + 26,
    syncEvery: 2500, syncTimeout: 2000, bufferSize,
  });
const record = new Uint8Array(size).fill(97);
const rate = (n: number, ms: number) =>
  `${Math.round((n / ms) * 1000).toLocaleString("en")} records/s, ${((n * size) / ms / 1000).toFixed(0)} MB/s`;

try {
  let q = open();
  let t = performance.now();
  for (let i = 0; i < records; i++) q.put(record);
  q.flush();
  console.log(`put+flush  ${rate(records, performance.now() - t)}`);
  q.close();

  q = open(); // cold reader: segments come back through the page cache, not the write buffer
  t = performance.now();
  let n = 0;
  while (q.readNext() !== null) n++;
  console.log(`readNext   ${rate(n, performance.now() - t)}`);
  if (n !== records) throw new Error(`read ${n} of ${records}`);

  // a spilling channel: bursts of puts, each burst handed to the reader after the microtask flush
  const burst = 100;
  t = performance.now();
  for (let i = 0; i < records; i += burst) {
    for (let j = 0; j < burst; j++) q.put(record);
    await Promise.resolve();
    for (let j = 0; j < burst; j++) if (q.readNext() === null) throw new Error("lost a record");
  }
  console.log(`put+read   ${rate(records, performance.now() - t)} (bursts of ${burst}, one put and one read each)`);
  q.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
