import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskQueue, type DiskQueueFs } from "../../src/core/diskqueue/index.ts";
import { until } from "../helpers/client.ts";

// A full disk for real: a 1 MiB tmpfs. Mounting needs root; where it is refused, the same scenario runs
// against node:fs with a 1 MiB write budget that fails the way a full filesystem does (a short write, then
// ENOSPC), so the test never silently skips.

const dir = fs.mkdtempSync(join(tmpdir(), "nsq-dq-tmpfs-"));
const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]).exitCode === 0;

afterAll(async () => {
  // a background metadata write may still hold a file there for a moment after close()
  if (mounted) await until(() => Bun.spawnSync(["umount", dir]).exitCode === 0, `umount ${dir}`);
  fs.rmSync(dir, { recursive: true, force: true });
});

function budgetFs(budget: { left: number }): DiskQueueFs {
  return {
    ...fs,
    writeSync: ((fd: number, buf: any, off?: any, len?: any, pos?: any) => {
      const want = typeof buf === "string" ? Buffer.byteLength(buf) : (len ?? buf.length - (off ?? 0));
      if (budget.left <= 0) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      const n = Math.min(want, budget.left);
      budget.left -= n;
      return typeof buf === "string" ? fs.writeSync(fd, buf) : fs.writeSync(fd, buf, off, n, pos);
    }) as typeof fs.writeSync,
  };
}

const record = (i: number) => new TextEncoder().encode(`record-${i}-`.padEnd(1000, "x"));

test(`a full disk refuses puts, keeps what it accepted and recovers (${mounted ? "tmpfs" : "simulated quota"})`, async () => {
  const budget = { left: 1 << 20 };
  const filler = join(dir, "filler");
  fs.writeFileSync(filler, new Uint8Array(300 * 1024));
  if (!mounted) budget.left -= 300 * 1024;
  const logs: string[] = [];
  const opts = {
    name: "t", dataPath: dir, maxBytesPerFile: 256 * 1024, minMsgSize: 26, maxMsgSize: 2000, syncEvery: 2500,
    syncTimeout: 50, bufferSize: 64 * 1024, log: (level: string, msg: string) => logs.push(`${level} ${msg}`),
    ...(mounted ? {} : { fs: budgetFs(budget) }),
  };
  const q = new DiskQueue(opts);

  let accepted = 0;
  let refusal: unknown = null;
  while (accepted < 2000) {
    try {
      q.put(record(accepted));
    } catch (err) {
      refusal = err;
      break;
    }
    accepted++;
    if (accepted % 20 === 0) await Promise.resolve(); // the microtask flush
  }
  expect(String(refusal)).toContain("ENOSPC");
  expect(q.health).not.toBeNull();
  expect(accepted).toBeGreaterThan(500);
  expect(accepted).toBeLessThan(1024);
  expect(q.depth()).toBe(accepted);

  fs.unlinkSync(filler);
  if (!mounted) budget.left += 300 * 1024;
  await until(() => q.health === null, "the sync timer's retry to recover");
  for (let i = accepted; i < accepted + 5; i++) q.put(record(i));
  q.close();

  const r = new DiskQueue({ ...opts, log: undefined });
  expect(r.depth()).toBe(accepted + 5);
  const dec = new TextDecoder();
  for (let i = 0; i < accepted + 5; i++) expect(dec.decode(r.readNext()!)).toBe(dec.decode(record(i)));
  expect(r.readNext()).toBeNull();
  r.close();
  expect(fs.readdirSync(dir).filter((f) => f.endsWith(".bad"))).toEqual([]);
  expect(logs.filter((l) => l.includes("write failed"))).toHaveLength(1);
  expect(logs.some((l) => l.includes("writes recovered"))).toBe(true);
});
