/**
 * One topic's file logger (NSQ apps/nsq_to_file/file_logger.go): a consumer whose messages are written, body
 * and newline, to the current file and finished only after the file is fsynced (at least once on disk). A sync
 * happens when max-in-flight messages are held, when a connection is starved, every `--sync-interval`, on
 * rotation and on SIGHUP. With `--gzip` each sync ends a gzip member, so a file cut short by a crash still
 * decompresses up to its last sync. Files are written in `--work-dir` and moved into `--output-dir` when done,
 * without ever replacing a file there.
 * @module
 */
import { closeSync, existsSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { type ClientConfig, Consumer, type Message } from "../../core/client/index.ts";
import { formatDuration } from "../../core/duration.ts";
import type { Logger } from "../../core/log.ts";
import { ByteWriter } from "../../core/protocol/bytes.ts";
import { connectConsumer } from "../consume.ts";
import { filenameTemplate, strftime, withRev } from "./filename.ts";
import type { ToFileOptions } from "./options.ts";

const NL = new Uint8Array([0x0a]);
/** Plain output goes to the file at the end of each tick, or at once past this. */
const WRITE_AT = 64 * 1024;
/** A gzip member is cut here even before a sync, to bound memory with huge messages. */
const MEMBER_MAX = 16 * 1024 * 1024;

export class FileLogger {
  readonly consumer: Consumer;
  private readonly prefix: string;
  private readonly template: string;
  private readonly buffered = new ByteWriter(WRITE_AT * 2);
  /** Messages written and not yet finished. */
  private held: Message[] = [];
  private fd: number | null = null;
  /** The open file's path. */
  private path = "";
  /** Its name with `<DATETIME>` filled and `<REV>` not. */
  private filename = "";
  private rev = 0;
  private openedAt = 0;
  /** Bytes written to the current file, uncompressed, as NSQ counts them for --rotate-size. */
  private filesize = 0;
  private ticker: Timer | null = null;
  private writeScheduled = false;
  private stopping = false;
  private failed = false;

  constructor(
    private readonly opts: ToFileOptions,
    readonly topic: string,
    cfg: ClientConfig,
    private readonly log: Logger,
    private readonly onFatal: (e: Error) => void,
  ) {
    this.prefix = `[${topic}/${opts.channel}] `;
    this.template = filenameTemplate(opts, topic);
    this.consumer = new Consumer(topic, opts.channel, { ...cfg, logger: log });
    this.consumer.addHandler((m) => this.onMessage(m));
  }

  /** Starts the sync ticker and connects. @throws NsqError when an nsqd cannot be connected to */
  async start(): Promise<void> {
    this.ticker = setInterval(() => this.guard(() => this.onTick()), this.opts.syncInterval);
    await connectConsumer(this.consumer, this.opts, this.log);
  }

  /** SIGHUP: sync and close the file; the next message opens the next one. */
  hup(): void {
    this.guard(() => {
      this.sync();
      this.close();
    });
  }

  /** Stops consuming; what is held is synced and finished, and the file closed (and moved). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    const stopped = this.consumer.stop();
    // Finish what is held, or the connections cannot close.
    this.guard(() => this.sync());
    await stopped;
    this.guard(() => {
      this.sync();
      this.close();
    });
  }

  private onMessage(m: Message): void {
    // Answered after the fsync; a failed logger leaves them in flight until the process exits and nsqd requeues them.
    m.disableAutoResponse();
    this.guard(() => {
      let sync = false;
      if (this.needsRotation()) {
        this.updateFile();
        sync = true;
      }
      this.write(m.body);
      this.write(NL);
      this.held.push(m);
      if (this.held.length >= this.opts.maxInFlight) sync = true;
      if (sync || this.stopping || this.consumer.isStarved()) this.sync();
    });
  }

  private onTick(): void {
    let closeFile = false;
    if (this.needsRotation()) {
      if (this.opts.skipEmptyFiles) closeFile = true;
      else this.updateFile();
    }
    this.sync();
    if (closeFile) this.close();
  }

  /** Runs file work; an I/O error is fatal, as in NSQ. */
  private guard(work: () => void): void {
    if (this.failed) return;
    try {
      work();
    } catch (e) {
      this.failed = true;
      if (this.ticker !== null) clearInterval(this.ticker);
      this.onFatal(new Error(`${this.prefix}${(e as Error).message}`, { cause: e }));
    }
  }

  private write(data: Uint8Array): void {
    this.filesize += data.length;
    this.buffered.bytes(data);
    if (this.opts.gzip) {
      if (this.buffered.length >= MEMBER_MAX) this.writeOut();
    } else if (this.buffered.length >= WRITE_AT) {
      this.writeOut();
    } else if (!this.writeScheduled) {
      this.writeScheduled = true;
      setImmediate(() => {
        this.writeScheduled = false;
        this.guard(() => this.writeOut());
      });
    }
  }

  /** Hands what is buffered to the file: as is, or as one gzip member. */
  private writeOut(): void {
    if (this.buffered.length === 0 || this.fd === null) return;
    const data = this.opts.gzip ? gzipSync(this.buffered.written(), { level: this.opts.gzipLevel }) : this.buffered.written();
    for (let at = 0; at < data.length; ) at += writeSync(this.fd, data, at);
    this.buffered.reset();
  }

  private sync(): void {
    if (this.held.length === 0) return;
    this.log.info(`${this.prefix}syncing ${this.held.length} records to disk`);
    this.writeOut();
    try {
      fsyncSync(this.fd!);
    } catch (e) {
      throw new Error(`failed syncing messages: ${(e as Error).message}`, { cause: e });
    }
    const held = this.held;
    this.held = [];
    for (const m of held) m.finish();
  }

  private currentFilename(): string {
    return this.template.replaceAll("<DATETIME>", strftime(this.opts.datetimeFormat, new Date()));
  }

  private needsRotation(): boolean {
    if (this.fd === null) return true;
    const filename = this.currentFilename();
    if (filename !== this.filename) {
      this.log.info(`${this.prefix}new filename ${filename}, rotating...`);
      return true;
    }
    const open = Date.now() - this.openedAt;
    if (this.opts.rotateInterval > 0 && open > this.opts.rotateInterval) {
      this.log.info(`${this.prefix}${formatDuration(open)} since last open, rotating...`);
      return true;
    }
    if (this.opts.rotateSize > 0 && this.filesize > this.opts.rotateSize) {
      this.log.info(`${this.prefix}${this.path} currently ${this.filesize} bytes (> ${this.opts.rotateSize}), rotating...`);
      return true;
    }
    return false;
  }

  private outputPath(workPath: string): string {
    return join(this.opts.outputDir, relative(this.opts.workDir, workPath));
  }

  /** Closes the current file and opens the next revision that does not exist yet, in the work and output dirs. */
  private updateFile(): void {
    this.close();
    const filename = this.currentFilename();
    this.rev = filename === this.filename ? this.rev + 1 : 0;
    this.filename = filename;
    this.openedAt = Date.now();
    const full = join(this.opts.workDir, filename);
    makeDir(dirname(full));
    // gzip members and interval rotation never append to a file that exists; plain files are appended to.
    const flags = this.opts.gzip || this.opts.rotateInterval > 0 ? "wx" : "a";
    for (; ; this.rev++) {
      const abs = withRev(full, this.rev);
      if (this.opts.workDir !== this.opts.outputDir) {
        const out = this.outputPath(abs);
        makeDir(dirname(out));
        if (existsSync(out)) {
          this.log.warn(`${this.prefix}output file already exists: ${out}`);
          continue;
        }
      }
      let fd: number;
      try {
        fd = openSync(abs, flags, 0o666);
      } catch (e) {
        if ((e as { code?: string }).code === "EEXIST") {
          this.log.warn(`${this.prefix}working file already exists: ${abs}`);
          continue;
        }
        throw new Error(`unable to open ${abs}: ${(e as Error).message}`, { cause: e });
      }
      this.log.info(`${this.prefix}opening ${abs}`);
      const size = fstatSync(fd).size;
      if (this.opts.rotateSize > 0 && size > this.opts.rotateSize) {
        this.log.info(`${this.prefix}${abs} currently ${size} bytes (> ${this.opts.rotateSize}), rotating...`);
        closeSync(fd);
        continue;
      }
      this.fd = fd;
      this.path = abs;
      this.filesize = size;
      return;
    }
  }

  /** Writes out, fsyncs and closes the file, then moves it into the output dir under a name not taken there. */
  private close(): void {
    if (this.fd === null) return;
    this.writeOut();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
    if (this.opts.workDir === this.opts.outputDir) return;
    const src = this.path;
    let dst = this.outputPath(src);
    this.log.info(`${this.prefix}moving finished file ${src} to ${dst}`);
    if (exclusiveRename(src, dst)) return;
    const template = join(dirname(dst), basename(this.filename));
    for (let i = this.rev + 1; ; i++) {
      this.log.warn(`${this.prefix}destination file already exists: ${dst}`);
      dst = withRev(template, i);
      if (exclusiveRename(src, dst)) {
        this.log.info(`${this.prefix}renamed finished file ${src} to ${dst} to avoid overwrite`);
        return;
      }
    }
  }
}

function makeDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o770 });
  } catch (e) {
    throw new Error(`unable to create dir: ${(e as Error).message}`, { cause: e });
  }
}

/** A rename that fails (false) instead of replacing an existing `dst`: link, then unlink. */
function exclusiveRename(src: string, dst: string): boolean {
  try {
    linkSync(src, dst);
  } catch (e) {
    if ((e as { code?: string }).code === "EEXIST") return false;
    throw new Error(`unable to move file from ${src} to ${dst}: ${(e as Error).message}`, { cause: e });
  }
  unlinkSync(src);
  return true;
}
