import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { idString, type MessageHeader, MSG_HEADER_LENGTH, writeMessageHeader } from "../../core/protocol/message.ts";
import { messageFromRecord } from "./message.ts";

/**
 * Deferred messages with their due times, beside a channel's disk queue in `<topic>:<channel>.deferred.dat`
 * (NSQ keeps them only in memory, nsqio/nsq #1107). NSQ's nsqd ignores the file, so the data directory stays
 * readable by it. An append-only log:
 *
 *   [4-byte size][1-byte op][8-byte due, ms since epoch, float64][payload]
 *     op 1 ADD: payload is the message (ts, attempts, id, body), as on disk in the queue
 *     op 2 DEL: payload is the 16-byte message ID
 *
 * Replayed in order at start, so an ID deferred again after its release is simply added again.
 */
const ADD = 1;
const DEL = 2;
const HEADER = 4 + 1 + 8;

export interface StoredMessage extends MessageHeader {
  body: Uint8Array;
}

export interface DeferredEntry {
  message: StoredMessage;
  due: number;
}

export class DeferredStore {
  private fd = -1;
  private buf = new Uint8Array(64 * 1024);
  private view = new DataView(this.buf.buffer);
  private len = 0;
  private flushQueued = false;
  private dead = 0;
  /** An entry that wants an fsync was appended since the last flush. */
  private syncWanted = false;

  /** The last failed write; while set, `add` throws so the publisher hears of it. */
  error: Error | null = null;

  constructor(
    readonly path: string,
    /** Append every change (durable mode); otherwise the file is written only at a clean exit. */
    readonly durable: boolean,
  ) {}

  /** Reads what a previous run left; a torn tail (a crash mid-append) ends the replay. */
  load(): DeferredEntry[] {
    let data: Uint8Array;
    try {
      data = readFileSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const live = new Map<string, DeferredEntry>();
    let at = 0;
    while (at + HEADER <= data.length) {
      const size = v.getUint32(at);
      if (size < 9 || at + 4 + size > data.length) break;
      const op = data[at + 4];
      const due = v.getFloat64(at + 5);
      const payload = data.subarray(at + HEADER, at + 4 + size);
      if (op === ADD && payload.length >= MSG_HEADER_LENGTH) {
        const m = messageFromRecord(payload, 0, payload.length);
        live.set(m.id, { message: m, due });
      } else if (op === DEL && payload.length === 16) {
        live.delete(idString(payload));
      } else break;
      at += 4 + size;
    }
    return [...live.values()];
  }

  /**
   * `sync: false` (an in-flight message's entry) is written before the publisher hears OK like the others,
   * which survives the process, but without an fsync of its own: an OS crash may lose it, as it may lose
   * the disk queue's last `--sync-every` writes.
   */
  add(m: StoredMessage, due: number, sync = true): void {
    if (this.error !== null) {
      this.flush();
      if (this.error !== null) throw this.error;
    }
    if (sync) this.syncWanted = true;
    this.append(ADD, due, MSG_HEADER_LENGTH + m.body.length, (at) => {
      writeMessageHeader(this.buf, this.view, at, m);
      this.buf.set(m.body, at + MSG_HEADER_LENGTH);
    });
  }

  remove(m: MessageHeader): void {
    this.dead++;
    this.append(DEL, 0, 16, (at) => {
      this.view.setUint32(at, m.id0);
      this.view.setUint32(at + 4, m.id1);
      this.view.setUint32(at + 8, m.id2);
      this.view.setUint32(at + 12, m.id3);
    });
  }

  /** Removals since the last rewrite; the owner compacts with `rewrite` when they pile up. */
  get deadCount(): number {
    return this.dead;
  }

  /** Replaces the file with exactly these entries (tmp + fsync + rename); no file when there are none. */
  rewrite(entries: Iterable<DeferredEntry>): void {
    this.closeFd();
    this.len = 0;
    this.dead = 0;
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, "w", 0o600);
    let any = false;
    try {
      for (const e of entries) {
        any = true;
        this.add(e.message, e.due);
        this.flushTo(fd);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (any) renameSync(tmp, this.path);
    else {
      unlinkSync(tmp);
      this.clear();
    }
  }

  clear(): void {
    this.closeFd();
    this.len = 0;
    this.dead = 0;
    try {
      unlinkSync(this.path);
    } catch {}
  }

  /** In durable mode, {@link flush} before the publisher hears OK, throwing the write's error. */
  commit(): void {
    if (!this.durable) return;
    this.flush();
    if (this.error !== null) throw this.error;
  }

  /**
   * Writes what is buffered (before the publisher hears OK) and fsyncs when an entry asked for it; a failure
   * keeps the bytes for a retry.
   */
  flush(): void {
    this.flushQueued = false;
    if (this.len === 0) return;
    try {
      if (this.fd < 0) this.fd = openSync(this.path, "a", 0o600);
      this.flushTo(this.fd);
      if (this.syncWanted) fsyncSync(this.fd);
      this.syncWanted = false;
      this.error = null;
    } catch (e) {
      this.error = e as Error;
    }
  }

  close(): void {
    this.flush();
    this.closeFd();
  }

  private append(op: number, due: number, payloadLen: number, fill: (at: number) => void): void {
    const total = HEADER + payloadLen;
    if (this.len + total > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + total));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.view.setUint32(this.len, total - 4);
    this.buf[this.len + 4] = op;
    this.view.setFloat64(this.len + 5, due);
    fill(this.len + HEADER);
    this.len += total;
    if (this.durable && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flushTo(fd: number): void {
    while (this.len > 0) {
      const n = writeSync(fd, this.buf, 0, this.len);
      this.buf.copyWithin(0, n, this.len);
      this.len -= n;
    }
  }

  private closeFd(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
