/**
 * The long run of the protocol and HTTP fuzzers (test/integration/fuzz.test.ts runs them briefly in
 * `npm test`): every property with `--runs` generated cases, a fixed `--seed` to repeat a failure.
 *
 *   bun scripts/fuzz.ts [--runs=2000] [--seed=N]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { runs: { type: "string", default: "2000" }, seed: { type: "string" } } });
const env: Record<string, string> = { ...(process.env as Record<string, string>), FUZZ_RUNS: values.runs! };
if (values.seed !== undefined) env.FUZZ_SEED = values.seed;
const started = performance.now();
const p = Bun.spawn([process.execPath, "test", "--timeout", "3600000", join(import.meta.dir, "../test/integration/fuzz.test.ts")], {
  env,
  stdout: "inherit",
  stderr: "inherit",
});
const code = await p.exited;
console.log(`fuzz: ${values.runs} cases per property, ${((performance.now() - started) / 1000).toFixed(0)} s, exit ${code}`);
process.exit(code);
