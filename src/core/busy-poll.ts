/**
 * Keeps the event loop polling for a short window after socket activity instead of sleeping in epoll_wait.
 * On a VM a sleeping vCPU takes tens of microseconds to wake, which is most of a request/response round
 * trip: with a 200 µs window, one PUB per round trip in `bun scripts/bench.ts` went from 12k to 25k msgs/s
 * here. Go's scheduler spins before parking its threads for the same reason. Idle servers do not spin.
 */
export class BusyPoll {
  private last = 0;
  private active = false;

  constructor(private readonly windowMs: number) {}

  touch(): void {
    this.last = performance.now();
    if (!this.active) {
      this.active = true;
      setImmediate(this.spin);
    }
  }

  private readonly spin = (): void => {
    if (performance.now() - this.last < this.windowMs) setImmediate(this.spin);
    else this.active = false;
  };
}
