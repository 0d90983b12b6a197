/**
 * Declarative option specs: one table per program holds NSQ's flag names, defaults, help text,
 * config-file keys and zod validation. `flags.ts` parses argv and TOML against it.
 *
 * @example
 * const spec = defineOptions("nsqlookupd", {
 *   "tcp-address": flag.string("0.0.0.0:4160", "<addr>:<port> to listen on for TCP clients"),
 *   "tombstone-lifetime": flag.duration(45_000, "duration of time a producer will remain tombstoned"),
 * });
 * type LookupdOptions = Options<typeof spec>; // { tcpAddress: string; tombstoneLifetime: number }
 * @module
 */
import { z } from "zod/mini";
import en from "zod/v4/locales/en.js";
import { formatDuration, parseDuration } from "./duration.ts";
import { LOG_LEVELS, type LogLevel } from "./log.ts";

/** Go's usage type word (`flag.UnquoteUsage`); `""` for booleans. */
export type TypeName = "" | "string" | "int" | "float" | "duration" | "value";

// zod/mini ships without messages ("Invalid input"); classic zod installs English ones, which issues like
// `--e2e-processing-latency-percentile Invalid input: expected number, received NaN` rely on.
z.config(en());

/** One flag: how to parse it from argv and TOML, validate it, and show it in usage. */
export interface FlagDef<T = unknown> {
  readonly type: TypeName;
  readonly help: string;
  /** A function for defaults that depend on the host (hostname, node id). */
  readonly default: T | (() => T);
  /** Config-file key when it is not the flag name with `-` → `_`; `null` when not settable from a config file. */
  readonly cfg?: string | null;
  /** A bare `-flag` means `-flag=true`; a value needs `-flag=value` (Go's IsBoolFlag). */
  readonly isBool: boolean;
  /** Each occurrence adds to the value instead of replacing it. */
  readonly repeatable: boolean;
  /** Deprecated: accepted, has no effect, not part of the options object. */
  readonly ignored: boolean;
  /** Parses one command-line occurrence; `prev` is what earlier occurrences gave. Throws with the reason. */
  parse(raw: string, prev: T | undefined): T;
  /** Coerces a decoded TOML value. Throws with the reason. */
  fromConfig(value: unknown): T;
  /** Validates and normalises the resolved value; issue messages read after the flag name ("must be [1,9]"). */
  readonly schema: z.ZodMiniType<T>;
  /** The default as usage shows it; `""` hides it, as Go hides zero values. */
  show(value: T): string;
}

type AnyDef = FlagDef<any>;
export type Spec = Record<string, AnyDef>;

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;

/** The parsed options object: camelCase of each flag name, e.g. `max-msg-size` → `maxMsgSize`. */
export type Options<S extends Spec> = {
  -readonly [K in keyof S & string as S[K]["ignored"] extends true ? never : Camel<K>]: S[K] extends FlagDef<infer T>
    ? T
    : never;
};

export interface FlagEntry {
  readonly name: string;
  readonly key: string;
  readonly cfgKey: string | null;
  readonly def: AnyDef;
}

/** Thrown for option values that parse but are not acceptable; the message names the flag or key. */
export class OptionsError extends Error {
  override readonly name = "OptionsError";
}

export interface OptionsSpec<O> {
  readonly program: string;
  /** By flag name, in declaration order. */
  readonly flags: ReadonlyMap<string, FlagEntry>;
  defaults(): O;
  /** Validates a complete record of resolved values keyed by option key; throws `OptionsError`. */
  validate(values: Record<string, unknown>): O;
}

/**
 * Builds a program's option spec from a table keyed by NSQ flag name.
 * `finalize` sees validated options for cross-flag rules; it may adjust them or throw `OptionsError`.
 */
export function defineOptions<S extends Spec>(
  program: string,
  spec: S,
  finalize?: (opts: Options<S>) => Options<S>,
): OptionsSpec<Options<S>> {
  const flags = new Map<string, FlagEntry>();
  const shape: Record<string, z.ZodMiniType> = {};
  for (const [name, def] of Object.entries(spec)) {
    const key = camel(name);
    const cfgKey = def.cfg === null ? null : (def.cfg ?? name.replaceAll("-", "_"));
    flags.set(name, { name, key, cfgKey, def });
    if (!def.ignored) shape[key] = def.schema;
  }
  const schema = z.object(shape);
  const byKey = new Map([...flags.values()].map((e) => [e.key, e.name]));

  function validate(values: Record<string, unknown>): Options<S> {
    const result = schema.safeParse(values);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const name = byKey.get(String(issue.path[0])) ?? String(issue.path[0]);
      throw new OptionsError(`--${name} ${issue.message}`);
    }
    const opts = result.data as Options<S>;
    return finalize ? finalize(opts) : opts;
  }

  return {
    program,
    flags,
    validate,
    defaults: () => {
      const values: Record<string, unknown> = {};
      for (const e of flags.values()) if (!e.def.ignored) values[e.key] = defaultOf(e.def);
      return validate(values);
    },
  };
}

/**
 * Warnings for NSQ flags a program accepts, so that NSQ's command lines and config files keep working, but
 * that change nothing in it: one for each flag in `noEffect` (flag name → why) given other than its default.
 */
export function noEffectWarnings<O>(spec: OptionsSpec<O>, opts: O, noEffect: Readonly<Record<string, string>>): string[] {
  const values = opts as unknown as Record<string, unknown>;
  return Object.entries(noEffect)
    .filter(([name]) => {
      const e = spec.flags.get(name)!;
      return JSON.stringify(values[e.key]) !== JSON.stringify(defaultOf(e.def));
    })
    .map(([, warning]) => warning);
}

export function defaultOf<T>(def: FlagDef<T>): T {
  return typeof def.default === "function" ? (def.default as () => T)() : def.default;
}

function camel(flagName: string): string {
  return flagName.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

interface Common<T> {
  cfg?: string | null;
  /** zod/mini checks added to the base schema, e.g. `[z.minimum(1, "must be [1,9]"), z.maximum(9, "must be [1,9]")]`. */
  checks?: readonly z.core.$ZodCheck<T>[];
}

function make<T>(
  base: z.ZodMiniType<T>,
  o: Common<T> | undefined,
  def: Omit<FlagDef<T>, "schema" | "cfg" | "isBool" | "repeatable" | "ignored"> & Partial<FlagDef<T>>,
): FlagDef<T> {
  return {
    isBool: false,
    repeatable: false,
    ignored: false,
    ...def,
    cfg: o?.cfg,
    schema: withChecks(base, o),
  };
}

function withChecks<T>(base: z.ZodMiniType<T>, o: Common<T> | undefined): z.ZodMiniType<T> {
  return o?.checks?.length ? base.check(...o.checks) : base;
}

function string(dflt: string | (() => string), help: string, o?: Common<string>): FlagDef<string> {
  return make(z.string(), o, {
    type: "string",
    help,
    default: dflt,
    parse: (raw) => raw,
    fromConfig: (v) => {
      if (typeof v !== "string") throw new Error("expected a string");
      return v;
    },
    show: (v) => (v === "" ? "" : JSON.stringify(v)),
  });
}

function bool(dflt: boolean, help: string, o?: Common<boolean>): FlagDef<boolean> {
  return make(z.boolean(), o, {
    type: "",
    help,
    default: dflt,
    isBool: true,
    parse: parseBool,
    // go-options turns a TOML integer into `value == 0` (inverted); refusing it is kinder than copying the bug.
    fromConfig: (v) => {
      if (typeof v === "boolean") return v;
      if (typeof v === "string") return parseBool(v);
      throw new Error("expected true or false");
    },
    show: (v) => (v ? "true" : ""),
  });
}

function int(dflt: number | (() => number), help: string, o?: Common<number>): FlagDef<number> {
  return make(z.int(), o, {
    type: "int",
    help,
    default: dflt,
    parse: parseInt0,
    fromConfig: (v) => {
      if (typeof v === "number" && Number.isSafeInteger(v)) return v;
      if (typeof v === "string" && /^[+-]?\d+$/.test(v)) return parseInt0(v);
      throw new Error("expected an integer");
    },
    show: (v) => (v === 0 ? "" : String(v)),
  });
}

/** Durations are milliseconds; argv takes Go syntax (`250ms`), TOML takes Go syntax or an integer of milliseconds. */
function duration(dflt: number, help: string, o?: Common<number>): FlagDef<number> {
  return make(z.number(), o, {
    type: "duration",
    help,
    default: dflt,
    parse: parseDuration,
    fromConfig: (v) => {
      if (typeof v === "string") return parseDuration(v);
      if (typeof v === "number" && Number.isInteger(v)) return v;
      throw new Error("expected a duration string like \"60s\" or an integer of milliseconds");
    },
    show: (v) => (v === 0 ? "" : formatDuration(v)),
  });
}

/** Go `flag.Float64` (`strconv.ParseFloat` syntax). */
function float(dflt: number, help: string, o?: Common<number>): FlagDef<number> {
  return make(z.number(), o, {
    type: "float",
    help,
    default: dflt,
    parse: parseFloatGo,
    fromConfig: (v) => {
      if (typeof v === "number") return v;
      if (typeof v === "string") return parseFloatGo(v);
      throw new Error("expected a number");
    },
    show: (v) => (v === 0 ? "" : String(v)),
  });
}

/** Repeatable string flag (Go `app.StringArray`); TOML takes an array or a comma-separated string. */
function strings(help: string, o?: Common<string[]>): FlagDef<string[]> {
  return make(z.array(z.string()), o, {
    type: "value",
    help,
    default: () => [],
    repeatable: true,
    parse: (raw, prev) => [...(prev ?? []), raw],
    fromConfig: (v) => {
      if (typeof v === "string") return v.split(",");
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
      throw new Error("expected an array of strings or a comma-separated string");
    },
    show: () => "",
  });
}

/** Repeatable float flag (Go `app.FloatArray`): each occurrence may be a comma list; kept sorted descending. */
function floats(help: string, o?: Common<number[]>): FlagDef<number[]> {
  const sortDescending = z.transform((a: number[]) => a.toSorted((x, y) => y - x));
  return {
    type: "value",
    help,
    default: () => [],
    cfg: o?.cfg,
    isBool: false,
    repeatable: true,
    ignored: false,
    parse: (raw, prev) => [...(prev ?? []), ...raw.split(",").map((s) => parseFloatGo(s.trim()))],
    fromConfig: (v) => {
      if (typeof v === "string") return v.split(",").map((s) => parseFloatGo(s.trim()));
      if (Array.isArray(v)) return v.map((x) => (typeof x === "number" ? x : parseFloatGo(String(x).trim())));
      throw new Error("expected an array of numbers or a comma-separated string");
    },
    schema: z.pipe(withChecks(z.array(z.number()), o), sortDescending),
    show: () => "",
  };
}

interface ChoiceOpts<V extends string> extends Common<V> {
  /** Other spellings accepted (after lower-casing), e.g. `{ t: "true" }`. */
  aliases?: Record<string, V>;
  /** A bare `-flag` means `-flag=true` and `"false"` is the zero value (Go's IsBoolFlag on a Var). */
  boolLike?: boolean;
}

/** A string restricted to `values`, matched case-insensitively. */
function choice<const V extends string>(
  values: readonly V[],
  dflt: V,
  help: string,
  o?: ChoiceOpts<V>,
): FlagDef<V> {
  const parse = (raw: string): V => {
    const s = raw.toLowerCase();
    const v = (values as readonly string[]).includes(s) ? (s as V) : o?.aliases?.[s];
    if (v === undefined) throw new Error(`must be one of ${values.join(", ")}`);
    return v;
  };
  return make(z.enum(values as [V, ...V[]]) as unknown as z.ZodMiniType<V>, o, {
    type: o?.boolLike ? "" : "string",
    help,
    default: dflt,
    isBool: o?.boolLike === true,
    parse,
    fromConfig: (v) => {
      if (typeof v !== "string" && typeof v !== "boolean") throw new Error(`must be one of ${values.join(", ")}`);
      return parse(String(v));
    },
    show: (v) => (v === "" || (o?.boolLike && v === "false") ? "" : JSON.stringify(v)),
  });
}

/** A deprecated boolean flag that is accepted and ignored. */
function deprecated(help: string): FlagDef<boolean> & { readonly ignored: true } {
  return { ...bool(false, help, { cfg: null }), ignored: true };
}

/** Flag builders for `defineOptions` tables. */
export const flag = { string, bool, int, float, duration, strings, floats, choice, deprecated } as const;

const BOOL_TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const BOOL_FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** Go `strconv.ParseBool`. */
function parseBool(raw: string): boolean {
  if (BOOL_TRUE.has(raw)) return true;
  if (BOOL_FALSE.has(raw)) return false;
  throw new Error("parse error");
}

const INT_SYNTAX = /^(0[xX](_?[0-9a-fA-F])+|0[bB](_?[01])+|0[oO](_?[0-7])+|0(_?[0-7])*|[1-9](_?\d)*)$/;

/** Go `strconv.ParseInt(s, 0, 64)` (prefixes 0x, 0o, 0b, leading-0 octal, `_` separators), limited to safe integers. */
export function parseInt0(raw: string): number {
  const neg = raw.startsWith("-");
  const body = raw.replace(/^[+-]/, "");
  if (!INT_SYNTAX.test(body)) throw new Error("parse error");
  const digits = body.replaceAll("_", "");
  const n = Number(BigInt(/^0\d/.test(digits) ? `0o${digits.slice(1)}` : digits));
  if (!Number.isSafeInteger(n)) throw new Error("value out of range");
  return neg ? -n : n;
}

/** Go `strconv.ParseFloat(s, 64)` for decimal syntax and inf/nan. */
export function parseFloatGo(raw: string): number {
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(raw)) return Number(raw);
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(raw);
  if (special) return special[2]!.toLowerCase() === "nan" ? NaN : special[1] === "-" ? -Infinity : Infinity;
  throw new Error("parse error");
}

/** NSQ's `--log-level` values, least to most severe. */
export { LOG_LEVELS, type LogLevel };

/** `--log-level`, `--log-prefix` and the deprecated `--verbose`, shared by nsqd, nsqlookupd and nsqadmin. */
export function logFlags(program: string) {
  return {
    "log-level": flag.choice(LOG_LEVELS, "info", "set log verbosity: debug, info, warn, error, or fatal"),
    "log-prefix": flag.string(`[${program}] `, "log message prefix"),
    verbose: flag.deprecated("[deprecated] has no effect, use --log-level"),
  };
}
