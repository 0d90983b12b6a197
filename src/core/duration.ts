/**
 * Go `time.Duration` text in and out, with milliseconds as our unit.
 * @module
 */

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  "µs": 1e3, // U+00B5 micro sign
  "μs": 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

// Go's Duration is an int64 of nanoseconds.
const MAX_NS = 2 ** 63 - 1;

/**
 * Parses Go `time.ParseDuration` syntax into milliseconds (fractions kept, `"250us"` → `0.25`).
 * A bare number other than `"0"` is an error, as in Go.
 * @example parseDuration("1m30s") // 90000
 * @throws Error with Go's wording, e.g. `time: missing unit in duration "5"`
 */
export function parseDuration(text: string): number {
  let s = text;
  let sign = 1;
  if (s[0] === "-" || s[0] === "+") {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw new Error(`time: invalid duration ${quote(text)}`);
  let ns = 0;
  while (s !== "") {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, int = "", frac] = m;
    if (int === "" && !frac) throw new Error(`time: invalid duration ${quote(text)}`);
    s = s.slice(whole.length);
    const unit = /^[^\d.]*/.exec(s)![0];
    if (unit === "") throw new Error(`time: missing unit in duration ${quote(text)}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit ${quote(unit)} in duration ${quote(text)}`);
    s = s.slice(unit.length);
    ns += Number(int || "0") * scale + (frac ? Number(`0.${frac}`) * scale : 0);
    if (ns > MAX_NS) throw new Error(`time: invalid duration ${quote(text)}`);
  }
  return (sign * Math.round(ns)) / 1e6;
}

/**
 * Formats milliseconds the way Go's `Duration.String()` does (`60000` → `"1m0s"`, `250` → `"250ms"`).
 */
export function formatDuration(ms: number): string {
  let ns = Math.round(Math.abs(ms) * 1e6);
  const sign = ms < 0 && ns !== 0 ? "-" : "";
  if (ns === 0) return "0s";
  if (ns < 1e9) {
    const [unit, div] = ns < 1e3 ? ["ns", 1] : ns < 1e6 ? ["µs", 1e3] : ["ms", 1e6];
    return sign + fixed(ns, div) + unit;
  }
  const h = Math.floor(ns / 3600e9);
  ns -= h * 3600e9;
  const m = Math.floor(ns / 60e9);
  ns -= m * 60e9;
  let out = `${fixed(ns, 1e9)}s`;
  if (h > 0 || m > 0) out = `${m}m${out}`;
  if (h > 0) out = `${h}h${out}`;
  return sign + out;
}

function fixed(n: number, div: number): string {
  const int = Math.floor(n / div);
  const rest = n - int * div;
  if (rest === 0) return String(int);
  const digits = String(div).length - 1;
  return `${int}.${String(rest).padStart(digits, "0").replace(/0+$/, "")}`;
}

function quote(s: string): string {
  return JSON.stringify(s);
}
