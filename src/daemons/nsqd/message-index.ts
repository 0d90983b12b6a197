import { u32be } from "../../core/protocol/bytes.ts";
import type { Message } from "./message.ts";

/**
 * A channel's in-flight (or deferred) messages by ID. FIN, REQ and TOUCH name a message by its 16 ID bytes;
 * a Map keyed by the ID as a string cost a string per command and twice the lookup time of a number key.
 * Here the key is a number made from the ID's last ten characters (five bits of each, which tell every hex
 * digit apart), and messages whose keys meet are chained through `sameKey`, so any 16 bytes, hex or not,
 * find exactly their message. Our own IDs meet only when published ~4 minutes apart in the same sequence slot.
 */
export class MessageIndex {
  private readonly heads = new Map<number, Message>();
  size = 0;

  add(m: Message): void {
    const k = key(m.id1, m.id2, m.id3);
    m.sameKey = this.heads.get(k) ?? null;
    this.heads.set(k, m);
    this.size++;
  }

  /** The message whose ID is the 16 bytes at `b[at]`. */
  find(b: Uint8Array, at = 0): Message | undefined {
    const id0 = u32be(b, at);
    const id1 = u32be(b, at + 4);
    const id2 = u32be(b, at + 8);
    const id3 = u32be(b, at + 12);
    let m = this.heads.get(key(id1, id2, id3));
    while (m !== undefined && !(m.id3 === id3 && m.id2 === id2 && m.id1 === id1 && m.id0 === id0)) {
      m = m.sameKey ?? undefined;
    }
    return m;
  }

  /** Whether `m` itself (not only its ID) is here. */
  has(m: Message): boolean {
    for (let x = this.heads.get(key(m.id1, m.id2, m.id3)); x !== undefined; x = x.sameKey ?? undefined) {
      if (x === m) return true;
    }
    return false;
  }

  /** Takes `m` out; false when it was not here. */
  delete(m: Message): boolean {
    const k = key(m.id1, m.id2, m.id3);
    let x = this.heads.get(k);
    if (x === m) {
      if (m.sameKey === null) this.heads.delete(k);
      else this.heads.set(k, m.sameKey);
    } else {
      while (x !== undefined && x.sameKey !== m) x = x.sameKey ?? undefined;
      if (x === undefined) return false;
      x.sameKey = m.sameKey;
    }
    m.sameKey = null;
    this.size--;
    return true;
  }

  *values(): Generator<Message> {
    for (const m of this.heads.values()) {
      for (let x: Message | null = m; x !== null; x = x.sameKey) yield x;
    }
  }

  clear(): void {
    for (const m of this.heads.values()) {
      for (let x: Message | null = m; x !== null; ) {
        const next: Message | null = x.sameKey;
        x.sameKey = null;
        x = next;
      }
    }
    this.heads.clear();
    this.size = 0;
  }
}

/** Five bits of each of the last ten ID bytes (their low five tell the 16 hex digits apart): 50 bits, exact. */
function key(id1: number, id2: number, id3: number): number {
  return bits20(id3) + bits20(id2) * 0x10_0000 + (bits20(id1) & 0x3ff) * 0x100_0000_0000;
}

const bits20 = (w: number): number => (w & 0x1f) | ((w >>> 3) & 0x3e0) | ((w >>> 6) & 0x7c00) | ((w >>> 9) & 0xf8000);
