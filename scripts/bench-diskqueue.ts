// Disk queue micro-benchmark: 1M records of 226 bytes (a 200-byte message body + the 26-byte header) with
// nsqd's default sync settings (syncEvery 2500, syncTimeout 2 s, 100 MiB files).
// Usage: bun scripts/bench-diskqueue.ts [records] [recordSize]
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskQueue } from "../src/core/diskqueue/index.ts";

const records = Number(process.argv[2] ?? 1_000_000);
const size = Number(process.argv[3] ?? 226);
const SYNC_EVERY = 2500;
const dir = fs.mkdtempSync(join(tmpdir(), "nsq-bench-dq-"));
let syncs = 0; // metadata renames: one per completed sync
const countingFs = { ...fs, renameSync: ((a: fs.PathLike, b: fs.PathLike) => (syncs++, fs.renameSync(a, b))) as typeof fs.renameSync };
const open = () =>
  new DiskQueue({
    name: "bench", dataPath: dir, maxBytesPerFile: 104857600, minMsgSize: 26, maxMsgSize: 1048576 + 26,
    syncEvery: SYNC_EVERY, syncTimeout: 2000, fs: countingFs,
  });
const record = new Uint8Array(size).fill(97);
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

function report(label: string, n: number, ms: number, note = ""): void {
  const perSec = Math.round((n / ms) * 1000).toLocaleString("en");
  console.log(`${label.padEnd(34)} ${perSec.padStart(10)} records/s  ${((n * size) / ms / 1000).toFixed(0).padStart(5)} MB/s  ${note}`);
}

async function measure(label: string, body: (q: DiskQueue) => Promise<number> | number): Promise<void> {
  const q = open();
  syncs = 0;
  const t = performance.now();
  const n = await body(q);
  report(label, n, performance.now() - t, `(${syncs} syncs)`);
  q.close();
}

try {
  // Tight loops never yield, so background fsyncs cannot finish inside them: these give the event-loop cost.
  await measure("put+flush, tight loop", (q) => {
    for (let i = 0; i < records; i++) q.put(record);
    q.flush();
    return records;
  });
  await measure("readNext, tight loop (page cache)", (q) => {
    let n = 0;
    while (q.readNext() !== null) n++;
    if (n !== records) throw new Error(`read ${n} of ${records}`);
    return n;
  });

  // As in nsqd: bursts from the network, the event loop turning between them, so syncs run at their cadence.
  const burst = 100;
  const spill = (inlineSync: boolean) => async (q: DiskQueue) => {
    for (let i = 0; i < records; i += burst) {
      for (let j = 0; j < burst; j++) q.put(record);
      await yieldToLoop();
      for (let j = 0; j < burst; j++) if (q.readNext() === null) throw new Error("lost a record");
      if (inlineSync && (i + burst) % (SYNC_EVERY / 2) === 0) q.sync(); // every 2500 puts + reads
      await yieldToLoop();
    }
    return records;
  };
  await measure(`put+read bursts of ${burst}`, spill(false));
  await measure(`put+read bursts, sync() inline`, spill(true));
  console.log("(bursts: records/s counts each record once, through one put and one readNext)");
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
