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
  /** The upper 32 bits change about once a second; their hex is kept rather than rebuilt per ID. */
  private hi = -1;
  private hiHex = "";

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
    if (hi !== this.hi) {
      this.hi = hi;
      this.hiHex = hex8(hi);
    }
    const lo = ((t % 1024) * 4194304 + this.nodeId * 4096 + this.sequence) >>> 0;
    return this.hiHex + hex8(lo);
  }
}

const HEX_CODES = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));

function hex8(v: number): string {
  const h = HEX_CODES;
  return String.fromCharCode(
    h[(v >>> 28) & 15]!, h[(v >>> 24) & 15]!, h[(v >>> 20) & 15]!, h[(v >>> 16) & 15]!,
    h[(v >>> 12) & 15]!, h[(v >>> 8) & 15]!, h[(v >>> 4) & 15]!, h[v & 15]!,
  );
}
