/**
 * A figure that is slow to get (a walk of the heap, a listing of /proc/self/fd), got again only once the last
 * one is a second old and 100 times as old as getting it took: at most 1% of the event loop goes to it,
 * however often it is asked for.
 */
export class Recount<T> {
  private at = Number.NEGATIVE_INFINITY;
  private tookMs = 0;
  private last: T | undefined;

  constructor(private readonly count: () => T) {}

  get(): T {
    const now = performance.now();
    if (this.last === undefined || now - this.at >= Math.max(1000, 100 * this.tookMs)) {
      this.last = this.count();
      this.at = performance.now();
      this.tookMs = this.at - now;
    }
    return this.last;
  }
}
