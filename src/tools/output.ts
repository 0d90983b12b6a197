import { ByteWriter } from "../core/protocol/bytes.ts";

/** Where a tool's output goes: `Bun.stdout.writer()` (a FileSink) or anything shaped like it. */
export interface Sink {
  /** Returns a promise while the destination is not taking data (a full pipe). */
  write(chunk: Uint8Array): number | Promise<number>;
  flush(): number | Promise<number>;
}

const HIGH_WATER = 64 * 1024;

/**
 * Buffered tool output: many small writes become one sink write per tick (or per 64 KiB). While the
 * sink is blocked, {@link Output.write} returns a promise that settles when it takes data again, so a
 * consumer's handler can return it and stop taking messages from nsqd (backpressure, not buffering).
 */
export class Output {
  private readonly buf = new ByteWriter(HIGH_WATER * 2);
  private scheduled = false;
  private blocked: Promise<void> | null = null;
  private error: unknown = null;

  constructor(private readonly sink: Sink) {}

  /** Appends `parts`; returns a promise only when the sink is blocked. */
  write(...parts: Uint8Array[]): Promise<void> | undefined {
    if (this.error !== null) throw this.error;
    for (const p of parts) this.buf.bytes(p);
    if (this.buf.length >= HIGH_WATER) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
    return this.blocked ?? undefined;
  }

  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    if (this.buf.length === 0 || this.blocked !== null || this.error !== null) return;
    const data = this.buf.written().slice();
    this.buf.reset();
    let pending: number | Promise<number>;
    try {
      pending = this.sink.write(data);
      if (typeof pending === "number") pending = this.sink.flush();
    } catch (e) {
      this.error = e;
      return;
    }
    if (typeof pending === "number") return;
    this.blocked = pending.then(
      () => {
        this.blocked = null;
        this.flush();
      },
      (e: unknown) => {
        this.blocked = null;
        this.error = e;
      },
    );
  }

  /** Writes out everything buffered; rejects with the sink's error if writing failed. */
  async end(): Promise<void> {
    for (;;) {
      this.flush();
      if (this.blocked === null) break;
      await this.blocked;
    }
    if (this.error !== null) throw this.error;
    const f = this.sink.flush();
    if (typeof f !== "number") await f;
  }
}
