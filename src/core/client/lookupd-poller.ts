/**
 * A Consumer's nsqlookupd discovery (go-nsq consumer.go's lookupdLoop and queryLookupd): ask one lookupd at a
 * time, rotating over them, for the producers of a topic; now, then every `lookupdPollInterval` after a
 * random jitter, and again whenever the consumer asks (a connection closed).
 * @module
 */
import { endpointUrl, fetchLookupProducers, type Producer } from "../clusterinfo/index.ts";
import type { Logger } from "../log.ts";
import { formatAddress } from "../net.ts";
import type { ClientConfig } from "./config.ts";
import { NsqError } from "./errors.ts";

/** Receives the `host:port` TCP addresses of the producers one lookupd listed. */
export type OnProducers = (addrs: string[]) => Promise<void>;

export class LookupdPoller {
  private readonly endpoints: string[] = [];
  private index = 0;
  private timer: Timer | null = null;
  private querying = false;
  private requery = false;
  private stopped = false;

  constructor(
    private readonly topic: string,
    private readonly cfg: ClientConfig,
    private readonly log: Logger,
    private readonly prefix: string,
    private readonly onProducers: OnProducers,
  ) {}

  /** Whether any lookupd was added. */
  get active(): boolean {
    return this.endpoints.length > 0;
  }

  /**
   * Adds a lookupd (`host:port` or a URL). The first one starts discovery: resolves after its first query and
   * the connections that query started.
   */
  async add(addr: string): Promise<void> {
    const endpoint = endpointUrl(addr, "/lookup", { topic: this.topic });
    if (this.endpoints.includes(endpoint)) return;
    this.endpoints.push(endpoint);
    if (this.endpoints.length > 1) return;
    await this.query();
    const jitter = Math.random() * this.cfg.lookupdPollJitter * this.cfg.lookupdPollInterval;
    this.schedule(jitter + this.cfg.lookupdPollInterval);
  }

  /** Stops polling `addr`; the last lookupd cannot be removed, as in go-nsq. */
  remove(addr: string): void {
    const endpoint = endpointUrl(addr, "/lookup", { topic: this.topic });
    const i = this.endpoints.indexOf(endpoint);
    if (i === -1) throw new NsqError("E_NOT_CONNECTED", `not polling ${addr}`);
    if (this.endpoints.length === 1) {
      throw new NsqError("E_INVALID_CONFIG", `cannot disconnect from only remaining nsqlookupd HTTP address ${addr}`);
    }
    this.endpoints.splice(i, 1);
  }

  /** Queries now; a query asked for while one runs runs once more after it. */
  async query(): Promise<void> {
    if (this.querying) {
      this.requery = true;
      return;
    }
    this.querying = true;
    try {
      do {
        this.requery = false;
        await this.queryOnce();
      } while (this.requery && !this.stopped);
    } finally {
      this.querying = false;
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.query();
      this.schedule(this.cfg.lookupdPollInterval);
    }, ms);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async queryOnce(): Promise<void> {
    let producers: Producer[] | null = null;
    for (let attempt = 0; attempt < 3 && producers === null && !this.stopped; attempt++) {
      const endpoint = this.endpoints[this.index++ % this.endpoints.length]!;
      this.log.info(`${this.prefix}querying nsqlookupd ${endpoint}`);
      try {
        producers = await fetchLookupProducers(endpoint, { timeoutMs: this.cfg.lookupdPollTimeout, headers: this.headers() });
      } catch (e) {
        // the message starts with `GET <endpoint>`
        this.log.error(`${this.prefix}error querying nsqlookupd - ${(e as Error).message}`);
      }
    }
    if (producers === null || this.stopped) return;
    const addrs = producers
      // the lookupd's JSON is not validated: skip entries an old or odd lookupd sent incomplete
      .filter((p) => typeof p.broadcast_address === "string" && typeof p.tcp_port === "number")
      .map((p) => formatAddress(p.broadcast_address, p.tcp_port));
    await this.onProducers(addrs);
  }

  private headers(): Record<string, string> | undefined {
    if (this.cfg.authSecret === "" || !this.cfg.lookupdAuthorization) return undefined;
    return { Authorization: `Bearer ${this.cfg.authSecret}` };
  }
}
