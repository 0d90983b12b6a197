import { writeSync } from "node:fs";
import { latencySpec, readerSpec, writerSpec } from "../../src/tools/bench/options.ts";
import { logLine } from "../../src/tools/bench/report.ts";
import { parseOrExit, startupDone } from "./_shared.ts";

const USAGE = `Usage: nsq bench <tool> [flags]

  writer    NSQ's bench_writer: MPUB batches from --workers connections for --runfor
  reader    NSQ's bench_reader: SUB with RDY --rdy from --workers connections, FIN everything
  latency   PUB at a fixed --rate, print publish-to-receive p50/p99/p999/max

'nsq bench <tool> --help' shows a tool's flags.
`;

/** `nsq bench writer|reader|latency` (and the programs `bench_writer`, `bench_reader`): NSQ's bench tools. */
export default async function bench(argv: readonly string[]): Promise<void> {
  const [tool, ...rest] = argv;
  let run: (log: (msg: string) => void) => Promise<{ line: string }>;
  let prefix: string;
  if (tool === "writer") {
    const opts = parseOrExit(writerSpec, rest);
    const { benchWriter } = await import("../../src/tools/bench/writer.ts");
    run = (log) => benchWriter(opts, { log });
    prefix = "[bench_writer] ";
  } else if (tool === "reader") {
    const opts = parseOrExit(readerSpec, rest);
    const { benchReader } = await import("../../src/tools/bench/reader.ts");
    run = (log) => benchReader(opts, { log });
    prefix = "[bench_reader] ";
  } else if (tool === "latency") {
    const opts = parseOrExit(latencySpec, rest);
    const { benchLatency } = await import("../../src/tools/bench/latency.ts");
    run = (log) => benchLatency(opts, { log });
    prefix = "[bench_latency] ";
  } else {
    const help = tool === undefined || ["-h", "-help", "--help"].includes(tool);
    if (!help) writeSync(2, `nsq bench: unknown tool ${JSON.stringify(tool)}\n`);
    writeSync(help ? 1 : 2, USAGE);
    process.exit(help ? 0 : 2);
  }
  // Go's log package: prefix, date and time to the second, on stderr.
  const log = (msg: string) => void writeSync(2, logLine(prefix, msg));
  startupDone();
  try {
    log((await run(log)).line);
  } catch (e) {
    log(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
  process.exit(0);
}
