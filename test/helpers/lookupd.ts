import { createLogger } from "../../src/core/log.ts";
import { encodeCommand } from "../../src/core/protocol/commands.ts";
import { MAGIC_V1 } from "../../src/core/protocol/frame.ts";
import { NSQLookupd } from "../../src/daemons/lookupd/lookupd.ts";
import { type LookupdOptions, lookupdDefaults } from "../../src/daemons/lookupd/options.ts";
import { testScope, Wire } from "./nsqd.ts";

export interface TestLookupd {
  lookupd: NSQLookupd;
  tcpPort: number;
  httpPort: number;
  /** A request to the HTTP API: `l.http("/lookup?topic=t")`. */
  http(path: string, init?: RequestInit): Promise<Response>;
  /** GET `path` and parse its JSON body. */
  json(path: string): Promise<any>;
  logs: string[];
  stop(): Promise<void>;
}

/** An in-process nsqlookupd on 127.0.0.1:0 (nsq's mustStartLookupd), logging into `logs`. */
export async function startLookupd(over: Partial<LookupdOptions> = {}): Promise<TestLookupd> {
  const opts = { ...lookupdDefaults(), tcpAddress: "127.0.0.1:0", httpAddress: "127.0.0.1:0", ...over };
  const logs: string[] = [];
  const lookupd = new NSQLookupd(opts, createLogger({ level: "debug", prefix: "[nsqlookupd] ", write: (l) => logs.push(l) }));
  await lookupd.main();
  const http = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${lookupd.httpPort()}${path}`, init);
  return {
    lookupd,
    tcpPort: lookupd.tcpPort(),
    httpPort: lookupd.httpPort(),
    http,
    json: async (path) => (await http(path)).json(),
    logs,
    stop: () => lookupd.exit(),
  };
}

/** What nsqd identifies itself with (nsqlookupd_test.go's identify). */
export const PEER = { broadcast_address: "ip.address", hostname: "ip.address", tcp_port: 5000, http_port: 5555, version: "fake-version" };

export const V1 = {
  identify: (data: Record<string, unknown> = PEER) => encodeCommand("IDENTIFY", [], new TextEncoder().encode(JSON.stringify(data))),
  register: (topic: string, channel?: string) => encodeCommand("REGISTER", channel === undefined ? [topic] : [topic, channel]),
  unregister: (topic: string, channel?: string) => encodeCommand("UNREGISTER", channel === undefined ? [topic] : [topic, channel]),
  ping: () => encodeCommand("PING"),
};

/** A V1 connection to lookupd after the magic; with `identify` it has identified as {@link PEER} (or those fields). */
export async function connectV1(port: number, identify?: Record<string, unknown>): Promise<Wire> {
  const w = await Wire.connect(port, MAGIC_V1, { v1: true });
  if (identify !== undefined) {
    w.send(V1.identify(identify));
    await w.response();
  }
  return w;
}

/**
 * {@link testScope} with lookupd: `lookupd` starts one that is stopped after the test, `connect` opens a
 * V1 connection (identified, with `identify`) that is closed then.
 */
export function lookupdScope() {
  const scope = testScope();
  const lookupd = async (over: Partial<LookupdOptions> = {}): Promise<TestLookupd> => {
    const l = await startLookupd(over);
    scope.defer(() => l.stop());
    return l;
  };
  const connect = async (port: number, identify?: Record<string, unknown>): Promise<Wire> => scope.track(await connectV1(port, identify));
  return { ...scope, lookupd, connect };
}
