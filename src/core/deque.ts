/** A FIFO ring buffer: O(1) push/shift without Array#shift's copying. */
export class Deque<T> {
  private buf: (T | undefined)[];
  private head = 0;
  length = 0;

  constructor(capacity = 16) {
    this.buf = new Array(Math.max(4, capacity));
  }

  push(x: T): void {
    if (this.length === this.buf.length) this.grow();
    this.buf[(this.head + this.length) % this.buf.length] = x;
    this.length++;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const x = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.length--;
    return x;
  }

  *[Symbol.iterator](): Generator<T> {
    for (let i = 0; i < this.length; i++) yield this.buf[(this.head + i) % this.buf.length]!;
  }

  *drain(): Generator<T> {
    while (this.length > 0) yield this.shift()!;
  }

  clear(): void {
    this.buf = new Array(16);
    this.head = 0;
    this.length = 0;
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.buf.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = this.buf[(this.head + i) % this.buf.length];
    this.buf = next;
    this.head = 0;
  }
}
