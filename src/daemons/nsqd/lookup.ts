import os from "node:os";
import { getLookupdTopicChannels } from "../../core/clusterinfo/index.ts";
import { formatAddress } from "../../core/net.ts";
import { NSQ_VERSION } from "../../core/version.ts";
import { LookupPeer } from "./lookup-peer.ts";
import type { NSQD } from "./nsqd.ts";

/** nsqd's lookupLoop: "for announcements, lookupd determines the host automatically". */
const PING_INTERVAL = 15_000;

/**
 * nsqd's side of the cluster (NSQ nsqd/lookup.go): one {@link LookupPeer} per `--lookupd-tcp-address`,
 * a PING to each every 15 s, REGISTER/UNREGISTER as topics and channels come and go, the peer set
 * changed live by `PUT /config/nsqlookupd_tcp_addresses`, and the lookupd query that pre-creates a new
 * topic's channels.
 */
export class Lookup {
  private readonly peers = new Map<string, LookupPeer>();
  private pingTimer: Timer | null = null;
  private readonly hostname = os.hostname();

  constructor(private readonly nsqd: NSQD) {}

  start(): void {
    this.setPeers(this.nsqd.opts.lookupdTcpAddress);
    this.pingTimer = setInterval(() => this.ping(), PING_INTERVAL);
  }

  /** Adds the peers not there yet, closes the ones no longer listed. */
  setPeers(addrs: readonly string[]): void {
    const log = this.nsqd.log;
    for (const [addr, p] of this.peers) {
      if (addrs.includes(addr)) continue;
      log.info(`LOOKUP(${addr}): removing peer`);
      p.close();
      this.peers.delete(addr);
    }
    for (const addr of addrs) {
      if (this.peers.has(addr)) continue;
      log.info(`LOOKUP(${addr}): adding peer`);
      const peer = new LookupPeer(addr, this.nsqd.opts.maxBodySize, log, {
        identify: () => this.identifyBody(),
        registrations: () => this.registrations(),
      });
      this.peers.set(addr, peer);
      peer.start();
    }
  }

  /** A topic or channel was created (`registered`) or deleted: tell every lookupd. */
  notify(topic: string, channel: string | null, registered: boolean): void {
    if (this.peers.size === 0) return;
    const cmd = registered ? "REGISTER" : "UNREGISTER";
    const params = channel === null ? [topic] : [topic, channel];
    const branch = channel === null ? "topic" : "channel";
    for (const p of this.peers.values()) {
      if (!p.connected) continue;
      this.nsqd.log.info(`LOOKUPD(${p}): ${branch} ${cmd} ${params.join(" ")}`);
      p.command(cmd, params);
    }
  }

  /** `broadcast_address:http_port` of every lookupd that has identified itself (nsqd's lookupdHTTPAddrs). */
  httpAddrs(): string[] {
    const out: string[] = [];
    for (const p of this.peers.values()) {
      if (p.info && p.info.broadcast_address) out.push(formatAddress(p.info.broadcast_address, p.info.http_port));
    }
    return out;
  }

  /**
   * The channels the lookupds know for `topic`, so that a topic new to this nsqd creates them before its
   * first message fans out (NSQ's GetTopic): a consumer of that channel on other nsqd loses nothing
   * published here before it connects. Ephemeral channels are left to their consumers. Null when there
   * is no lookupd to ask, and the topic can start at once.
   */
  channelsToPrecreate(topic: string): Promise<string[]> | null {
    if (this.peers.size === 0) return null;
    const log = this.nsqd.log;
    const addrs = this.httpAddrs();
    if (addrs.length === 0) {
      log.error(`no available nsqlookupd to query for channels to pre-create for topic ${topic}`);
      return null;
    }
    const failed = (e: Error) => log.warn(`failed to query nsqlookupd for channels to pre-create for topic ${topic} - ${e.message}`);
    return getLookupdTopicChannels(topic, addrs, { timeoutMs: this.nsqd.opts.httpClientRequestTimeout }).then(
      ({ value, errors }) => {
        for (const e of errors) failed(e);
        return value.filter((c) => !c.endsWith("#ephemeral"));
      },
      (e: Error) => {
        failed(e);
        return [];
      },
    );
  }

  exit(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    this.nsqd.log.info("LOOKUP: closing");
  }

  private ping(): void {
    for (const p of this.peers.values()) {
      if (!p.connected) continue;
      if (this.nsqd.log.enabled("debug")) this.nsqd.log.debug(`LOOKUPD(${p}): sending heartbeat`);
      p.command("PING", []);
    }
  }

  private identifyBody(): Record<string, unknown> {
    const n = this.nsqd;
    const o = n.opts;
    return {
      version: NSQ_VERSION,
      tcp_port: o.broadcastTcpPort || n.tcpPort(),
      http_port: o.broadcastHttpPort || n.httpPort(),
      hostname: this.hostname,
      broadcast_address: o.broadcastAddress,
      topology_zone: o.topologyZone,
      topology_region: o.topologyRegion,
    };
  }

  private registrations(): string[][] {
    const out: string[][] = [];
    for (const t of this.nsqd.topics.values()) {
      if (t.channels.size === 0) out.push([t.name]);
      else for (const c of t.channels.values()) out.push([t.name, c.name]);
    }
    return out;
  }
}
