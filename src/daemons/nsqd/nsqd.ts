import { mkdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { DirLock, DirLockedError } from "../../core/dirlock.ts";
import { DiskQueue, type DiskQueueFs } from "../../core/diskqueue/index.ts";
import type { Logger } from "../../core/log.ts";
import { parseListenAddress } from "../../core/net.ts";
import { osReason } from "../../core/os-error.ts";
import { MSG_HEADER_LENGTH } from "../../core/protocol/message.ts";
import { isValidChannelName, isValidTopicName } from "../../core/protocol/names.ts";
import { versionString } from "../../core/version.ts";
import { AuthServer } from "./auth.ts";
import { type BackendQueue, DropBackend } from "./backend.ts";
import type { Channel } from "./channel.ts";
import type { Client } from "./client.ts";
import { DeferredStore } from "./deferred-store.ts";
import { HttpApi, type HttpListener, listenHttp } from "./http.ts";
import { Lookup } from "./lookup.ts";
import { type Metadata, metadataPath, readMetadata, writeMetadata } from "./metadata.ts";
import { type NsqdOptions, nsqdNoEffectWarnings } from "./options.ts";
import { StatsdLoop } from "./statsd.ts";
import { listenNsqdTcp } from "./tcp.ts";
import type { TcpListener } from "../../core/listener.ts";
import { clientCa, loadTls, type NsqdTls } from "./tls.ts";
import { Topic } from "./topic.ts";

/** nsqd's QueueScanInterval: how often in-flight timeouts and deferred messages are looked at. */
const QUEUE_SCAN_INTERVAL = 100;

/**
 * The nsqd daemon: owns options, topics, clients and listeners, and its lifecycle (lock the data
 * directory, load nsqd.dat, listen, scan timers; on exit persist everything and unlock).
 */
export class NSQD {
  readonly topics = new Map<string, Topic>();
  readonly clients = new Map<number, Client>();
  readonly startTime = Date.now();
  readonly lookup = new Lookup(this);
  readonly dataPath: string;
  health: string | null = null;
  /** Set when --tls-cert and --tls-key are: clients may then ask for TLS, and HTTPS is served. */
  tls: NsqdTls | null = null;
  /** Set when --auth-http-address is: clients must then AUTH. */
  auth: AuthServer | null = null;
  private tcp: TcpListener | null = null;
  private http: HttpListener | null = null;
  private https: HttpListener | null = null;
  private statsd: StatsdLoop | null = null;
  private scanTimer: Timer | null = null;
  private readonly dirLock: DirLock;
  private loading = false;
  private persistScheduled = false;
  private exited = false;

  constructor(
    readonly opts: NsqdOptions,
    readonly log: Logger,
    /** Fault injection for tests: the file-system calls the disk queues make. */
    private readonly diskFs?: DiskQueueFs,
  ) {
    this.dataPath = resolve(opts.dataPath || ".");
    this.dirLock = new DirLock(this.dataPath);
  }

  async main(): Promise<void> {
    const o = this.opts;
    this.lockDataPath();
    this.log.info(versionString("nsqd"));
    this.log.info(`ID: ${o.nodeId}`);
    for (const w of nsqdNoEffectWarnings(o)) this.log.warn(w);
    try {
      this.tls = await loadTls(o);
      if (o.authHttpAddress.length > 0) {
        this.auth = new AuthServer({
          addresses: o.authHttpAddress,
          method: o.authHttpRequestMethod,
          timeoutMs: o.httpClientRequestTimeout,
          ca: clientCa(o),
          log: this.log,
        });
      }
      // apps/nsqd/main.go's wording for these two
      try {
        this.loadMetadata();
      } catch (e) {
        throw new Error(`failed to load metadata - ${(e as Error).message}`, { cause: e });
      }
      try {
        this.persistMetadata();
      } catch (e) {
        throw new Error(`failed to persist metadata - ${pathError(e)}`, { cause: e });
      }
      this.tcp = listenNsqdTcp(this, parseListenAddress(o.tcpAddress));
      if (this.tls !== null && o.httpsAddress !== "") {
        this.https = listenHttp(this, parseListenAddress(o.httpsAddress), new HttpApi(this, { tls: true }), this.tls.server);
      }
      if (o.httpAddress !== "") {
        const api = new HttpApi(this, { httpsPort: () => this.httpsPort() });
        this.http = listenHttp(this, parseListenAddress(o.httpAddress), api);
      }
    } catch (e) {
      this.tcp?.stop(true);
      this.https?.stop(true);
      // the queues that nsqd.dat's topics and channels opened: flushed, their files and timers released
      for (const t of this.topics.values()) t.exit(false);
      this.topics.clear();
      this.dirLock.unlock();
      throw e;
    }
    this.log.info(`TCP: listening on ${this.tcpAddress()}`);
    if (this.https !== null) this.log.info(`HTTPS: listening on ${this.https.address()}`);
    if (this.http !== null) this.log.info(`HTTP: listening on ${this.http.address()}`);
    if (this.opts.statsdAddress !== "") this.statsd = new StatsdLoop(this).start();
    this.lookup.start();
    this.scanTimer = setInterval(() => this.scanQueues(), QUEUE_SCAN_INTERVAL);
  }

  /**
   * Creates --data-path if it is missing (NSQ's nsqd requires it to exist) and takes its lock. Errors read as
   * nsqd's: the path and the OS's reason (`failed to lock data-path: open /d: not a directory`). A path that is
   * a file locks like nsqd's does, and fails at nsqd.dat as nsqd's does.
   */
  private lockDataPath(): void {
    const dir = this.dataPath;
    let missing = false;
    try {
      statSync(dir);
    } catch (e) {
      missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    }
    if (missing) {
      try {
        mkdirSync(dir, { recursive: true });
      } catch (e) {
        throw new Error(`failed to create data-path: ${pathError(e)}`, { cause: e });
      }
    }
    try {
      this.dirLock.lock();
    } catch (e) {
      if (e instanceof DirLockedError) {
        throw new Error(`--data-path=${dir} in use (possibly by another instance of nsqd)`, { cause: e });
      }
      throw new Error(`failed to lock data-path: ${pathError(e)}`, { cause: e });
    }
  }

  /** `host:port` actually bound (port 0 resolved), or the unix socket path. */
  tcpAddress(): string {
    return this.tcp?.address ?? "";
  }

  /** -1 on a unix socket, as nsqd reports it. */
  tcpPort(): number {
    return this.tcp?.port ?? -1;
  }

  /** `host:port` of the HTTP listener (port 0 resolved), its unix socket path, or "" when disabled. */
  httpAddress(): string {
    return this.http?.address() ?? "";
  }

  /** -1 on a unix socket, 0 when HTTP is disabled. */
  httpPort(): number {
    return this.http?.port() ?? 0;
  }

  /** 0 without an HTTPS listener. */
  httpsPort(): number {
    return this.https?.port() ?? 0;
  }

  async exit(): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    this.log.info("NSQ: closing");
    this.tcp?.stop(false);
    this.http?.stop();
    this.https?.stop();
    this.statsd?.stop();
    for (const c of [...this.clients.values()]) c.close();
    if (this.scanTimer !== null) clearInterval(this.scanTimer);
    try {
      this.persistMetadata();
    } catch (e) {
      this.log.error(`failed to persist metadata - ${(e as Error).message}`);
    }
    for (const t of this.topics.values()) t.exit(false);
    // lookupd forgets this nsqd's registrations when the connections close
    this.lookup.exit();
    this.tcp?.stop(true);
    this.http?.stop(true);
    this.https?.stop(true);
    this.dirLock.unlock();
  }

  // --- topics ---

  getTopic(name: string): Topic {
    let t = this.topics.get(name);
    if (t === undefined) {
      t = new Topic(name, this);
      this.topics.set(name, t);
      this.log.info(`TOPIC(${name}): created`);
      if (!t.ephemeral) this.schedulePersist();
      this.lookup.notify(name, null, true);
      const precreate = this.lookup.channelsToPrecreate(name);
      if (precreate !== null) {
        const topic = t;
        topic.hold();
        void precreate.then((channels) => {
          if (topic.exiting) return;
          for (const c of channels) topic.getChannel(c);
          topic.start();
        });
      }
    }
    return t;
  }

  deleteTopic(name: string): boolean {
    const t = this.topics.get(name);
    if (t === undefined) return false;
    this.topics.delete(name);
    this.log.info(`TOPIC(${name}): deleting`);
    this.lookup.notify(name, null, false);
    for (const c of t.channels.keys()) this.lookup.notify(name, c, false);
    t.exit(true);
    if (!t.ephemeral) this.schedulePersist();
    return true;
  }

  channelCreated(c: Channel): void {
    if (!c.ephemeral) this.schedulePersist();
    this.lookup.notify(c.topic.name, c.name, true);
  }

  channelDeleted(c: Channel): void {
    if (!c.ephemeral) this.schedulePersist();
    this.lookup.notify(c.topic.name, c.name, false);
  }

  openBackend(name: string, ephemeral: boolean): BackendQueue {
    if (ephemeral) return new DropBackend();
    const o = this.opts;
    return new DiskQueue({
      name,
      dataPath: this.dataPath,
      maxBytesPerFile: o.maxBytesPerFile,
      minMsgSize: MSG_HEADER_LENGTH,
      maxMsgSize: o.maxMsgSize + MSG_HEADER_LENGTH,
      syncEvery: o.syncEvery,
      syncTimeout: o.syncTimeout,
      log: (level, msg) => this.log[level](msg),
      fs: this.diskFs,
    });
  }

  openDeferredStore(name: string, ephemeral: boolean): DeferredStore | null {
    if (ephemeral) return null;
    return new DeferredStore(join(this.dataPath, `${name}.deferred.dat`), this.opts.memQueueSize === 0);
  }

  setHealth(err: Error | null): void {
    this.health = err === null ? null : err.message;
  }

  // --- clients ---

  addClient(c: Client): void {
    this.clients.set(c.id, c);
  }

  /** Once per client, however it went: nsqd's IOLoop and messagePump say goodbye. */
  removeClient(c: Client): void {
    if (!this.clients.delete(c.id)) return;
    this.log.info(`PROTOCOL(V2): [${c.remoteAddress}] exiting ioloop`);
    this.log.info(`PROTOCOL(V2): [${c.remoteAddress}] exiting messagePump`);
  }

  // --- timers ---

  private scanQueues(): void {
    const now = Date.now();
    for (const t of this.topics.values()) {
      for (const c of t.channels.values()) {
        if (c.inFlightPQ.length > 0 || c.deferredPQ.length > 0) c.processTimers(now);
      }
    }
  }

  // --- metadata (nsqd.dat) ---

  private loadMetadata(): void {
    let md: Metadata | null;
    try {
      md = readMetadata(this.dataPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).syscall === undefined) throw e;
      throw new Error(`failed to read metadata from ${metadataPath(this.dataPath)} - ${pathError(e)}`, { cause: e });
    }
    if (md === null) return;
    this.loading = true;
    try {
      for (const t of md.topics ?? []) {
        if (!isValidTopicName(t.name)) {
          this.log.warn(`skipping creation of invalid topic ${t.name}`);
          continue;
        }
        const topic = this.getTopic(t.name);
        if (t.paused) topic.pause();
        for (const c of t.channels ?? []) {
          if (!isValidChannelName(c.name)) {
            this.log.warn(`skipping creation of invalid channel ${c.name}`);
            continue;
          }
          const channel = topic.getChannel(c.name);
          if (c.paused) channel.pause();
        }
      }
    } finally {
      this.loading = false;
    }
  }

  /** Creates and deletes come in bursts; one write per turn of the event loop covers them. */
  schedulePersist(): void {
    if (this.loading || this.persistScheduled || this.exited) return;
    this.persistScheduled = true;
    setImmediate(() => {
      this.persistScheduled = false;
      if (this.exited) return;
      try {
        this.persistMetadata();
      } catch (e) {
        this.log.error(`failed to persist metadata - ${(e as Error).message}`);
      }
    });
  }

  persistMetadata(): void {
    const topics: NonNullable<Metadata["topics"]> = [];
    for (const t of this.topics.values()) {
      if (t.ephemeral) continue;
      const channels = [...t.channels.values()]
        .filter((c) => !c.ephemeral)
        .map((c) => ({ name: c.name, paused: c.paused }));
      topics.push({ name: t.name, paused: t.paused, channels });
    }
    writeMetadata(this.dataPath, topics);
  }
}

/** A file-system error as Go's *PathError prints it: `open /data/nsqd.dat: not a directory`. */
function pathError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.syscall === undefined || err.code === undefined) return err.message ?? String(e);
  const reason = osReason(err.code) ?? err.code;
  return err.path === undefined ? `${err.syscall}: ${reason}` : `${err.syscall} ${err.path}: ${reason}`;
}
