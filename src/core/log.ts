/**
 * NSQ-style levelled logging on consola: `<prefix>YYYY/MM/DD HH:MM:SS.micro LEVEL: msg` on stderr,
 * as Go's `log.New(os.Stderr, prefix, Ldate|Ltime|Lmicroseconds)` with NSQ's `internal/lg` levels.
 * It imports nothing that configures anything global: the client library uses it inside host programs.
 * @module
 */
import { writeSync } from "node:fs";
import { type ConsolaReporter, createConsola, type LogType } from "consola/core";

/** NSQ's `--log-level` values, least severe first. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** NSQ's level names as printed (`lg.LogLevel.String()`). */
const LABEL: Record<LogLevel, string> = {
  debug: "DEBUG",
  info: "INFO",
  warn: "WARNING",
  error: "ERROR",
  fatal: "FATAL",
};

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, fatal: 4 };

/**
 * consola's level for each of NSQ's: consola filters and dispatches. It has one level for error and fatal
 * (0), so `--log-level=fatal` alone also silences `error` here.
 */
const CONSOLA_LEVEL: Record<LogLevel, number> = { debug: 4, info: 3, warn: 1, error: 0, fatal: 0 };

export interface Logger {
  /** True when `level` would be written; guard hot-path messages that cost something to build. */
  enabled(level: LogLevel): boolean;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Logs at FATAL; exiting is the caller's decision (NSQ's daemons log fatal and keep running too). */
  fatal(msg: string): void;
  /** Changes the level at run time (nsqd's `PUT /config/log_level`). */
  setLevel?(level: LogLevel): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  prefix?: string;
  /** Receives each complete line including `\n`; defaults to a synchronous write to stderr. */
  write?: (line: string) => void;
  /** Clock in epoch milliseconds, for tests. */
  now?: () => number;
}

/**
 * @example
 * const log = createLogger({ level: opts.logLevel, prefix: opts.logPrefix });
 * log.info(`TCP: listening on ${addr}`);
 * if (log.enabled("debug")) log.debug(`PROTOCOL(V2): [${id}] ${cmd}`);
 */
export function createLogger(o: LoggerOptions = {}): Logger {
  let min = RANK[o.level ?? "info"];
  const prefix = o.prefix ?? "";
  const write = o.write ?? writeStderr;
  const now = o.now ?? (() => performance.timeOrigin + performance.now());
  const reporter: ConsolaReporter = {
    log: (obj) => write(`${prefix}${timestamp(now())} ${LABEL[obj.type as LogLevel]}: ${obj.args[0]}\n`),
  };
  // No throttling: repeated identical lines are real events for a daemon.
  const consola = createConsola({ throttle: 0, reporters: [reporter] });
  const logger = { enabled: (level: LogLevel) => RANK[level] >= min } as Logger;
  const bind = () => {
    consola.level = CONSOLA_LEVEL[LOG_LEVELS[min]!];
    for (const level of LOG_LEVELS) {
      // a disabled level is a no-op function, so a hot path pays one call and builds no arguments object
      logger[level] = RANK[level] >= min ? consola[level as LogType].bind(consola) : () => {};
    }
  };
  logger.setLevel = (level) => {
    min = RANK[level];
    bind();
  };
  bind();
  return logger;
}

/**
 * A reader of stderr that went away must not turn a clean shutdown into a failed one (nsqd persists its
 * queues on the way out, and logs while doing so): a line that cannot be written is dropped.
 */
function writeStderr(line: string): void {
  try {
    writeSync(2, line);
  } catch {}
}

/** Go's log date/time with microseconds, local time: `2006/01/02 15:04:05.000000`. */
export function timestamp(epochMs: number): string {
  const d = new Date(Math.floor(epochMs));
  const micros = Math.floor((epochMs - Math.floor(epochMs / 1000) * 1000) * 1000);
  return (
    `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${String(micros).padStart(6, "0")}`
  );
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
