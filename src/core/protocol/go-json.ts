/**
 * Go's `json.Unmarshal` into a flat struct, for the JSON bodies NSQ's protocols decode (IDENTIFY): keys match
 * the field names case-insensitively, unknown keys are ignored, null leaves a field at its zero value, and a
 * value of the wrong type fails the whole body. An int field takes only what `strconv.ParseInt` takes
 * (`1.0` and `1e3` are type errors in Go). Invalid UTF-8 inside a string becomes U+FFFD, as in Go.
 * @module
 */

/** A field's Go type. `int` is bounded to JavaScript's safe integers, not int64's full range. */
export type GoKind = "string" | "bool" | "int" | "int32";

/** Field name (lower case, as the struct's json tag) → Go type. */
export type GoFields = Readonly<Record<string, GoKind>>;

type GoValue<K extends GoKind> = K extends "string" ? string : K extends "bool" ? boolean : number;

/** The decoded struct: every field present, at its zero value when the body left it out. */
export type GoStruct<F extends GoFields> = { -readonly [K in keyof F]: GoValue<F[K]> };

const ZERO: Record<GoKind, string | boolean | number> = { string: "", bool: false, int: 0, int32: 0 };
const INT_TEXT = /^-?\d+$/;
const INT32 = 2 ** 31;
const utf8 = new TextDecoder();

/** A JSON number with its source text, so an int field can refuse what Go's decoder refuses. */
class GoNumber {
  constructor(readonly text: string) {}
}

/**
 * Returns null where Go's `json.Unmarshal(body, &struct)` returns an error.
 * @example unmarshalStruct(body, { version: "string", tcp_port: "int" }) // { version: "1.3.0", tcp_port: 4150 } | null
 */
export function unmarshalStruct<F extends GoFields>(body: Uint8Array, fields: F): GoStruct<F> | null {
  let raw: unknown;
  try {
    raw = JSON.parse(utf8.decode(body), (_key, value: unknown, context?: { source?: string }) =>
      typeof value === "number" ? new GoNumber(context?.source ?? String(value)) : value,
    );
  } catch {
    return null;
  }
  const out: Record<string, unknown> = {};
  for (const [name, kind] of Object.entries(fields)) out[name] = ZERO[kind];
  if (raw === null) return out as GoStruct<F>;
  if (typeof raw !== "object" || Array.isArray(raw) || raw instanceof GoNumber) return null;
  for (const [key, value] of Object.entries(raw)) {
    const name = key.toLowerCase();
    if (!Object.hasOwn(fields, name) || value === null) continue;
    const v = decodeValue(fields[name]!, value);
    if (v === undefined) return null;
    out[name] = v;
  }
  return out as GoStruct<F>;
}

function decodeValue(kind: GoKind, value: unknown): string | boolean | number | undefined {
  switch (kind) {
    case "string":
      return typeof value === "string" ? value : undefined;
    case "bool":
      return typeof value === "boolean" ? value : undefined;
    case "int":
    case "int32": {
      if (!(value instanceof GoNumber) || !INT_TEXT.test(value.text)) return undefined;
      const n = Number(value.text);
      const ok = kind === "int" ? Number.isSafeInteger(n) : n >= -INT32 && n < INT32;
      return ok ? n : undefined;
    }
  }
}
