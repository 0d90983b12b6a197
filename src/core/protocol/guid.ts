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
const HEX = "0123456789abcdef";

export const MAX_NODE_ID = 1024;

export class GuidFactory {
  private lastTs = -1;
  private sequence = 0;

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
    const lo = ((t % 1024) * 4194304 + this.nodeId * 4096 + this.sequence) >>> 0;
    return hex8(hi) + hex8(lo);
  }
}

function hex8(v: number): string {
  return (
    HEX[(v >>> 28) & 15]! + HEX[(v >>> 24) & 15]! + HEX[(v >>> 20) & 15]! + HEX[(v >>> 16) & 15]! +
    HEX[(v >>> 12) & 15]! + HEX[(v >>> 8) & 15]! + HEX[(v >>> 4) & 15]! + HEX[v & 15]!
  );
}
