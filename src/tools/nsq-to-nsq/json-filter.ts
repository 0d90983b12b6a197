/**
 * nsq_to_nsq's JSON filters: `--require-json-field` (with `--require-json-value`) passes only messages that have
 * the field (with that value), and `--whitelist-json-field` re-encodes messages with only those fields, the way
 * Go's encoding/json writes them (keys sorted, numbers as written, `<`, `>`, `&` escaped).
 * @module
 */
import { parseFloatGo } from "../../core/options.ts";

/** A JSON number with its source text: go-simplejson decodes with UseNumber, so numbers pass through as written. */
class JsonNumber {
  constructor(readonly text: string) {}
}

type Json = null | boolean | string | JsonNumber | Json[] | { [key: string]: Json };

/** What to do with a message. */
export type Verdict =
  | { readonly action: "publish"; readonly body: Uint8Array }
  /** Filtered out (or not JSON): finish it without publishing. */
  | { readonly action: "drop" }
  /** The handler's error: requeue with backoff. */
  | { readonly action: "requeue"; readonly reason: string };

export interface JsonFilterOptions {
  whitelistJsonField: string[];
  requireJsonField: string;
  requireJsonValue: string;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class JsonFilter {
  private readonly requiredNumber: number | null;

  constructor(
    private readonly o: JsonFilterOptions,
    private readonly logError: (msg: string) => void,
  ) {
    let n: number | null = null;
    if (o.requireJsonValue !== "") {
      try {
        n = parseFloatGo(o.requireJsonValue);
      } catch {}
    }
    this.requiredNumber = n;
  }

  /** Whether any filter is set (messages are then parsed as JSON). */
  get active(): boolean {
    return this.o.requireJsonField !== "" || this.o.whitelistJsonField.length > 0;
  }

  /** NSQ's HandleMessage before the publish: parse, require, whitelist. */
  apply(body: Uint8Array): Verdict {
    if (!this.active) return { action: "publish", body };
    const msg = parse(body);
    if (msg === undefined) {
      this.logError(`Unable to decode json: ${decoder.decode(body)}`);
      return { action: "drop" };
    }
    const pass = this.shouldPass(msg);
    if (pass === "backoff") return { action: "requeue", reason: "backoff" };
    if (!pass) return { action: "drop" };
    if (this.o.whitelistJsonField.length === 0) return { action: "publish", body };
    if (!isObject(msg)) {
      this.logError("filterMessage() failed: json is not an object");
      return { action: "requeue", reason: "json is not an object" };
    }
    const kept: { [key: string]: Json } = Object.create(null); // a "__proto__" field is a field
    for (const key of this.o.whitelistJsonField) if (Object.hasOwn(msg, key)) kept[key] = msg[key]!;
    return { action: "publish", body: encoder.encode(marshal(kept)) };
  }

  private shouldPass(msg: Json): boolean | "backoff" {
    const field = this.o.requireJsonField;
    if (field === "") return true;
    const want = this.o.requireJsonValue;
    if (!isObject(msg) || !Object.hasOwn(msg, field)) {
      if (want === "") return false;
      this.logError("missing field to check required value");
      return "backoff";
    }
    if (want === "") return true;
    const v = msg[field];
    if (typeof v === "string") return v === want;
    // Only a number can match a value that parses as one (integers up to 2^53 compare exactly as float64).
    if (this.requiredNumber !== null && v instanceof JsonNumber) return Number(v.text) === this.requiredNumber;
    return false;
  }
}

function isObject(v: Json): v is { [key: string]: Json } {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof JsonNumber);
}

function parse(body: Uint8Array): Json | undefined {
  try {
    return JSON.parse(decoder.decode(body), (_key, value: unknown, context?: { source?: string }) =>
      typeof value === "number" ? new JsonNumber(context?.source ?? String(value)) : value,
    ) as Json;
  } catch {
    return undefined;
  }
}

const HEX = "0123456789abcdef";

/** Go's encoding/json string encoding (HTML-safe; NSQ 1.3's Go writes \b and \f as \u0008 and \u000c). */
function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) out += `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
    else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) out += s[i]! + s[++i]!;
    else if (c >= 0xd800 && c <= 0xdfff) out += "\ufffd";
    else out += s[i];
  }
  return `${out}"`;
}

const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Go's `json.Marshal` of what go-simplejson decoded: object keys in byte order, numbers as written.
 * @example marshal({ b: 1, a: "<x>" }) // '{"a":"\u003cx\u003e","b":1}'
 */
function marshal(v: Json): string {
  if (v === null) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "string") return quote(v);
  if (v instanceof JsonNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map(marshal).join(",")}]`;
  return `{${Object.keys(v)
    .sort(byUtf8)
    .map((k) => `${quote(k)}:${marshal(v[k]!)}`)
    .join(",")}}`;
}
