/**
 * Command-line and config-file parsing that behaves like Go's `flag` package plus go-options' `Resolve`,
 * against an `OptionsSpec` from `options.ts`. Everything here is pure: results say what to print and
 * which exit code to use, and `cli/` does the printing.
 * @module
 */
import { readFileSync } from "node:fs";
import { defaultOf, flag, type FlagDef, type FlagEntry, OptionsError, type OptionsSpec } from "./options.ts";

const VERSION: FlagEntry = { name: "version", key: "version", cfgKey: null, def: flag.bool(false, "print version string") };
const CONFIG: FlagEntry = { name: "config", key: "config", cfgKey: null, def: flag.string("", "path to config file") };

/** A command line Go's flag package would reject: print `message` and usage on stderr, exit 2. */
export class FlagError extends Error {
  override readonly name = "FlagError";
}

export interface ParseOptions {
  /** Accept `--config FILE` (TOML), as nsqd, nsqlookupd and nsqadmin do. */
  config?: boolean;
}

export interface ParsedArgs {
  /** Values of the flags given on the command line, by flag name. */
  readonly given: ReadonlyMap<string, unknown>;
  /** What follows the flags: everything after `--` or from the first non-flag argument on. */
  readonly args: string[];
  readonly version: boolean;
  readonly help: boolean;
  readonly config: string;
}

/**
 * Parses argv like Go's `FlagSet.Parse`: `-f` == `--f`; `-f=v` or `-f v`; booleans only take `-f=v`;
 * `--` ends flags; the first non-flag argument stops parsing; `-h`/`-help` ask for usage.
 * @throws FlagError with Go's wording, e.g. `flag provided but not defined: -x`
 */
export function parseArgs(spec: OptionsSpec<unknown>, argv: readonly string[], o: ParseOptions = {}): ParsedArgs {
  const given = new Map<string, unknown>();
  const lookup = (name: string) =>
    spec.flags.get(name) ?? (name === "version" ? VERSION : name === "config" && o.config ? CONFIG : undefined);
  let i = 0;
  while (i < argv.length) {
    const s = argv[i]!;
    if (s.length < 2 || s[0] !== "-") break;
    const dashes = s[1] === "-" ? 2 : 1;
    if (s === "--") {
      i++;
      break;
    }
    let name = s.slice(dashes);
    if (name === "" || name[0] === "-" || name[0] === "=") throw new FlagError(`bad flag syntax: ${s}`);
    i++;
    const eq = name.indexOf("=", 1);
    const value = eq === -1 ? undefined : name.slice(eq + 1);
    if (eq !== -1) name = name.slice(0, eq);
    const entry = lookup(name);
    if (!entry) {
      if (name === "help" || name === "h") return { given, args: [], version: false, help: true, config: "" };
      throw new FlagError(`flag provided but not defined: -${name}`);
    }
    const def = entry.def;
    if (def.isBool) {
      try {
        given.set(name, def.parse(value ?? "true", given.get(name)));
      } catch (e) {
        throw new FlagError(`invalid boolean value ${JSON.stringify(value)} for -${name}: ${reason(e)}`);
      }
      continue;
    }
    let raw = value;
    if (raw === undefined) {
      if (i >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
      raw = argv[i++]!;
    }
    try {
      given.set(name, def.parse(raw, def.repeatable ? given.get(name) : undefined));
    } catch (e) {
      throw new FlagError(`invalid value ${JSON.stringify(raw)} for flag -${name}: ${reason(e)}`);
    }
  }
  const version = given.get("version") === true;
  const config = (given.get("config") as string | undefined) ?? "";
  given.delete("version");
  given.delete("config");
  return { given, args: argv.slice(i), version, help: false, config };
}

/**
 * Reads a TOML config file (`--config`).
 * @throws OptionsError `failed to load config file <path> - <reason>`
 */
export function readConfig(path: string): Record<string, unknown> {
  try {
    return Bun.TOML.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new OptionsError(`failed to load config file ${path} - ${reason(e)}`);
  }
}

/**
 * Merges with go-options' precedence, explicit command-line flag > config-file key > default, then validates.
 * Unknown config keys are ignored, as go-options does. "Given on the command line" means parsed as that flag,
 * not go-options' substring test over os.Args (where `--max-msg-timeout` also hides `msg_timeout`).
 * @throws OptionsError naming the config key or the flag
 */
export function resolve<O>(spec: OptionsSpec<O>, given: ReadonlyMap<string, unknown>, cfg: Record<string, unknown> = {}): O {
  const values: Record<string, unknown> = {};
  for (const e of spec.flags.values()) {
    if (e.def.ignored) continue;
    if (given.has(e.name)) values[e.key] = given.get(e.name);
    else if (e.cfgKey !== null && Object.hasOwn(cfg, e.cfgKey)) values[e.key] = fromConfig(e, cfg[e.cfgKey]);
    else values[e.key] = defaultOf(e.def);
  }
  return spec.validate(values);
}

function fromConfig(e: FlagEntry, value: unknown): unknown {
  try {
    return e.def.fromConfig(value);
  } catch (err) {
    throw new OptionsError(`config key ${e.cfgKey} = ${JSON.stringify(value)}: ${reason(err)}`);
  }
}

/** What a command should do next: run with these options, or print and exit. */
export type FlagsResult<O> =
  | { readonly kind: "run"; readonly options: O; readonly args: string[] }
  | { readonly kind: "exit"; readonly code: number; readonly stdout?: string; readonly stderr?: string };

/**
 * The whole front half of a Go NSQ `main()`: parse flags, `--help`, `--version`, `--config`, resolve, validate.
 * Flag errors exit 2 with usage (Go's ExitOnError); invalid values exit 1 with a one-line reason.
 * Help goes to stdout (Go writes it to stderr) so `nsq nsqd --help | less` works.
 */
export function parseFlags<O>(
  spec: OptionsSpec<O>,
  argv: readonly string[],
  o: ParseOptions & { version: string },
): FlagsResult<O> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(spec, argv, o);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    return { kind: "exit", code: 2, stderr: `${e.message}\n${usage(spec, o)}` };
  }
  if (parsed.help) return { kind: "exit", code: 0, stdout: usage(spec, o) };
  if (parsed.version) return { kind: "exit", code: 0, stdout: `${o.version}\n` };
  try {
    const cfg = parsed.config === "" ? {} : readConfig(parsed.config);
    return { kind: "run", options: resolve(spec, parsed.given, cfg), args: parsed.args };
  } catch (e) {
    if (!(e instanceof OptionsError)) throw e;
    return { kind: "exit", code: 1, stderr: `${spec.program}: ${e.message}\n` };
  }
}

/** Go's `FlagSet.PrintDefaults` layout, flags sorted by name, preceded by `Usage of <program>:`. */
export function usage(spec: OptionsSpec<unknown>, o: ParseOptions = {}): string {
  const entries = [...spec.flags.values(), VERSION, ...(o.config ? [CONFIG] : [])];
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  let out = `Usage of ${spec.program}:\n`;
  for (const { name, def } of entries) {
    let line = `  -${name}`;
    if (def.type !== "") line += ` ${def.type}`;
    // Go puts the help of one-letter booleans on the same line.
    line += line.length <= 4 ? "\t" : "\n    \t";
    line += def.help.replaceAll("\n", "\n    \t");
    const shown = showDefault(def);
    if (shown !== "") line += ` (default ${shown})`;
    out += `${line}\n`;
  }
  return out;
}

function showDefault(def: FlagDef<any>): string {
  try {
    return def.show(defaultOf(def));
  } catch {
    return "";
  }
}

function reason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
