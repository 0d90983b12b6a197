/** An entry that remembers its own heap slot, so removal is O(log n) with no search (nsqd's in_flight_pqueue). */
export interface PQItem {
  pri: number;
  index: number;
}

/** Binary min-heap on `pri`. */
export class PQueue<T extends PQItem> {
  items: T[] = [];

  get length(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(x: T): void {
    x.index = this.items.length;
    this.items.push(x);
    this.up(x.index);
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      last.index = 0;
      this.down(0);
    }
    top.index = -1;
    return top;
  }

  remove(x: T): void {
    const i = x.index;
    const items = this.items;
    if (i < 0 || items[i] !== x) return;
    const last = items.pop()!;
    if (i < items.length) {
      items[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
    x.index = -1;
  }

  /** After changing `x.pri` in place. */
  fix(x: T): void {
    this.down(x.index);
    this.up(x.index);
  }

  clear(): void {
    for (const x of this.items) x.index = -1;
    this.items = [];
  }

  private up(i: number): void {
    const items = this.items;
    const x = items[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = items[p]!;
      if (parent.pri <= x.pri) break;
      items[i] = parent;
      parent.index = i;
      i = p;
    }
    items[i] = x;
    x.index = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const x = items[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && items[c + 1]!.pri < items[c]!.pri) c++;
      const child = items[c]!;
      if (child.pri >= x.pri) break;
      items[i] = child;
      child.index = i;
      i = c;
    }
    items[i] = x;
    x.index = i;
  }
}
