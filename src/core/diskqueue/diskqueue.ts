import * as nodeFs from "node:fs";
import {
  formatMetaData, metaDataFileName, parseMetaData, readRecordLength, RECORD_HEADER_SIZE, segmentFileName,
  segmentNumbers, writeRecord,
} from "./format.ts";

export type DiskQueueLogLevel = "debug" | "info" | "warn" | "error";

/** The node:fs calls the queue makes; tests substitute failing ones. */
export type DiskQueueFs = Pick<
  typeof nodeFs,
  | "openSync" | "closeSync" | "writeSync" | "readSync" | "fsyncSync" | "fstatSync" | "statSync" | "renameSync"
  | "unlinkSync" | "readFileSync" | "readdirSync" | "fsync" | "promises"
>;

export interface DiskQueueOptions {
  /** Topic `<t>` or channel `<t>:<c>`. */
  name: string;
  dataPath: string;
  /** nsqd default 104857600. */
  maxBytesPerFile: number;
  /** nsqd passes 26. */
  minMsgSize: number;
  /** nsqd passes --max-msg-size + 26. */
  maxMsgSize: number;
  /** fsync after this many reads + writes. */
  syncEvery: number;
  /** ms; fsync at least this often while there is activity. */
  syncTimeout: number;
  log?: (level: DiskQueueLogLevel, msg: string) => void;
  /** Defaults to node:fs. */
  fs?: DiskQueueFs;
  /** Write buffer and read-ahead size in bytes; default 1 MiB. */
  bufferSize?: number;
}

const DEFAULT_BUFFER_SIZE = 1 << 20;
/** While the disk fails, a put re-tries at most this often; the sync timer re-tries too. */
const RETRY_INTERVAL_MS = 100;

const copyRecord = (buf: Uint8Array, start: number, end: number): Uint8Array => buf.slice(start, end);
const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code;
const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * A FIFO of byte records on disk, file-compatible with go-diskqueue v1.1 (nsqd's backend queue), run
 * synchronously on the event loop. Writes are buffered and flushed once per microtask burst, reads come from
 * a read-ahead buffer, and fsync + metadata follow go-diskqueue's syncEvery / syncTimeout policy, off the
 * event loop; `sync()`, `close()` and file rolls sync before returning.
 *
 * @example
 * const q = new DiskQueue({ name: "t", dataPath: "/var/lib/nsq", maxBytesPerFile: 104857600,
 *   minMsgSize: 26, maxMsgSize: 1048576 + 26, syncEvery: 2500, syncTimeout: 2000 });
 * q.put(record);
 * const next = q.readNext(); // Uint8Array | null
 * q.close();
 */
export class DiskQueue {
  readonly name: string;
  private readonly dataPath: string;
  private readonly maxBytesPerFile: number;
  private readonly minMsgSize: number;
  private readonly maxMsgSize: number;
  private readonly syncEvery: number;
  private readonly bufferSize: number;
  private readonly fs: DiskQueueFs;
  private readonly log: (level: DiskQueueLogLevel, msg: string) => void;
  private readonly timer: ReturnType<typeof setInterval>;

  private depthN = 0;
  private readFileNum = 0;
  private readPos = 0;
  private writeFileNum = 0;
  /** Includes bytes still in the write buffer. */
  private writePos = 0;

  private writeFd: number | null = null;
  /**
   * Holds the write file's records from wbufPos to writePos, whole, so readers find them at
   * readPos - wbufPos; the first `wwritten` bytes are already in the file (after a partial write).
   */
  private wbuf: Uint8Array | null = null;
  private wlen = 0;
  private wwritten = 0;
  private wbufPos = 0;
  private fsyncPending = false;
  private flushQueued = false;

  private readFd: number | null = null;
  /** The size of the read file once it is no longer the write file. */
  private readFileSize = 0;
  private rbuf: Uint8Array | null = null;
  /** rbuf holds the read file's bytes [rbufPos, rbufPos + rlen). */
  private rbufPos = 0;
  private rlen = 0;

  private count = 0;
  private needSync = false;
  /** A background sync is in flight; another request meanwhile sets syncAgain. */
  private syncing = false;
  private syncAgain = false;
  /** Bumped by every metadata write and by Empty/Delete, so a slower background write cannot land over it. */
  private metaGen = 0;
  /** The write fd a background fsync is using: closing it is deferred until that fsync returns. */
  private pinnedFd: number | null = null;
  private closePinned = false;
  private healthErr: Error | null = null;
  private lastRetry = 0;
  private active = false;
  private closed = false;

  constructor(opts: DiskQueueOptions) {
    if (!(opts.maxBytesPerFile > 0 && opts.minMsgSize >= 0 && opts.maxMsgSize >= opts.minMsgSize)) {
      throw new RangeError(`DISKQUEUE(${opts.name}) invalid size limits`);
    }
    if (!(opts.syncEvery >= 1 && opts.syncTimeout > 0)) {
      throw new RangeError(`DISKQUEUE(${opts.name}) syncEvery must be >= 1 and syncTimeout > 0`);
    }
    this.name = opts.name;
    this.dataPath = opts.dataPath;
    this.maxBytesPerFile = opts.maxBytesPerFile;
    this.minMsgSize = opts.minMsgSize;
    this.maxMsgSize = opts.maxMsgSize;
    this.syncEvery = opts.syncEvery;
    this.bufferSize = opts.bufferSize ?? DEFAULT_BUFFER_SIZE;
    this.fs = opts.fs ?? nodeFs;
    this.log = opts.log ?? (() => {});

    this.retrieveMetaData();
    this.checkTailCorruption();
    if (this.needSync) this.sync();

    this.timer = setInterval(() => this.tick(), opts.syncTimeout);
    this.timer.unref();
  }

  /** The last write, fsync or metadata error not yet recovered from; while set, `put` throws it. */
  get health(): Error | null {
    return this.healthErr;
  }

  depth(): number {
    return this.depthN;
  }

  /**
   * Appends one record: `data`, followed by `tail` when given (so a caller can add a header without
   * building a joined copy). Throws on a size outside [minMsgSize, maxMsgSize], after close, and while the disk is
   * failing; records accepted before a failure stay buffered and are written once the disk recovers.
   */
  put(data: Uint8Array, tail?: Uint8Array): void {
    if (this.closed) throw new Error("exiting");
    const n = data.length + (tail === undefined ? 0 : tail.length);
    if (n < this.minMsgSize || n > this.maxMsgSize) {
      throw new RangeError(
        `invalid message write size (${n}) minMsgSize=${this.minMsgSize} maxMsgSize=${this.maxMsgSize}`,
      );
    }
    if (this.healthErr !== null && !this.retry()) throw this.healthErr;

    const total = RECORD_HEADER_SIZE + n;
    if (this.writePos > 0 && this.writePos + total > this.maxBytesPerFile) {
      this.roll();
      if (this.healthErr !== null) throw this.healthErr;
    }
    let buf = this.wbuf ?? (this.wbuf = new Uint8Array(Math.max(this.bufferSize, total)));
    if (this.wlen + total > buf.length) {
      this.flush();
      if (this.healthErr !== null) throw this.healthErr;
      if (total > buf.length) buf = this.wbuf = new Uint8Array(total);
    }
    this.wlen = writeRecord(buf, this.wlen, data, tail);
    this.writePos += total;
    this.depthN++;
    this.count++;
    this.active = true;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushTask);
    }
    if (this.count >= this.syncEvery) this.syncInBackground();
  }

  /**
   * The next record, or null when the queue is empty. The returned bytes are a fresh copy. Advances the read
   * position, deletes a segment once read past, and routes a corrupt segment to `<file>.bad`.
   */
  readNext(): Uint8Array | null {
    return this.readNextWith(copyRecord);
  }

  /**
   * {@link readNext} for a caller that decodes the record itself: `decode` sees it in place, as
   * `buf[start, end)`, valid only during the call. A caller that keeps part of it copies that part, once,
   * instead of a copy of the record and then a view of the copy (which costs more on JSC than the copy).
   */
  readNextWith<T>(decode: (buf: Uint8Array, start: number, end: number) => T): T | null {
    if (this.closed) return null;
    for (;;) {
      const wf = this.writeFileNum;
      if (!(this.readFileNum < wf || (this.readFileNum === wf && this.readPos < this.writePos))) return null;
      let buf: Uint8Array;
      let at: number;
      if (this.readFileNum === wf && this.readPos >= this.wbufPos) {
        buf = this.wbuf!;
        at = this.readPos - this.wbufPos + RECORD_HEADER_SIZE;
      } else {
        if (!this.readFromFile()) continue;
        buf = this.rbuf!;
        at = this.readPos - this.rbufPos + RECORD_HEADER_SIZE;
      }
      const n = readRecordLength(buf, at - RECORD_HEADER_SIZE);
      const rec = decode(buf, at, at + n);
      this.moveForward(RECORD_HEADER_SIZE + n);
      return rec;
    }
  }

  /** Writes buffered records to the segment file, without fsync. A failure sets `health`; nothing is lost. */
  flush(): void {
    if (this.wlen === 0) return;
    const buf = this.wbuf!;
    try {
      this.writeFd ??= this.openWriteFile();
      while (this.wwritten < this.wlen) {
        const n = this.fs.writeSync(this.writeFd, buf, this.wwritten, this.wlen - this.wwritten);
        if (n <= 0) throw new Error(`short write to ${this.fileName(this.writeFileNum)}`);
        this.wwritten += n;
        this.fsyncPending = true;
      }
    } catch (err) {
      this.fail(err);
      return;
    }
    this.wbufPos += this.wlen;
    this.wlen = this.wwritten = 0;
  }

  /**
   * {@link flush}, for a caller about to acknowledge what it put: throws the error that makes the disk
   * unhealthy, if any, so the caller can refuse instead. What stays buffered is written on recovery.
   */
  commit(): void {
    this.flush();
    if (this.healthErr !== null) throw this.healthErr;
  }

  /**
   * flush + fsync the write file + persist metadata, all before returning. A failure sets `health`; success
   * clears it. The syncEvery / syncTimeout policy does the same off the event loop (see syncInBackground).
   */
  sync(): void {
    this.flush();
    if (this.wlen > 0) return; // metadata must not claim bytes the file does not have
    try {
      if (this.fsyncPending && this.writeFd !== null) this.fs.fsyncSync(this.writeFd);
      this.fsyncPending = false;
      this.persistMetaData();
    } catch (err) {
      this.fail(err);
      return;
    }
    this.count = 0;
    this.needSync = false;
    if (this.healthErr !== null) {
      this.log("info", `DISKQUEUE(${this.name}) writes recovered after: ${this.healthErr.message}`);
      this.healthErr = null;
    }
  }

  /** go-diskqueue Empty: deletes every segment and the metadata, then continues at writeFileNum + 1. */
  empty(): void {
    if (this.closed) throw new Error("exiting");
    this.log("info", `DISKQUEUE(${this.name}): emptying`);
    this.skipToNextRWFile();
    this.unlink(this.metaDataPath(), "metadata file");
    this.count = 0;
    this.syncAgain = false;
  }

  /** Flushes, fsyncs and persists metadata, then releases fds and the timer. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.log("info", `DISKQUEUE(${this.name}): closing`);
    clearInterval(this.timer);
    this.flush();
    if (this.wlen > 0) this.dropUnwritten();
    this.sync();
    this.closeReadFile();
    this.closeWriteFile();
    this.wbuf = this.rbuf = null;
  }

  /** Closes and removes the segments and metadata (go-diskqueue Empty + Delete, as nsqd deletes a queue). */
  delete(): void {
    if (this.closed) return;
    this.closed = true;
    this.log("info", `DISKQUEUE(${this.name}): deleting`);
    clearInterval(this.timer);
    this.skipToNextRWFile();
    this.unlink(this.metaDataPath(), "metadata file");
    this.wbuf = this.rbuf = null;
  }

  private readonly flushTask = (): void => {
    this.flushQueued = false;
    if (this.closed) return;
    this.flush();
    if (this.needSync) this.syncInBackground();
  };

  private tick(): void {
    if (this.count > 0 || this.needSync || this.healthErr !== null) this.syncInBackground();
    // an idle queue gives its buffers back: nsqd holds one queue per topic and channel
    if (!this.active && this.wlen === 0) {
      this.wbuf = this.rbuf = null;
      this.rlen = 0;
    }
    this.active = false;
  }

  private retry(): boolean {
    const now = performance.now();
    if (now - this.lastRetry < RETRY_INTERVAL_MS) return false;
    this.lastRetry = now;
    this.sync();
    return this.healthErr === null;
  }

  /**
   * The policy's sync. fsync costs the event loop ~0.5 ms and the metadata file as much again, every
   * syncEvery operations of every busy queue; on the thread pool they cost it ~0.05 ms. The metadata snapshot
   * is taken after the flush, so it never claims data the fsync does not cover. Requests made while one is in
   * flight coalesce into one more (a group commit), so a fast queue syncs as often as the disk allows.
   */
  private syncInBackground(): void {
    if (this.closed) return;
    if (this.healthErr !== null) return this.sync(); // recovery goes the synchronous way
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.flush();
    if (this.wlen > 0) return;
    const fd = this.fsyncPending ? this.writeFd : null;
    const text = this.metaText();
    const gen = ++this.metaGen;
    this.fsyncPending = false;
    this.count = 0;
    this.needSync = false;
    this.syncing = true;
    this.pinnedFd = fd;
    this.persistAsync(fd, text, gen).then(
      () => this.syncDone(),
      (err: unknown) => {
        if (fd !== null && fd === this.writeFd) this.fsyncPending = true;
        if (!this.closed) this.fail(err);
        this.syncDone();
      },
    );
  }

  private async persistAsync(fd: number | null, text: string, gen: number): Promise<void> {
    if (fd !== null) {
      await new Promise<void>((resolve, reject) => this.fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
    }
    const tmp = this.tmpMetaPath();
    let renamed = false;
    try {
      const h = await this.fs.promises.open(tmp, "w", 0o600);
      try {
        await h.writeFile(text);
        await h.sync();
      } finally {
        await h.close();
      }
      // a newer synchronous write, or Empty/Delete, happened meanwhile: this snapshot is stale
      if (gen === this.metaGen) {
        this.fs.renameSync(tmp, this.metaDataPath());
        renamed = true;
      }
    } finally {
      if (!renamed) this.unlink(tmp, "metadata tmp file");
    }
  }

  private syncDone(): void {
    this.syncing = false;
    if (this.closePinned) this.closeFd(this.pinnedFd!);
    this.closePinned = false;
    this.pinnedFd = null;
    if (this.syncAgain) {
      this.syncAgain = false;
      this.syncInBackground();
    }
  }

  private fail(err: unknown): void {
    const e = asError(err);
    if (this.healthErr === null) {
      this.log("error", `DISKQUEUE(${this.name}) write failed, rejecting puts until it recovers - ${e.message}`);
    }
    this.healthErr = e;
  }

  private roll(): void {
    this.flush();
    if (this.wlen > 0) return;
    const old = this.writeFileNum;
    // a reader exactly at the end of the rolled file steps over it now; reading on would hit EOF and
    // rename a healthy file to .bad (go-diskqueue #38, #42)
    const caughtUp = this.readFileNum === old && this.readPos === this.writePos;
    if (this.readFileNum === old) this.readFileSize = this.writePos;
    this.writeFileNum++;
    this.writePos = 0;
    this.wbufPos = 0;
    if (caughtUp) this.finishReadFile();
    this.sync(); // fsyncs the old file, whose fd is still open, and persists the new positions
    this.closeWriteFile();
  }

  /** Makes rbuf hold the whole record at readPos; false when there is none to read (or it was corrupt). */
  private readFromFile(): boolean {
    const fileNum = this.readFileNum;
    try {
      if (this.readFd === null) {
        const fn = this.fileName(fileNum);
        this.readFd = this.fs.openSync(fn, "r");
        this.log("info", `DISKQUEUE(${this.name}): readOne() opened ${fn}`);
        if (fileNum < this.writeFileNum) this.readFileSize = this.fs.fstatSync(this.readFd).size;
        this.rlen = 0;
      }
    } catch (err) {
      this.handleReadError(err);
      return false;
    }
    // a completed file ends at its size, whatever maxBytesPerFile was when it was written
    const end = fileNum < this.writeFileNum ? this.readFileSize : this.wbufPos;
    if (this.readPos === end) {
      // metadata saved exactly at the end of a completed file (go-diskqueue #38, #42): not corruption
      this.finishReadFile();
      this.checkTailCorruption();
      if (this.needSync) this.syncInBackground();
      return false;
    }
    try {
      if (this.readPos > end) throw new Error(`read position beyond end of file (${end})`);
      if (!this.fill(RECORD_HEADER_SIZE, end)) throw new Error("EOF in record header");
      const n = readRecordLength(this.rbuf!, this.readPos - this.rbufPos);
      if (n < this.minMsgSize || n > this.maxMsgSize) throw new Error(`invalid message read size (${n})`);
      if (!this.fill(RECORD_HEADER_SIZE + n, end)) throw new Error("unexpected EOF in record");
      return true;
    } catch (err) {
      this.handleReadError(err);
      return false;
    }
  }

  /** Makes rbuf hold the n bytes at readPos, reading ahead up to `end`; false when the file is too short. */
  private fill(n: number, end: number): boolean {
    if (this.readPos >= this.rbufPos && this.readPos + n <= this.rbufPos + this.rlen) return true;
    if (this.readPos + n > end) return false;
    const want = Math.min(Math.max(this.bufferSize, n), end - this.readPos);
    if (this.rbuf === null || this.rbuf.length < want) {
      this.rbuf = new Uint8Array(Math.max(this.bufferSize, n));
    }
    let got = 0;
    while (got < want) {
      const r = this.fs.readSync(this.readFd!, this.rbuf, got, want - got, this.readPos + got);
      if (r === 0) break;
      got += r;
    }
    this.rbufPos = this.readPos;
    this.rlen = got;
    return got >= n;
  }

  private moveForward(total: number): void {
    this.readPos += total;
    this.depthN--;
    this.count++;
    this.active = true;
    if (this.readFileNum < this.writeFileNum && this.readPos >= this.readFileSize) this.finishReadFile();
    this.checkTailCorruption();
    if (this.needSync || this.count >= this.syncEvery) this.syncInBackground();
  }

  /** The reader is done with its file: delete it and move to the next one. */
  private finishReadFile(): void {
    this.closeReadFile();
    this.unlink(this.fileName(this.readFileNum), "data file");
    this.readFileNum++;
    this.readPos = 0;
    this.needSync = true;
  }

  private handleReadError(err: unknown): void {
    const fn = this.fileName(this.readFileNum);
    this.log("error", `DISKQUEUE(${this.name}) reading at ${this.readPos} of ${fn} - ${asError(err).message}`);
    this.closeReadFile();
    if (errCode(err) === "ENOENT" && this.readFileNum < this.writeFileNum) {
      // jump over the whole gap at once rather than one error per missing number (nsq#1033)
      const next = this.listSegments().find((n) => n > this.readFileNum && n <= this.writeFileNum);
      this.readFileNum = next ?? this.writeFileNum;
    } else {
      if (this.readFileNum === this.writeFileNum) {
        // the write file is unreadable: writing continues in a new file, which starts with the records
        // still buffered (they are intact; go-diskqueue would have lost them with the bad file)
        this.closeWriteFile();
        this.writeFileNum++;
        this.writePos = this.wlen;
        this.wbufPos = this.wwritten = 0;
      }
      const bad = `${fn}.bad`;
      this.log("warn", `DISKQUEUE(${this.name}) jump to next file and saving bad file as ${bad}`);
      try {
        this.fs.renameSync(fn, bad);
      } catch (e) {
        this.log("error", `DISKQUEUE(${this.name}) failed to rename bad diskqueue file ${fn} to ${bad} - ${e}`);
      }
      this.readFileNum++;
    }
    this.readPos = 0;
    this.needSync = true;
    this.checkTailCorruption();
    this.sync();
  }

  private checkTailCorruption(): void {
    const rf = this.readFileNum;
    const wf = this.writeFileNum;
    if (rf < wf || (rf === wf && this.readPos < this.writePos)) return;
    if (this.depthN !== 0) {
      this.log(
        "error",
        this.depthN < 0
          ? `DISKQUEUE(${this.name}) negative depth at tail (${this.depthN}), metadata corruption, resetting 0...`
          : `DISKQUEUE(${this.name}) positive depth at tail (${this.depthN}), data loss, resetting 0...`,
      );
      this.depthN = 0;
      this.needSync = true;
    }
    if (rf !== wf || this.readPos !== this.writePos) {
      if (rf > wf) {
        this.log("error", `DISKQUEUE(${this.name}) readFileNum > writeFileNum (${rf} > ${wf}), corruption, skipping to next writeFileNum and resetting 0...`);
      } else {
        this.log("error", `DISKQUEUE(${this.name}) readPos > writePos (${this.readPos} > ${this.writePos}), corruption, skipping to next writeFileNum and resetting 0...`);
      }
      this.skipToNextRWFile();
      this.needSync = true;
    }
  }

  /** Deletes the segments from readFileNum to writeFileNum and restarts both ends in a fresh file. */
  private skipToNextRWFile(): void {
    this.closeReadFile();
    this.closeWriteFile();
    for (const n of this.listSegments()) {
      if (n >= this.readFileNum && n <= this.writeFileNum) this.unlink(this.fileName(n), "data file");
    }
    this.writeFileNum++;
    this.writePos = this.wbufPos = this.wlen = this.wwritten = 0;
    this.readFileNum = this.writeFileNum;
    this.readPos = 0;
    this.depthN = 0;
    this.fsyncPending = false;
    this.metaGen++; // a background write of the old positions must not recreate the metadata
    this.healthErr = null; // nothing is pending any more
  }

  /** Close with a failing disk: the buffered records cannot be kept, so account for them as gone. */
  private dropUnwritten(): void {
    const sameFile = this.readFileNum === this.writeFileNum;
    let at = sameFile ? Math.max(0, this.readPos - this.wbufPos) : 0;
    let unread = 0;
    while (at < this.wlen) {
      at += RECORD_HEADER_SIZE + readRecordLength(this.wbuf!, at);
      unread++;
    }
    this.log(
      "error",
      `DISKQUEUE(${this.name}) closing with ${this.wlen - this.wwritten} bytes unwritten, ${unread} unread records lost - ${this.healthErr?.message}`,
    );
    this.depthN -= unread;
    this.writePos = this.wbufPos;
    if (sameFile && this.readPos > this.writePos) this.readPos = this.writePos;
    this.wlen = this.wwritten = 0;
  }

  private retrieveMetaData(): void {
    const metaPath = this.metaDataPath();
    let text: string | null = null;
    try {
      text = this.fs.readFileSync(metaPath, "utf8") as string;
    } catch (err) {
      if (errCode(err) !== "ENOENT") {
        this.log("error", `DISKQUEUE(${this.name}) failed to retrieveMetaData - ${asError(err).message}`);
      }
    }
    const meta = text === null ? null : parseMetaData(text);
    if (meta !== null) {
      this.depthN = meta.depth;
      this.readFileNum = meta.readFileNum;
      this.readPos = meta.readPos;
      this.writeFileNum = meta.writeFileNum;
      this.writePos = meta.writePos;
    } else {
      if (text !== null) this.log("error", `DISKQUEUE(${this.name}) failed to parse metadata ${metaPath}`);
      // segments without metadata: a crash before the first sync, or after Empty removed the metadata.
      // Read them all; go-diskqueue would start at file 0 and overwrite it.
      const nums = this.listSegments();
      if (nums.length > 0) {
        this.log("warn", `DISKQUEUE(${this.name}) no metadata, recovering segments ${nums[0]}..${nums.at(-1)}`);
        this.readFileNum = nums[0]!;
        this.writeFileNum = nums.at(-1)!;
      }
    }

    // Consumers may read only while depth() > 0, so unread data must never show depth <= 0: recount it
    // (no metadata, or a go-diskqueue depth driven below zero by its own crash salvage).
    if (this.depthN <= 0 && (this.readFileNum < this.writeFileNum || this.readPos < this.writePos)) {
      const was = this.depthN;
      this.depthN = 0;
      for (const f of this.listSegments()) {
        if (f < this.readFileNum || f > this.writeFileNum) continue;
        const from = f === this.readFileNum ? this.readPos : 0;
        const to = f === this.writeFileNum ? this.writePos : this.fileSize(f);
        if (to > from) this.depthN += this.countRecords(f, from, to);
      }
      if (was !== 0 || meta !== null) this.log("warn", `DISKQUEUE(${this.name}) depth ${was} with data unread, recounted ${this.depthN}`);
    }

    // unsynced metadata at a crash leaves the write file longer than writePos: write on in a new file and let
    // the reader salvage the tail (duplicates possible). A shorter or missing file gets the same treatment
    // rather than a write at the wrong offset.
    // the salvaged records count in depth too
    const size = this.fileSize(this.writeFileNum);
    if (size !== this.writePos) {
      this.log(
        "warn",
        `DISKQUEUE(${this.name}) ${this.fileName(this.writeFileNum)} metadata writePos ${this.writePos} != file size of ${size}, skipping to new file`,
      );
      if (size > this.writePos) this.depthN += this.countRecords(this.writeFileNum, this.writePos, size);
      this.writeFileNum++;
      this.writePos = 0;
    }
    this.wbufPos = this.writePos;
  }

  /** 0 when the file is missing. */
  private fileSize(fileNum: number): number {
    const fn = this.fileName(fileNum);
    try {
      return this.fs.statSync(fn).size;
    } catch (err) {
      if (errCode(err) !== "ENOENT") this.log("error", `DISKQUEUE(${this.name}) stat ${fn} - ${asError(err).message}`);
      return 0;
    }
  }

  /** Whole, valid records in [from, to) of a segment, walking only their length fields. */
  private countRecords(fileNum: number, from: number, to: number): number {
    const buf = new Uint8Array(Math.min(this.bufferSize, to - from));
    let n = 0;
    let fd: number | null = null;
    try {
      fd = this.fs.openSync(this.fileName(fileNum), "r");
      let bufPos = from;
      let bufLen = 0;
      for (let pos = from; pos + RECORD_HEADER_SIZE <= to; n++) {
        if (pos + RECORD_HEADER_SIZE > bufPos + bufLen) {
          bufPos = pos;
          bufLen = this.fs.readSync(fd, buf, 0, Math.min(buf.length, to - pos), pos);
          if (bufLen < RECORD_HEADER_SIZE) break;
        }
        const len = readRecordLength(buf, pos - bufPos);
        if (len < this.minMsgSize || len > this.maxMsgSize || pos + RECORD_HEADER_SIZE + len > to) break;
        pos += RECORD_HEADER_SIZE + len;
      }
    } catch (err) {
      this.log("error", `DISKQUEUE(${this.name}) counting records in ${this.fileName(fileNum)} - ${asError(err).message}`);
    } finally {
      if (fd !== null) this.closeFd(fd);
    }
    return n;
  }

  private persistMetaData(): void {
    this.metaGen++;
    const tmp = this.tmpMetaPath();
    const text = this.metaText();
    const fd = this.fs.openSync(tmp, "w", 0o600);
    try {
      this.fs.writeSync(fd, text);
      this.fs.fsyncSync(fd);
    } catch (err) {
      this.fs.closeSync(fd);
      this.unlink(tmp, "metadata tmp file");
      throw err;
    }
    this.fs.closeSync(fd);
    this.fs.renameSync(tmp, this.metaDataPath());
  }

  private metaText(): string {
    return formatMetaData({
      depth: this.depthN,
      readFileNum: this.readFileNum,
      readPos: this.readPos,
      writeFileNum: this.writeFileNum,
      writePos: this.writePos,
    });
  }

  private tmpMetaPath(): string {
    return `${this.metaDataPath()}.${Math.floor(Math.random() * Number.MAX_SAFE_INTEGER)}.tmp`;
  }

  private openWriteFile(): number {
    const fn = this.fileName(this.writeFileNum);
    const fd = this.fs.openSync(fn, "a", 0o600);
    this.log("info", `DISKQUEUE(${this.name}): writeOne() opened ${fn}`);
    return fd;
  }

  private closeWriteFile(): void {
    if (this.writeFd === null) return;
    if (this.writeFd === this.pinnedFd) this.closePinned = true;
    else this.closeFd(this.writeFd);
    this.writeFd = null;
  }

  private closeReadFile(): void {
    this.rlen = 0;
    if (this.readFd === null) return;
    this.closeFd(this.readFd);
    this.readFd = null;
  }

  private closeFd(fd: number): void {
    try {
      this.fs.closeSync(fd);
    } catch (err) {
      this.log("error", `DISKQUEUE(${this.name}) close - ${asError(err).message}`);
    }
  }

  private unlink(path: string, what: string): void {
    try {
      this.fs.unlinkSync(path);
    } catch (err) {
      if (errCode(err) !== "ENOENT") {
        this.log("error", `DISKQUEUE(${this.name}) failed to remove ${what} ${path} - ${asError(err).message}`);
      }
    }
  }

  private listSegments(): number[] {
    try {
      return segmentNumbers(this.fs.readdirSync(this.dataPath) as string[], this.name);
    } catch (err) {
      this.log("error", `DISKQUEUE(${this.name}) failed to list ${this.dataPath} - ${asError(err).message}`);
      return [];
    }
  }

  private fileName(fileNum: number): string {
    return segmentFileName(this.dataPath, this.name, fileNum);
  }

  private metaDataPath(): string {
    return metaDataFileName(this.dataPath, this.name);
  }
}
