/**
 * nsq_to_file's file names: `--filename-format` tokens (`<TOPIC>`, `<HOST>`, `<PID>`, `<DATETIME>`, `<REV>`) and
 * `--datetime-format`, the strftime subset NSQ's strftime.go converts (`%Y %y %m %d %H %I %M %S %p %B %b %A %a
 * %Z %z %%`; any other `%x` stays as written).
 * @module
 */
import { hostname } from "node:os";

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const p2 = (n: number) => String(n).padStart(2, "0");

function zoneOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const abs = Math.abs(off);
  return `${off < 0 ? "-" : "+"}${p2(Math.trunc(abs / 60))}${p2(abs % 60)}`;
}

function zoneName(d: Date): string {
  return new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(d).find((x) => x.type === "timeZoneName")?.value ?? zoneOffset(d);
}

const FIELDS: Record<string, (d: Date) => string> = {
  B: (d) => MONTHS[d.getMonth()]!,
  b: (d) => MONTHS[d.getMonth()]!.slice(0, 3),
  m: (d) => p2(d.getMonth() + 1),
  A: (d) => DAYS[d.getDay()]!,
  a: (d) => DAYS[d.getDay()]!.slice(0, 3),
  d: (d) => p2(d.getDate()),
  H: (d) => p2(d.getHours()),
  I: (d) => p2(d.getHours() % 12 || 12),
  M: (d) => p2(d.getMinutes()),
  S: (d) => p2(d.getSeconds()),
  Y: (d) => String(d.getFullYear()).padStart(4, "0"),
  y: (d) => p2(d.getFullYear() % 100),
  p: (d) => (d.getHours() < 12 ? "AM" : "PM"),
  Z: zoneName,
  z: zoneOffset,
  "%": () => "%",
};

/**
 * Formats `d` (local time) like NSQ's strftime. Unlike Go's layout-based version, text outside `%` sequences
 * is kept as written (Go would read a literal `1` or `Jan` in the format as a layout element).
 * @example strftime("%Y-%m-%d_%H", new Date(2024, 0, 2, 3)) // "2024-01-02_03"
 */
export function strftime(format: string, d: Date): string {
  let out = "";
  for (let i = 0; i < format.length; i++) {
    const field = format[i] === "%" ? FIELDS[format[i + 1] ?? ""] : undefined;
    if (field !== undefined) {
      out += field(d);
      i++;
    } else {
      out += format[i];
    }
  }
  return out;
}

/** What the file name depends on besides the topic. */
export interface FilenameOptions {
  filenameFormat: string;
  hostIdentifier: string;
  gzip: boolean;
  rotateSize: number;
  rotateInterval: number;
  workDir: string;
  outputDir: string;
}

/** Whether `<REV>` is needed: a file is never reopened for appending, or is moved when done. */
export function needsRev(o: FilenameOptions): boolean {
  return o.gzip || o.rotateSize > 0 || o.rotateInterval > 0 || o.workDir !== o.outputDir;
}

/**
 * The per-topic name template (NSQ's computeFilenameFormat): `<TOPIC>`, `<HOST>` and `<PID>` replaced, `<REV>`
 * kept when needed and dropped otherwise, `.gz` appended with `--gzip`. `<DATETIME>` is filled per file.
 * @throws Error when `<REV>` is needed and missing
 * @example filenameTemplate({ ...opts, filenameFormat: "<TOPIC>.<HOST><REV>.<DATETIME>.log" }, "events")
 */
export function filenameTemplate(o: FilenameOptions, topic: string, host = hostname()): string {
  const shortHost = host.split(".")[0] ?? host;
  const identifier = o.hostIdentifier === "" ? shortHost : o.hostIdentifier.replaceAll("<SHORT_HOST>", shortHost).replaceAll("<HOSTNAME>", host);
  let f = o.filenameFormat;
  if (needsRev(o)) {
    if (!f.includes("<REV>")) throw new Error("missing <REV> in --filename-format when gzip, rotation, or work dir enabled");
  } else {
    f = f.replaceAll("<REV>", "");
  }
  f = f.replaceAll("<TOPIC>", topic).replaceAll("<HOST>", identifier).replaceAll("<PID>", String(process.pid));
  if (o.gzip && !f.endsWith(".gz")) f += ".gz";
  return f;
}

/** `<REV>` as NSQ writes it: `-000000`, `-000001`, … */
export function withRev(template: string, rev: number): string {
  return template.replaceAll("<REV>", `-${String(rev).padStart(6, "0")}`);
}
