/**
 * How the pages write numbers, as nsqadmin's handlebars helpers do (`commafy`, `nanotohuman`,
 * `floatToPercent`, `percSuffix`).
 * @module
 */

/** 1234567 → "1,234,567". */
export function commafy(n: number | undefined | null): string {
  return (n ?? 0).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;

/** Nanoseconds as nsqadmin shows them: `1h2m3.5s`, `12.3ms`, `800ns`. */
export function nanotohuman(n: number): string {
  let s = "";
  if (n >= 3_600_000_000_000) {
    s = `${Math.floor(n / 3_600_000_000_000)}h`;
    n %= 3_600_000_000_000;
  }
  if (n >= 60_000_000_000) {
    s += `${Math.floor(n / 60_000_000_000)}m`;
    n %= 60_000_000_000;
  }
  if (n >= 1e9) return `${s}${round(n / 1e9, 2)}s`;
  if (n >= 1e6) return `${s}${round(n / 1e6, 2)}ms`;
  if (n >= 1e3) return `${s}${round(n / 1e3, 2)}us`;
  return s === "" ? `${n}ns` : s;
}

/** 0.99 → "99th", 0.5 → "50th". */
export function percentileLabel(q: number): string {
  const p = Math.floor(q * 100);
  const last = p % 10;
  return `${p}${last === 1 ? "st" : last === 2 ? "nd" : last === 3 ? "rd" : "th"}`;
}

/** Messages per second, or a dash before the admin has two samples. */
export function rateText(r: number | null | undefined): string {
  if (r === null || r === undefined) return "–";
  return `${r < 10 ? r.toFixed(1) : commafy(Math.round(r))}/s`;
}
