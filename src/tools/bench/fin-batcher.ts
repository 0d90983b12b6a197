/**
 * How NSQ's bench_reader answers messages, byte for byte: each FIN goes into a 4 KiB `bufio.Writer`, which
 * sends whenever it fills (exactly 4096 bytes, a FIN split across two sends), and the reader flushes
 * after every message in the last quarter of each RDY window (`msgCount % rdy > rdy * 0.75`), so nsqd
 * gets room to send the next window before the reader would stall on it.
 * @module
 */
import { ascii } from "../../core/protocol/bytes.ts";
import { BadMessageError, MSG_HEADER_LENGTH, MSG_ID_LENGTH } from "../../core/protocol/message.ts";

/** Where flushed bytes go: `data[start, end)`, to be consumed (or copied) before returning. */
export type Sink = (data: Uint8Array, start: number, end: number) => void;

/** Go's default `bufio.Writer` size. */
export const BUFIO_SIZE = 4096;

/** Go's `bufio.Writer`: small writes are copied into the buffer, which is written out only when full or flushed. */
export class BufferedWriter {
  private readonly buf: Uint8Array;
  private n = 0;

  constructor(
    private readonly sink: Sink,
    size = BUFIO_SIZE,
  ) {
    this.buf = new Uint8Array(size);
  }

  get buffered(): number {
    return this.n;
  }

  write(src: Uint8Array, start = 0, end = src.length): void {
    const buf = this.buf;
    while (end - start > buf.length - this.n) {
      if (this.n === 0) {
        // Large write, empty buffer: write directly from src, as Go does.
        this.sink(src, start, end);
        return;
      }
      const take = buf.length - this.n;
      buf.set(src.subarray(start, start + take), this.n);
      this.n += take;
      start += take;
      this.flush();
    }
    // Protocol tokens are a few bytes: a loop beats allocating a view for set().
    let n = this.n;
    for (let i = start; i < end; i++) buf[n++] = src[i]!;
    this.n = n;
  }

  flush(): void {
    if (this.n === 0) return;
    const n = this.n;
    this.n = 0;
    this.sink(this.buf, 0, n);
  }
}

/** bench_reader's flush rule: every message in the last quarter of each RDY window. */
export function finFlushDue(msgCount: number, rdy: number): boolean {
  return msgCount % rdy > rdy * 0.75;
}

const FIN_SP = ascii("FIN ");
const NL = ascii("\n");
const ID_AT = MSG_HEADER_LENGTH - MSG_ID_LENGTH;

/** One reader connection's FINs: `FIN <id>\n` per message through a {@link BufferedWriter}. */
export class FinBatcher {
  /** Messages received (and FINed) on this connection: bench_reader's `msgCount`. */
  count = 0;
  private readonly out: BufferedWriter;

  constructor(
    private readonly rdy: number,
    sink: Sink,
    bufferSize = BUFIO_SIZE,
  ) {
    this.out = new BufferedWriter(sink, bufferSize);
  }

  /** A message frame's data (the message layout): answers it with FIN as bench_reader does. */
  message(data: Uint8Array): void {
    if (data.length < MSG_HEADER_LENGTH) throw new BadMessageError(data.length);
    const out = this.out;
    out.write(FIN_SP);
    out.write(data, ID_AT, ID_AT + MSG_ID_LENGTH);
    out.write(NL);
    if (finFlushDue(++this.count, this.rdy)) out.flush();
  }

  /** Sends what is buffered (at the end of a run, so nsqd does not requeue what was already handled). */
  flush(): void {
    this.out.flush();
  }
}
