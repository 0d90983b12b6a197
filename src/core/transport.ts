import { ByteWriter } from "./protocol/bytes.ts";

/** What a {@link ConnWriter} needs of a socket (Bun's `Socket`, plain or TLS). */
export interface WritableSocket {
  write(data: Uint8Array): number;
  end(data?: Uint8Array): void;
  pause(): void;
  resume(): void;
}

export interface ConnWriterOptions {
  /** Initial size of the output buffer. */
  initialSize: number;
  /** Unsent bytes beyond which reads from the peer pause until it takes ours. */
  maxPending: number;
  /** The kernel stopped taking bytes: later output queues behind them. */
  onBlocked?: () => void;
  /** Everything queued went out after a block. */
  onWritable?: () => void;
}

/**
 * One connection's output: frames are appended to {@link ConnWriter.out} and leave in one
 * `socket.write` per {@link ConnWriter.flush}. Bun's `write` does not buffer, so what the kernel does
 * not take is kept here, in order, and retried on `drain`; past `maxPending` unsent bytes the peer's
 * reads pause, so a peer that does not read cannot make us buffer without bound.
 */
export class ConnWriter {
  readonly out: ByteWriter;
  /** Bytes handed to flush that the kernel has not taken yet. */
  pendingBytes = 0;
  closed = false;
  private pending: Uint8Array[] = [];
  private readPaused = false;

  constructor(
    /** The current socket; replaced when a connection upgrades to TLS. */
    public socket: WritableSocket,
    private readonly o: ConnWriterOptions,
  ) {
    this.out = new ByteWriter(o.initialSize);
  }

  flush(): void {
    const out = this.out;
    const n = out.length;
    if (n === 0 || this.closed) {
      out.reset();
      return;
    }
    const data = out.written();
    if (this.pendingBytes === 0) {
      const written = this.socket.write(data);
      if (written === n || written < 0) {
        out.reset();
        return;
      }
      this.queue(data.slice(written));
    } else {
      this.queue(data.slice());
    }
    out.reset();
  }

  private queue(b: Uint8Array): void {
    const wasEmpty = this.pendingBytes === 0;
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (wasEmpty) this.o.onBlocked?.();
    if (this.pendingBytes > this.o.maxPending && !this.readPaused) {
      this.readPaused = true;
      this.socket.pause();
    }
  }

  /** From the socket's `drain`: send what waited, then resume reads. */
  onDrain(): void {
    while (this.pending.length > 0) {
      const b = this.pending[0]!;
      const written = this.socket.write(b);
      if (written < 0) return;
      this.pendingBytes -= written;
      if (written < b.length) {
        this.pending[0] = b.subarray(written);
        return;
      }
      this.pending.shift();
    }
    if (this.readPaused) {
      this.readPaused = false;
      this.socket.resume();
    }
    this.o.onWritable?.();
  }

  /** Sends everything still buffered or queued, then closes the socket; later writes are dropped. */
  end(): void {
    if (this.closed) return;
    const tail = this.out.length > 0 ? [...this.pending, this.out.written()] : this.pending;
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
    if (tail.length === 0) {
      this.out.reset();
      this.socket.end();
      return;
    }
    const all = new Uint8Array(tail.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of tail) {
      all.set(b, at);
      at += b.length;
    }
    this.out.reset();
    this.socket.end(all);
  }
}
