import { afterAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import type { DiskQueue, DiskQueueFs } from "../../src/core/diskqueue/index.ts";
import { Command } from "../../src/core/protocol/commands.ts";
import { until } from "../helpers/client.ts";
import { startNsqd, tmpDir, Wire } from "../helpers/nsqd.ts";

// A real full disk where the machine allows it (a 1 MiB tmpfs; we run as root here and in CI); otherwise
// the disk queues get a write budget that fails the way a full filesystem does.
const dir = tmpDir();
const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]).exitCode === 0;
const budget = { left: 1 << 20 };
const budgetFs: DiskQueueFs = {
  ...fs,
  writeSync: ((fd: number, buf: Uint8Array, off?: number, len?: number, pos?: number) => {
    const want = len ?? buf.length - (off ?? 0);
    if (budget.left <= 0) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    const n = Math.min(want, budget.left);
    budget.left -= n;
    return fs.writeSync(fd, buf, off, n, pos);
  }) as typeof fs.writeSync,
};

afterAll(async () => {
  // a background metadata write may still hold a file there for a moment after the stop
  if (mounted) await until(() => Bun.spawnSync(["umount", dir]).exitCode === 0, `umount ${dir}`);
  fs.rmSync(dir, { recursive: true, force: true });
});

test(`a full disk fails publishes with E_PUB_FAILED, loses nothing accepted, and recovers (${mounted ? "tmpfs" : "injected"})`, async () => {
  const filler = join(dir, "filler");
  fs.writeFileSync(filler, new Uint8Array(400 * 1024));
  if (!mounted) budget.left -= 400 * 1024;
  const d = await startNsqd({ dataPath: dir, memQueueSize: 0, syncTimeout: 50, maxBytesPerFile: 128 * 1024 }, mounted ? undefined : budgetFs);
  const body = "x".repeat(900);
  const accepted: string[] = [];
  let failure = "";
  for (let i = 0; i < 2000 && !failure; i++) {
    const w = await Wire.connect(d.port);
    w.send(Command.mpub("full", Array.from({ length: 10 }, (_, k) => `${i}-${k}-${body}`)));
    const f = await w.nextNonHeartbeat();
    if (f!.type === 0) accepted.push(...Array.from({ length: 10 }, (_, k) => `${i}-${k}`));
    else failure = f!.text;
    w.close();
  }
  expect(failure).toStartWith("E_MPUB_FAILED MPUB failed");
  expect(failure).toContain("ENOSPC");
  expect(d.nsqd.health).toContain("ENOSPC");

  fs.rmSync(filler);
  budget.left += 400 * 1024;
  const topicQueue = d.nsqd.topics.get("full")!.queue.backend as DiskQueue;
  await until(() => topicQueue.health === null, "the topic's disk queue to recover");
  const c = await Wire.connect(d.port);
  expect(await c.identify({ output_buffer_timeout: 25 })).toBe("OK");
  expect(await c.sub("full", "ch")).toBe("OK");
  c.send(Command.rdy(2500));
  const got = new Set<string>();
  while (got.size < accepted.length) {
    const m = await c.message(3000);
    c.send(Command.fin(m.id));
    got.add(m.text.split("-").slice(0, 2).join("-"));
  }
  expect(accepted.every((a) => got.has(a))).toBe(true);
  const p = await Wire.connect(d.port);
  expect(await p.pub("full", "after recovery")).toBe("OK");
  expect(d.nsqd.health).toBeNull();
  await d.stop({ keepData: true });
}, 30_000);
