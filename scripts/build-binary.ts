/**
 * Builds the single `nsq` executable: `bun scripts/build-binary.ts` → dist/nsq for this machine;
 * `--target linux-x64|linux-arm64|darwin-arm64|darwin-x64|all` cross-builds dist/nsq-<os>-<arch>
 * (Bun downloads the target runtime, about 44 MB each, the first time).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const TARGETS = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"] as const;
const ROOT = join(import.meta.dir, "..");

const { values } = parseArgs({ options: { target: { type: "string" } } });
// `npm run build --target=x` hands the flag to npm, which passes it on as npm_config_target
const target = values.target ?? process.env.npm_config_target;
if (target !== undefined && target !== "all" && !(TARGETS as readonly string[]).includes(target)) {
  console.error(`unknown --target ${target}; use one of ${TARGETS.join(", ")} or all`);
  process.exit(2);
}

const builds: [string | undefined, string][] =
  target === undefined
    ? [[undefined, "dist/nsq"]]
    : (target === "all" ? TARGETS : [target]).map((t) => [`bun-${t}`, `dist/nsq-${t}`]);

// With --splitting the build also writes a source map per chunk beside the executable, named by content hash.
// The executable embeds its source maps, so dist/ keeps only executables.
const DIST = join(ROOT, "dist");
function removeSourceMaps(): void {
  if (existsSync(DIST)) for (const f of readdirSync(DIST)) if (f.endsWith(".map")) rmSync(join(DIST, f), { force: true });
}

const FLAGS = [
  "--compile",
  "--minify",
  "--sourcemap",
  "--bytecode",
  // Each command (and citty, for the top-level help) in its own chunk: a builtin module is imported when
  // its chunk loads, so `nsq nsqd` no longer loads node:util for citty (~1 MiB of idle RSS).
  "--splitting",
  // JavaScriptCore's tier-up thresholds ×10 until a command calls startupDone() (cli/commands/_shared.ts):
  // start-up code runs interpreted and the JIT compilers stay out of memory.
  "--compile-jit-policy=10",
  // --bytecode defaults to CommonJS, which has no top-level await; cli/nsq.ts uses it.
  "--format=esm",
  // A daemon must not pick up .env or bunfig.toml from whatever directory it is started in.
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
];

/** `bun build` failed; it has said why. */
class BuildFailed extends Error {
  constructor(readonly exitCode: number) {
    super(`bun build exited ${exitCode}`);
  }
}

function build(outfile: string, extra: string[] = []): void {
  const proc = Bun.spawnSync([process.execPath, "build", "cli/nsq.ts", ...FLAGS, `--outfile=${outfile}`, ...extra], {
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (proc.exitCode !== 0) throw new BuildFailed(proc.exitCode ?? 1);
}

/**
 * Profile-guided bytecode layout: a first build for this machine runs as nsqd until it listens, recording the
 * functions it uses (BUN_BYTECODE_ORDER_OUT); the real builds put those together at the front, so nsqd reads fewer
 * pages of bytecode into memory (0.5–1 MiB of idle RSS). Every --target build uses this profile. Without one
 * (the run failed), the builds go on unordered.
 */
async function recordStartupOrder(tmp: string): Promise<string | undefined> {
  const probe = join(tmp, "nsq");
  const order = join(tmp, "nsqd.order");
  build(probe);
  const proc = Bun.spawn(
    [probe, "nsqd", "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0", `--data-path=${join(tmp, "data")}`],
    { env: { ...process.env, BUN_BYTECODE_ORDER_OUT: order }, stdin: "ignore", stdout: "ignore", stderr: "pipe" },
  );
  const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
  let log = "";
  let stopped = false;
  // Read to the end: nsqd logs its shutdown, and a closed pipe would fail it.
  for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) {
    log += chunk;
    if (!stopped && log.includes("HTTP: listening")) {
      stopped = true;
      proc.kill("SIGTERM");
    }
  }
  await proc.exited;
  clearTimeout(timer);
  if (proc.exitCode === 0 && existsSync(order) && statSync(order).size > 0) {
    console.log("bytecode order: recorded from nsqd's start-up");
    return order;
  }
  console.warn(`warning: no bytecode order (nsqd ${proc.signalCode ?? `exit ${proc.exitCode}`}): ${log.trim()}`);
  return undefined;
}

const tmp = mkdtempSync(join(tmpdir(), "nsq-build-"));
try {
  const order = await recordStartupOrder(tmp);
  for (const [bunTarget, outfile] of builds) {
    build(outfile, [...(order ? [`--bytecode-order=${order}`] : []), ...(bunTarget ? [`--target=${bunTarget}`] : [])]);
    removeSourceMaps();
    const mb = (statSync(join(ROOT, outfile)).size / 2 ** 20).toFixed(1);
    console.log(`${outfile}: ${mb} MiB`);
  }
} catch (e) {
  if (!(e instanceof BuildFailed)) throw e;
  process.exitCode = e.exitCode;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
