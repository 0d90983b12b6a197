import { FatalClientError } from "./errors.ts";

/**
 * Push parser for client → nsqd commands (V2) and client → lookupd commands (V1):
 *
 *   NAME[ SP param]*\n                            a line; a trailing \r is dropped
 *   NAME[ SP param]*\n[4-byte size][size bytes]   a line followed by a body, for verbs that carry one
 *
 * The parser only frames bytes. The protocol decides, once a line is whole, whether a body follows and
 * how large it may be ({@link CommandSink.line}), so that its own checks on the parameters run before
 * any body is read, in NSQ's order. Lines and bodies inside one chunk are handed over as subarrays of
 * that chunk; only what spans chunks is copied, and nothing beyond the announced limits is buffered.
 * A command that waits on something asynchronous (the auth server, a TLS handshake) pauses the parser
 * from its callback: `push` then returns how far it got, and the caller keeps the rest until `resume`.
 */
export interface CommandSink {
  /**
   * A whole line, split on single spaces. Return {@link NO_BODY} when the command is complete, or the
   * largest body size the command accepts. Throwing a ClientError is allowed.
   */
  line(args: Uint8Array[]): number;
  /** A body size outside 1..limit; the parser stops. */
  badBodySize(args: Uint8Array[], size: number): void;
  body(args: Uint8Array[], body: Uint8Array): void;
}

export const NO_BODY = -1;

/** Go's bufio.Reader default: ReadSlice('\n') fails beyond this. */
export const MAX_LINE = 16 * 1024;

/** What `args` holds between commands: shared, so a command's end drops its words without a new array. */
const NO_ARGS: Uint8Array[] = [];
const NL = 10;
const CR = 13;
const SP = 32;

const State = { Line: 0, Size: 1, Body: 2, Stopped: 3 } as const;
type State = (typeof State)[keyof typeof State];

export class CommandParser {
  private state: State = State.Line;
  private lineBuf: Uint8Array | null = null;
  private lineLen = 0;
  private args: Uint8Array[] = NO_ARGS;
  private limit = 0;
  private sizeBuf = new Uint8Array(4);
  private sizeLen = 0;
  private body: Uint8Array | null = null;
  private bodyNeed = 0;
  private bodyLen = 0;
  private isPaused = false;

  constructor(private readonly sink: CommandSink) {}

  get stopped(): boolean {
    return this.state === State.Stopped;
  }

  /** Called from a sink callback: the current command is the last one `push` takes. */
  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
  }

  stop(): void {
    this.state = State.Stopped;
    this.lineBuf = null;
    this.body = null;
  }

  /** Returns the bytes of `chunk` consumed: all of them unless the parser was paused. */
  push(chunk: Uint8Array): number {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.isPaused) return i;
      switch (this.state) {
        case State.Line: {
          const nl = chunk.indexOf(NL, i);
          if (nl === -1) {
            this.appendLine(chunk, i, n);
            return n;
          }
          if (this.lineLen > 0) {
            this.appendLine(chunk, i, nl);
            const buf = this.lineBuf!;
            const len = this.lineLen;
            this.lineLen = 0;
            this.lineBuf = null;
            i = nl + 1;
            this.onLine(buf, 0, len);
          } else {
            if (nl - i > MAX_LINE) this.tooLong();
            const start = i;
            i = nl + 1;
            this.onLine(chunk, start, nl);
          }
          break;
        }
        case State.Size: {
          if (this.sizeLen === 0 && n - i >= 4) {
            const size = ((chunk[i]! << 24) | (chunk[i + 1]! << 16) | (chunk[i + 2]! << 8) | chunk[i + 3]!) | 0;
            i += 4;
            this.onSize(size);
            // zero-copy fast path: the whole body is in this chunk
            if ((this.state as State) === State.Body && n - i >= this.bodyNeed) {
              const need = this.bodyNeed;
              this.state = State.Line;
              const args = this.args;
              this.args = NO_ARGS;
              this.sink.body(args, chunk.subarray(i, i + need));
              i += need;
            }
            break;
          }
          const take = Math.min(4 - this.sizeLen, n - i);
          this.sizeBuf.set(chunk.subarray(i, i + take), this.sizeLen);
          this.sizeLen += take;
          i += take;
          if (this.sizeLen === 4) {
            this.sizeLen = 0;
            const b = this.sizeBuf;
            this.onSize(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) | 0);
          }
          break;
        }
        case State.Body: {
          if (!this.body) this.body = new Uint8Array(this.bodyNeed);
          const take = Math.min(this.bodyNeed - this.bodyLen, n - i);
          this.body.set(chunk.subarray(i, i + take), this.bodyLen);
          this.bodyLen += take;
          i += take;
          if (this.bodyLen === this.bodyNeed) {
            const body = this.body;
            const args = this.args;
            this.body = null;
            this.bodyLen = 0;
            this.args = NO_ARGS;
            this.state = State.Line;
            this.sink.body(args, body);
          }
          break;
        }
        case State.Stopped:
          return n;
      }
    }
    return n;
  }

  /** The line is `buf[from, end)`; its words are views of `buf` (no view of the line itself: one less per command). */
  private onLine(buf: Uint8Array, from: number, end: number): void {
    if (end > from && buf[end - 1] === CR) end--;
    const args: Uint8Array[] = [];
    let start = from;
    for (let k = from; k < end; k++) {
      if (buf[k] === SP) {
        args.push(buf.subarray(start, k));
        start = k + 1;
      }
    }
    args.push(buf.subarray(start, end));
    const limit = this.sink.line(args);
    if (this.state === State.Stopped || limit === NO_BODY) return;
    this.args = args;
    this.limit = limit;
    this.state = State.Size;
  }

  private onSize(size: number): void {
    if (size <= 0 || size > this.limit) {
      const args = this.args;
      this.stop();
      this.sink.badBodySize(args, size);
      return;
    }
    this.bodyNeed = size;
    this.bodyLen = 0;
    this.state = State.Body;
  }

  private appendLine(chunk: Uint8Array, from: number, to: number): void {
    const len = to - from;
    if (this.lineLen + len > MAX_LINE) this.tooLong();
    if (!this.lineBuf || this.lineBuf.length < this.lineLen + len) {
      const next = new Uint8Array(Math.min(MAX_LINE, Math.max(256, (this.lineLen + len) * 2)));
      if (this.lineBuf) next.set(this.lineBuf.subarray(0, this.lineLen));
      this.lineBuf = next;
    }
    this.lineBuf.set(chunk.subarray(from, to), this.lineLen);
    this.lineLen += len;
  }

  private tooLong(): never {
    this.stop();
    throw new FatalClientError("E_INVALID", `command line too long (over ${MAX_LINE} bytes)`);
  }
}
