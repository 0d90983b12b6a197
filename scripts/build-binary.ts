/**
 * Builds the single `nsq` executable: `bun scripts/build-binary.ts` → dist/nsq for this machine;
 * `--target linux-x64|linux-arm64|darwin-arm64|darwin-x64|all` cross-builds dist/nsq-<os>-<arch>
 * (Bun downloads the target runtime, about 44 MB each, the first time).
 */
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const TARGETS = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64"] as const;
const ROOT = join(import.meta.dir, "..");

const { values } = parseArgs({ options: { target: { type: "string" } } });
const target = values.target;
if (target !== undefined && target !== "all" && !(TARGETS as readonly string[]).includes(target)) {
  console.error(`unknown --target ${target}; use one of ${TARGETS.join(", ")} or all`);
  process.exit(2);
}

const builds: [string | undefined, string][] =
  target === undefined
    ? [[undefined, "dist/nsq"]]
    : (target === "all" ? TARGETS : [target]).map((t) => [`bun-${t}`, `dist/nsq-${t}`]);

// With --splitting the build also writes a source map per chunk beside the executable, named by content hash.
// The executable embeds its source maps, so drop the previous build's instead of letting them pile up.
const DIST = join(ROOT, "dist");
if (existsSync(DIST)) for (const f of readdirSync(DIST)) if (f.endsWith(".js.map")) rmSync(join(DIST, f), { force: true });

for (const [bunTarget, outfile] of builds) {
  const cmd = [
    process.execPath,
    "build",
    "cli/nsq.ts",
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
    `--outfile=${outfile}`,
    ...(bunTarget ? [`--target=${bunTarget}`] : []),
  ];
  const proc = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  if (proc.exitCode !== 0) process.exit(proc.exitCode ?? 1);
  const mb = (statSync(join(ROOT, outfile)).size / 2 ** 20).toFixed(1);
  console.log(`${outfile}: ${mb} MiB`);
}
