import type { Codec, Decoder, Encoder } from "./codec/index.ts";
import { ByteWriter } from "./protocol/bytes.ts";

/** What a {@link Transport} needs of a socket (Bun's `Socket`, plain or TLS). */
export interface TransportSocket {
  /** Bun's socket.write: `data[byteOffset, byteOffset + byteLength)`, without a view of it. */
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  end(data?: Uint8Array): void;
  pause(): void;
  resume(): void;
}

export interface TransportOptions {
  /** Initial size of the output buffer. */
  initialSize: number;
  /** Unsent (or, while input waits, unread) bytes beyond which reads from the peer pause. */
  maxPending: number;
  /** The protocol's parser: takes plain input, returns how much it took (less once it paused the input). */
  onInput?: (plain: Uint8Array) => number;
  /** The kernel stopped taking bytes: later output queues behind them. */
  onBlocked?: () => void;
  /** Everything queued went out after a block. */
  onWritable?: () => void;
  /** A write found the socket closed. */
  onWriteError?: () => void;
}

/** An output buffer grown past this by one huge command is dropped after its flush rather than kept. */
const SHRINK_ABOVE = 4 * 1024 * 1024;

/**
 * One connection's byte path between its socket and its protocol, for servers and clients alike.
 *
 * Output: frames are appended to {@link Transport.out} and leave in one `socket.write` per
 * {@link Transport.flush}, through the connection's encoder once one is negotiated. Bun's `write` does not
 * buffer, so what the kernel does not take is kept here, in order, and retried on `drain`; past
 * `maxPending` unsent bytes (wire bytes, after compression) the peer's reads pause, so a peer that does not
 * read cannot make us buffer without bound.
 *
 * Input: socket reads go through {@link Transport.receive}, the decoder, and `onInput`. A protocol that has
 * to wait (for the auth server, a flush before a TLS upgrade) pauses the input from inside `onInput`; what
 * it did not take, decoded or not, is held here in order and handed over on {@link Transport.resumeInput}.
 * Bytes held undecoded when a codec is installed are decoded by it: they came after the switch.
 */
export class Transport {
  readonly out: ByteWriter;
  /** Wire bytes handed to flush that the kernel has not taken yet. */
  pendingBytes = 0;
  closed = false;
  /** When output last stopped going out (a short write or no progress since); 0 while it flows. */
  blockedSince = 0;
  private pending: Uint8Array[] = [];
  private encoder: Encoder | null = null;
  private decoder: Decoder | null = null;
  /** The negotiated compression, once there is one. */
  codec: Codec["name"] | null = null;
  private writeBlocked = false;
  private inputPaused = false;
  private readsPaused = false;
  /** Input the protocol has not taken: decoded bytes first, then wire bytes still to decode. */
  private heldPlain: Uint8Array[] = [];
  private heldWire: Uint8Array[] = [];
  private held = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(
    /** The current socket; replaced when the connection upgrades to TLS ({@link Transport.setSocket}). */
    public socket: TransportSocket,
    private readonly o: TransportOptions,
  ) {
    this.out = new ByteWriter(o.initialSize);
  }

  /** Input received and not yet taken by the protocol. */
  get heldBytes(): number {
    return this.held;
  }

  // --- output ---

  flush(): void {
    const out = this.out;
    const n = out.length;
    if (n === 0 || this.closed) {
      out.reset();
      return;
    }
    // Unencoded, the buffer goes by offset and length (a view per flush would be garbage per flush), and
    // what the kernel did not take is copied out of it; an encoder's output is fresh and kept as it is.
    const encoded = this.encoder !== null;
    const data = encoded ? this.encoder!.encode(out.written()) : out.buf;
    const len = encoded ? data.length : n;
    let written = 0;
    if (this.pendingBytes === 0) {
      written = this.socket.write(data, 0, len);
      if (written < 0) {
        this.reset();
        this.o.onWriteError?.();
        return;
      }
    }
    if (written < len) this.queue(encoded ? data.subarray(written) : data.slice(written, len));
    this.reset();
  }

  private reset(): void {
    const out = this.out;
    out.reset();
    if (out.buf.length > SHRINK_ABOVE) {
      out.buf = new Uint8Array(this.o.initialSize);
      out.view = new DataView(out.buf.buffer);
    }
  }

  private queue(b: Uint8Array): void {
    const wasEmpty = this.pendingBytes === 0;
    this.pending.push(b);
    this.pendingBytes += b.length;
    if (wasEmpty) {
      this.blockedSince = Date.now();
      this.o.onBlocked?.();
    }
    if (this.pendingBytes > this.o.maxPending && !this.writeBlocked) {
      this.writeBlocked = true;
      this.updateReads();
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
        if (written > 0) this.blockedSince = Date.now();
        return;
      }
      this.pending.shift();
    }
    this.blockedSince = 0;
    if (this.writeBlocked) {
      this.writeBlocked = false;
      this.updateReads();
    }
    this.o.onWritable?.();
    this.releaseDrainWaiters();
  }

  /** Resolves once everything flushed so far was taken by the kernel, or the transport closed. */
  drained(): Promise<void> {
    if (this.pendingBytes === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private releaseDrainWaiters(): void {
    if (this.drainWaiters.length > 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  /** The socket is gone: drops what waits to be written or read. */
  abort(): void {
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.heldPlain = this.heldWire = [];
    this.held = 0;
    this.releaseDrainWaiters();
  }

  /** Sends everything still buffered or queued, then closes the socket; later writes are dropped. */
  end(): void {
    if (this.closed) return;
    const tail = [...this.pending];
    if (this.out.length > 0) tail.push(this.encoder !== null ? this.encoder.encode(this.out.written()) : this.out.written());
    this.abort();
    this.socket.end(tail.length === 0 ? undefined : tail.length === 1 ? tail[0] : Buffer.concat(tail));
    this.out.reset();
  }

  // --- upgrades ---

  /**
   * The TLS upgrade: later reads and writes are the new socket's. Call it with nothing queued for the old
   * one. The new socket reads even while input is paused: its handshake needs them.
   */
  setSocket(socket: TransportSocket): void {
    this.socket = socket;
    this.readsPaused = false;
  }

  /** Compression from here on, both ways: the next flush is encoded, and input not yet taken is decoded. */
  setCodec(c: Codec): void {
    this.encoder = c.encoder;
    this.decoder = c.decoder;
    this.codec = c.name;
    if (this.heldPlain.length > 0) {
      this.heldWire = [...this.heldPlain, ...this.heldWire];
      this.heldPlain = [];
    }
  }

  // --- input ---

  /** From the socket's `data`. */
  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    if (this.inputPaused) {
      this.hold(this.heldWire, chunk);
      return;
    }
    const rest = this.take(chunk);
    if (rest !== null) this.hold(this.heldWire, rest);
  }

  /** Called while the protocol handles input: what follows is held until {@link Transport.resumeInput}. */
  pauseInput(): void {
    this.inputPaused = true;
  }

  /** Hands the held input to the protocol, in order, until it pauses again. */
  resumeInput(): void {
    if (!this.inputPaused) return;
    this.inputPaused = false;
    while (!this.inputPaused && !this.closed && this.heldPlain.length > 0) this.give(this.unhold(this.heldPlain));
    while (!this.inputPaused && !this.closed && this.heldWire.length > 0) {
      const rest = this.take(this.unhold(this.heldWire));
      if (rest !== null) this.heldWire.unshift(this.count(rest));
    }
    this.updateReads();
  }

  /** Hands `wire` to the protocol, decoded; returns the wire bytes left when it paused, or null. */
  private take(wire: Uint8Array): Uint8Array | null {
    const d = this.decoder;
    if (d === null) {
      this.give(wire);
      return null;
    }
    const used = d.decode(wire, this.emit);
    return used < wire.length ? wire.subarray(used) : null;
  }

  private readonly emit = (plain: Uint8Array): boolean => {
    if (this.closed) return false;
    if (this.inputPaused) {
      this.hold(this.heldPlain, plain);
      return false;
    }
    this.give(plain);
    return !this.inputPaused;
  };

  /** `plain` to the protocol; what it does not take is held first in line. */
  private give(plain: Uint8Array): void {
    const decoder = this.decoder;
    const n = this.o.onInput!(plain);
    if (n === plain.length) return;
    // taken up to a switch to compression (IDENTIFY): the rest came after it, encoded
    const list = this.decoder === decoder ? this.heldPlain : this.heldWire;
    list.unshift(this.count(plain.subarray(n)));
    this.updateReads();
  }

  private hold(list: Uint8Array[], b: Uint8Array): void {
    list.push(this.count(b));
    this.updateReads();
  }

  private count(b: Uint8Array): Uint8Array {
    this.held += b.length;
    return b;
  }

  private unhold(list: Uint8Array[]): Uint8Array {
    const b = list.shift()!;
    this.held -= b.length;
    return b;
  }

  /**
   * Reads pause while our output backs up, or while held input grows past the bound: a paused protocol
   * holds what arrives in the meantime (nothing, from a well-behaved peer) rather than stop the socket,
   * whose reads a TLS handshake may need.
   */
  private updateReads(): void {
    const pause = this.writeBlocked || (this.inputPaused && this.held > this.o.maxPending);
    if (pause === this.readsPaused || this.closed) return;
    this.readsPaused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }
}
