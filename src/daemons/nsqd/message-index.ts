import { u32be } from "../../core/protocol/bytes.ts";
import type { Message } from "./message.ts";

/**
 * A channel's in-flight (or deferred) messages by ID. FIN, REQ and TOUCH name a message by its 16 ID bytes;
 * a Map keyed by the ID as a string cost a string per command, and a Map keyed by a number made of the ID
 * still spent a sixth of nsqd's time in its own bookkeeping under a writer and a reader at once. This is an
 * open-addressing table (linear probing, at most half full, deletion by backward shift, so no tombstones)
 * of the messages themselves, hashed from their ID words and compared by all 16 bytes, so any bytes, hex
 * or not, find exactly their message.
 */
export class MessageIndex {
  private slots: (Message | null)[] = new Array<Message | null>(MIN_SLOTS).fill(null);
  /** 32 - log2(slots): the hash's top bits pick the slot. */
  private shift = 32 - Math.log2(MIN_SLOTS);
  size = 0;

  add(m: Message): void {
    if (2 * (this.size + 1) > this.slots.length) this.resize(2 * this.slots.length);
    this.place(m);
    this.size++;
  }

  /** The message whose ID is the 16 bytes at `b[at]`. */
  find(b: Uint8Array, at = 0): Message | undefined {
    const id0 = u32be(b, at);
    const id1 = u32be(b, at + 4);
    const id2 = u32be(b, at + 8);
    const id3 = u32be(b, at + 12);
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = hash(id1, id2, id3) >>> this.shift; ; i = (i + 1) & mask) {
      const x = slots[i]!;
      if (x === null) return undefined;
      if (x.id3 === id3 && x.id2 === id2 && x.id1 === id1 && x.id0 === id0) return x;
    }
  }

  /** Takes `m` out; false when it was not here. */
  delete(m: Message): boolean {
    let i = this.slotOf(m);
    if (i < 0) return false;
    const slots = this.slots;
    const mask = slots.length - 1;
    // Backward shift: later entries of the probe run move into the hole unless that would put them before
    // their home slot, so every run stays unbroken and lookups can stop at the first empty slot.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const x = slots[j]!;
      if (x === null) break;
      const home = hash(x.id1, x.id2, x.id3) >>> this.shift;
      if (((j - home) & mask) >= ((j - i) & mask)) {
        slots[i] = x;
        i = j;
      }
    }
    slots[i] = null;
    this.size--;
    return true;
  }

  *values(): Generator<Message> {
    for (const x of this.slots) if (x !== null) yield x;
  }

  clear(): void {
    this.slots = new Array<Message | null>(MIN_SLOTS).fill(null);
    this.shift = 32 - Math.log2(MIN_SLOTS);
    this.size = 0;
  }

  private slotOf(m: Message): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    for (let i = hash(m.id1, m.id2, m.id3) >>> this.shift; ; i = (i + 1) & mask) {
      const x = slots[i]!;
      if (x === null) return -1;
      if (x === m) return i;
    }
  }

  private place(m: Message): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = hash(m.id1, m.id2, m.id3) >>> this.shift;
    while (slots[i] !== null) i = (i + 1) & mask;
    slots[i] = m;
  }

  private resize(n: number): void {
    const old = this.slots;
    this.slots = new Array<Message | null>(n).fill(null);
    this.shift = 32 - Math.log2(n);
    for (const x of old) if (x !== null) this.place(x);
  }
}

const MIN_SLOTS = 16;

/** The ID's last twelve bytes mixed to 32 bits (the first four, a timestamp's top, rarely differ). */
function hash(id1: number, id2: number, id3: number): number {
  return Math.imul(id3 ^ Math.imul(id2 ^ Math.imul(id1, 0x85ebca77), 0x9e3779b1), 0xc2b2ae3d) >>> 0;
}
