/**
 * What the bench tools print, as NSQ's do: Go's `log` with a `[bench_writer] ` prefix and standard flags
 * (`2006/01/02 15:04:05 `), the one-line result, and `--deadline` parsed as Go's `time.Parse` does.
 * @module
 */
import { formatDuration } from "../../core/duration.ts";

/** `<prefix>2006/01/02 15:04:05 <msg>\n`, local time, as Go's `log.Printf` with `log.LstdFlags`. */
export function logLine(prefix: string, msg: string, epochMs = Date.now()): string {
  const d = new Date(epochMs);
  const p = (n: number) => String(n).padStart(2, "0");
  const date = `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())}`;
  return `${prefix}${date} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${msg}\n`;
}

/** Go's `%.03f`, including `+Inf` and `NaN`. */
export function goFixed3(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  return x.toFixed(3);
}

/**
 * bench_writer's and bench_reader's result: `duration: 10.000354289s - 41.081mb/s - 215384.712ops/s - 4.643us/op`.
 * @param durationMs the whole run, with sub-millisecond precision
 * @param count messages published or received
 * @param size the `--size` flag (mb/s is count × size, as in Go, whatever the real body size was)
 */
export function resultLine(durationMs: number, count: number, size: number): string {
  const seconds = durationMs / 1000;
  const micros = Math.trunc(Math.round(durationMs * 1e6) / 1000); // Go: duration / time.Microsecond
  return (
    `duration: ${formatDuration(durationMs)} - ${goFixed3((count * size) / seconds / 1024 / 1024)}mb/s - ` +
    `${goFixed3(count / seconds)}ops/s - ${goFixed3(micros / count)}us/op`
  );
}

const DEADLINE_LAYOUT = "2006-01-02 15:04:05";

/**
 * `--deadline` as Go's `time.Parse("2006-01-02 15:04:05", s)`: UTC, since the layout has no zone.
 * @returns epoch milliseconds
 * @throws Error worded like Go's parse error
 */
export function parseDeadline(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(s);
  const quoted = JSON.stringify(s);
  if (!m) throw new Error(`parsing time ${quoted} as ${JSON.stringify(DEADLINE_LAYOUT)}: cannot parse ${quoted}`);
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) {
    throw new Error(`parsing time ${quoted}: day out of range`);
  }
  return t;
}

/** Go's `Time.String()` of a UTC time without fractions: `2026-01-01 10:00:00 +0000 UTC`. */
export function utcString(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19).replace("T", " ")} +0000 UTC`;
}

/**
 * The `--deadline` wait shared by the tools: logs Go's `sleeping until <t> (<d>)` and sleeps (not at all
 * when the deadline has passed, as `time.Sleep` of a negative duration).
 */
export async function waitForDeadline(deadline: string, log: (msg: string) => void): Promise<void> {
  if (deadline === "") return;
  const t = parseDeadline(deadline);
  const d = t - Date.now();
  log(`sleeping until ${utcString(t)} (${formatDuration(d)})`);
  if (d > 0) await Bun.sleep(d);
}

/**
 * Nearest-rank percentile of sorted samples.
 * @example percentile(Float64Array.of(1, 2, 3, 4), 0.5) // 2
 */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
