import { rmSync } from "node:fs";
import { createLogger } from "../../src/core/log.ts";
import { defaultOf } from "../../src/core/options.ts";
import { NSQAdmin, type AdminTuning } from "../../src/daemons/admin/nsqadmin.ts";
import { type AdminOptions, adminSpec } from "../../src/daemons/admin/options.ts";
import { until } from "./client.ts";
import { tmpDir, Wire } from "./nsqd.ts";
import { type Spawned, spawnLookupd, spawnNsqdWithHttp } from "./spawn.ts";

/** A cluster of real `nsq lookupd` and `nsq nsqd` processes, as an operator would run it, for a whole test file. */
export interface AdminCluster {
  lookupd: Spawned;
  nsqds: Spawned[];
  /** `127.0.0.1:<http port>` of the lookupd. */
  lookupdHttp: string;
  /** `127.0.0.1:<http port>` of each nsqd: how nsqadmin names them. */
  nodes: string[];
  /** A request to nsqd `i`'s HTTP API. */
  nsqd(i: number, path: string, init?: RequestInit): Promise<Response>;
  /** nsqd `i`'s stats of one channel (undefined when it has none). */
  channelStats(i: number, topic: string, channel: string): Promise<{ depth: number; paused: boolean } | undefined>;
  /** Creates `topic` (and `channels`) on the given nsqd and waits until lookupd lists them all as producers. */
  prepare(topic: string, channels: string[], on?: number[]): Promise<void>;
  /** Publishes `count` messages to `topic` on nsqd `i`. */
  publish(i: number, topic: string, count: number): Promise<void>;
  /** A TCP consumer of `topic`/`channel` on nsqd `i`, identified with `identify`, ready for `rdy` messages. */
  consume(i: number, topic: string, channel: string, identify?: Record<string, unknown>, rdy?: number): Promise<Wire>;
  stop(): Promise<void>;
}

async function stopProc(p: Spawned): Promise<void> {
  if (p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill("SIGTERM");
  const killer = setTimeout(() => p.proc.kill("SIGKILL"), 5000);
  await p.proc.exited;
  clearTimeout(killer);
}

/** One lookupd and `n` nsqd registered with it by `-lookupd-tcp-address` and `-broadcast-address`, plus `nsqdArgs`. */
export async function startAdminCluster(n = 2, nsqdArgs: string[] = []): Promise<AdminCluster> {
  const lookupd = await spawnLookupd([]);
  const nsqds: Spawned[] = [];
  const dirs: string[] = [];
  const wires: Wire[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const dir = tmpDir();
      dirs.push(dir);
      nsqds.push(await spawnNsqdWithHttp([`-lookupd-tcp-address=127.0.0.1:${lookupd.port}`, "-broadcast-address=127.0.0.1", `--data-path=${dir}`, ...nsqdArgs]));
    }
  } catch (e) {
    for (const p of [...nsqds, lookupd]) await stopProc(p);
    throw e;
  }
  const lookupdHttp = `127.0.0.1:${lookupd.httpPort}`;
  const nsqd = (i: number, path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${nsqds[i]!.httpPort}${path}`, init);
  const producers = async (topic: string): Promise<number[]> => {
    const res = await fetch(`http://${lookupdHttp}/lookup?topic=${encodeURIComponent(topic)}`);
    if (res.status !== 200) return [];
    return ((await res.json()) as { producers: { http_port: number }[] }).producers.map((p) => p.http_port).sort();
  };
  return {
    lookupd,
    nsqds,
    lookupdHttp,
    nodes: nsqds.map((d) => `127.0.0.1:${d.httpPort}`),
    nsqd,
    async channelStats(i, topic, channel) {
      const stats = (await (await nsqd(i, `/stats?format=json&topic=${topic}&channel=${channel}`)).json()) as {
        topics: { channels: { channel_name: string; depth: number; paused: boolean }[] }[] | null;
      };
      return stats.topics?.[0]?.channels.find((c) => c.channel_name === channel);
    },
    async prepare(topic, channels, on = nsqds.map((_, i) => i)) {
      for (const i of on) {
        await nsqd(i, `/topic/create?topic=${topic}`, { method: "POST" });
        for (const ch of channels) await nsqd(i, `/channel/create?topic=${topic}&channel=${ch}`, { method: "POST" });
      }
      const want = on.map((i) => nsqds[i]!.httpPort).sort().join();
      await until(async () => (await producers(topic)).join() === want, `lookupd lists the producers of ${topic}`);
    },
    async publish(i, topic, count) {
      const body = Array.from({ length: count }, (_, j) => `m${j}`).join("\n");
      const res = await nsqd(i, `/mpub?topic=${topic}`, { method: "POST", body });
      if (res.status !== 200) throw new Error(`mpub: ${res.status} ${await res.text()}`);
    },
    async consume(i, topic, channel, identify = {}, rdy = 1) {
      const w = await Wire.connect(nsqds[i]!.port);
      wires.push(w);
      await w.identify(identify);
      await w.sub(topic, channel);
      w.send(`RDY ${rdy}\n`);
      return w;
    },
    async stop() {
      for (const w of wires) if (!w.isClosed) w.close();
      for (const p of [...nsqds, lookupd]) await stopProc(p);
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** An in-process nsqadmin on 127.0.0.1:0 over `over`'s cluster, logging into `logs`. */
export async function startAdmin(over: Partial<AdminOptions>, tuning: AdminTuning = { sampleIntervalMs: 0 }) {
  const logs: string[] = [];
  const values: Record<string, unknown> = {};
  for (const e of adminSpec.flags.values()) if (!e.def.ignored) values[e.key] = defaultOf(e.def);
  const opts = adminSpec.validate({ ...values, httpAddress: "127.0.0.1:0", ...over });
  const admin = new NSQAdmin(opts, createLogger({ level: "debug", prefix: "[nsqadmin] ", write: (l) => logs.push(l) }), tuning);
  await admin.main();
  const base = `http://127.0.0.1:${admin.httpPort()}`;
  return {
    admin,
    base,
    logs,
    /** A request to the admin. */
    http: (path: string, init?: RequestInit) => fetch(`${base}${path}`, { redirect: "manual", ...init }),
    /** GET `path` and parse its JSON. */
    json: async (path: string): Promise<any> => (await fetch(`${base}${path}`)).json(),
    stop: () => admin.exit(),
  };
}

export type TestAdmin = Awaited<ReturnType<typeof startAdmin>>;
