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
  /** The upper 32 bits change about once a second; their hex digits are kept rather than rebuilt per ID. */
  private hi = -1;
  private readonly hiCodes = new Array<number>(8).fill(48);

  constructor(private readonly nodeId: number) {
    if (!(nodeId >= 0 && nodeId < MAX_NODE_ID)) throw new RangeError(`node id ${nodeId} out of range [0,1024)`);
  }

  next(nowMs = Date.now()): string {
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
    const c = this.hiCodes;
    if (hi !== this.hi) {
      this.hi = hi;
      for (let i = 0; i < 8; i++) c[i] = HEX_CODES[(hi >>> (28 - 4 * i)) & 15]!;
    }
    const lo = ((t % 1024) * 4194304 + this.nodeId * 4096 + this.sequence) >>> 0;
    const h = HEX_CODES;
    // one flat string: concatenating two halves would make a rope that is flattened again on first use
    return String.fromCharCode(
      c[0]!, c[1]!, c[2]!, c[3]!, c[4]!, c[5]!, c[6]!, c[7]!,
      h[(lo >>> 28) & 15]!, h[(lo >>> 24) & 15]!, h[(lo >>> 20) & 15]!, h[(lo >>> 16) & 15]!,
      h[(lo >>> 12) & 15]!, h[(lo >>> 8) & 15]!, h[(lo >>> 4) & 15]!, h[lo & 15]!,
    );
  }
}

const HEX_CODES = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
