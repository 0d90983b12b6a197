/**
 * nsqlookupd's registration database (nsqlookupd/registration_db.go): registrations `(category, key, subkey)`
 * — `client` (one per identified nsqd), `topic` (topic, "") and `channel` (topic, channel) — each holding the
 * producers (nsqd peers) that registered it, keyed by peer id. Pure data: no I/O, the clock is passed in.
 * @module
 */

/** A registration key. `*` as key or subkey in a find matches any value. */
export interface Registration {
  readonly category: string;
  readonly key: string;
  readonly subKey: string;
}

/** An identified nsqd, as its IDENTIFY described it; shared by all of its producers. */
export interface PeerInfo {
  /** The remote `ip:port` of its connection: a peer's identity. */
  readonly id: string;
  /** Epoch ms of its IDENTIFY or latest PING. */
  lastUpdate: number;
  remoteAddress: string;
  hostname: string;
  broadcastAddress: string;
  tcpPort: number;
  httpPort: number;
  version: string;
  topologyZone: string;
  topologyRegion: string;
}

/** A peer in one registration: tombstones are per registration, activity is the peer's. */
export class Producer {
  tombstoned = false;
  /** Epoch ms; meaningless until tombstoned (Go's zero time). */
  tombstonedAt = 0;

  constructor(readonly peerInfo: PeerInfo) {}

  tombstone(now: number): void {
    this.tombstoned = true;
    this.tombstonedAt = now;
  }

  isTombstoned(lifetime: number, now: number): boolean {
    return this.tombstoned && now - this.tombstonedAt < lifetime;
  }
}

interface Entry {
  readonly reg: Registration;
  readonly producers: Map<string, Producer>;
}

// names cannot hold a newline (protocol/names.ts), so it separates the parts unambiguously
const mapKey = (category: string, key: string, subKey: string) => `${category}\n${key}\n${subKey}`;
const groupKey = (category: string, key: string) => `${category}\n${key}`;

/** Registration keys, and the producers of each, in the order they were added. */
export class RegistrationDB {
  private readonly map = new Map<string, Entry>();
  /**
   * The same entries grouped by category and key, so that a topic's channels (`/lookup`, `/channels`,
   * nsqd's pre-creation) are found without scanning every registration of the cluster.
   */
  private readonly groups = new Map<string, Map<string, Entry>>();

  /** Adds a registration with no producers, if it is not there. */
  addRegistration(k: Registration): void {
    this.entry(k);
  }

  /** Adds `p` to the registration (creating it); false when a producer with its peer id is there already. */
  addProducer(k: Registration, p: Producer): boolean {
    const producers = this.entry(k).producers;
    if (producers.has(p.peerInfo.id)) return false;
    producers.set(p.peerInfo.id, p);
    return true;
  }

  /** Removes peer `id` from the registration, which stays even when left empty. */
  removeProducer(k: Registration, id: string): { removed: boolean; left: number } {
    const e = this.map.get(mapKey(k.category, k.key, k.subKey));
    if (e === undefined) return { removed: false, left: 0 };
    const removed = e.producers.delete(id);
    return { removed, left: e.producers.size };
  }

  /** Removes the registration and its producers. */
  removeRegistration(k: Registration): void {
    if (!this.map.delete(mapKey(k.category, k.key, k.subKey))) return;
    const gk = groupKey(k.category, k.key);
    const g = this.groups.get(gk)!;
    g.delete(k.subKey);
    if (g.size === 0) this.groups.delete(gk);
  }

  /** The entries a find has to look at: one group when the key is given, all of them otherwise. */
  private candidates(category: string, key: string): Iterable<Entry> {
    if (key === "*") return this.map.values();
    return this.groups.get(groupKey(category, key))?.values() ?? [];
  }

  findRegistrations(category: string, key: string, subKey: string): Registration[] {
    if (!needFilter(key, subKey)) {
      const e = this.map.get(mapKey(category, key, subKey));
      return e === undefined ? [] : [e.reg];
    }
    const out: Registration[] = [];
    for (const e of this.candidates(category, key)) if (isMatch(e.reg, category, key, subKey)) out.push(e.reg);
    return out;
  }

  /** The producers of every matching registration, one per peer id (the first found). */
  findProducers(category: string, key: string, subKey: string): Producer[] {
    if (!needFilter(key, subKey)) return [...(this.map.get(mapKey(category, key, subKey))?.producers.values() ?? [])];
    const seen = new Set<string>();
    const out: Producer[] = [];
    for (const e of this.candidates(category, key)) {
      if (!isMatch(e.reg, category, key, subKey)) continue;
      for (const p of e.producers.values()) {
        if (seen.has(p.peerInfo.id)) continue;
        seen.add(p.peerInfo.id);
        out.push(p);
      }
    }
    return out;
  }

  /** The registrations peer `id` is a producer of. */
  lookupRegistrations(id: string): Registration[] {
    const out: Registration[] = [];
    for (const e of this.map.values()) if (e.producers.has(id)) out.push(e.reg);
    return out;
  }

  /** Every registration with its producers (`GET /debug`). */
  entries(): { reg: Registration; producers: Producer[] }[] {
    return [...this.map.values()].map((e) => ({ reg: e.reg, producers: [...e.producers.values()] }));
  }

  private entry(k: Registration): Entry {
    const mk = mapKey(k.category, k.key, k.subKey);
    let e = this.map.get(mk);
    if (e === undefined) {
      e = { reg: { category: k.category, key: k.key, subKey: k.subKey }, producers: new Map() };
      this.map.set(mk, e);
      const gk = groupKey(k.category, k.key);
      let g = this.groups.get(gk);
      if (g === undefined) this.groups.set(gk, (g = new Map()));
      g.set(k.subKey, e);
    }
    return e;
  }
}

function needFilter(key: string, subKey: string): boolean {
  return key === "*" || subKey === "*";
}

function isMatch(k: Registration, category: string, key: string, subKey: string): boolean {
  return k.category === category && (key === "*" || k.key === key) && (subKey === "*" || k.subKey === subKey);
}

/** Registrations.Filter: those matching, wildcards as in a find. */
export function filterRegistrations(rs: Registration[], category: string, key: string, subKey: string): Registration[] {
  return rs.filter((k) => isMatch(k, category, key, subKey));
}

/** Registrations.Keys: topic names of topic and channel registrations. */
export const keys = (rs: Registration[]): string[] => rs.map((k) => k.key);
/** Registrations.SubKeys: channel names of channel registrations. */
export const subKeys = (rs: Registration[]): string[] => rs.map((k) => k.subKey);

/**
 * Producers.FilterByActive: leaves out peers not heard from for more than `inactivityTimeout` ms and
 * producers tombstoned less than `tombstoneLifetime` ms ago.
 */
export function filterByActive(ps: Producer[], inactivityTimeout: number, tombstoneLifetime: number, now: number): Producer[] {
  return ps.filter((p) => !(now - p.peerInfo.lastUpdate > inactivityTimeout || p.isTombstoned(tombstoneLifetime, now)));
}
