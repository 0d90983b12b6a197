/**
 * nsqd/guid.go: a 64-bit snowflake ID printed as 16 lowercase hex characters:
 *
 *   ((ts - twepoch) << 22) | (nodeId << 12) | sequence,   ts = UnixNano >> 20 (~1.05 ms units)
 *
 * One generator per topic, as NSQ has. Where Go sleeps 1 ms when the 12-bit sequence runs out or the
 * clock steps back, a single-threaded server cannot: we borrow the next time unit instead, which keeps
 * IDs unique and increasing.
 */
const TWEPOCH = 1288834974288;
const NS_PER_UNIT = 1048576 / 1e6; // ms per (ns >> 20) unit

export const MAX_NODE_ID = 1024;

export class GuidFactory {
  private lastTs = -1;
  private sequence = 0;
  /** The upper 32 bits change about once a second; their words are kept rather than rebuilt per ID. */
  private hi = -1;
  /** The last ID from {@link next}: its 16 hex digits as four big-endian words of ASCII (MessageHeader's). */
  id0 = 0;
  id1 = 0;
  id2 = 0;
  id3 = 0;

  constructor(private readonly nodeId: number) {
    if (!(nodeId >= 0 && nodeId < MAX_NODE_ID)) throw new RangeError(`node id ${nodeId} out of range [0,1024)`);
  }

  /** Makes the next ID, in id0..id3: no string, since nsqd writes and indexes IDs as words. */
  next(nowMs = Date.now()): void {
    let ts = Math.floor(nowMs / NS_PER_UNIT);
    if (ts <= this.lastTs) {
      ts = this.lastTs;
      this.sequence = (this.sequence + 1) & 0xfff;
      if (this.sequence === 0) ts++;
    } else {
      this.sequence = 0;
    }
    this.lastTs = ts;
    const t = ts - TWEPOCH;
    // t fits in 42 bits; split the 64-bit value into two 32-bit halves without BigInt.
    const hi = Math.floor(t / 1024);
    if (hi !== this.hi) {
      this.hi = hi;
      this.id0 = hexWord(hi >>> 16);
      this.id1 = hexWord(hi & 0xffff);
    }
    const lo = ((t % 1024) * 4194304 + this.nodeId * 4096 + this.sequence) >>> 0;
    this.id2 = hexWord(lo >>> 16);
    this.id3 = hexWord(lo & 0xffff);
  }
}

/** A byte's two lowercase hex digits as one 16-bit value of their ASCII codes. */
const HEX2 = Uint16Array.from({ length: 256 }, (_, b) =>
  ("0123456789abcdef".charCodeAt(b >> 4) << 8) | "0123456789abcdef".charCodeAt(b & 15));

/** 16 bits as four hex digits, a big-endian word of ASCII. */
const hexWord = (x: number): number => ((HEX2[x >>> 8]! << 16) | HEX2[x & 255]!) >>> 0;
