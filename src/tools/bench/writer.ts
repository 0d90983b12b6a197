/**
 * `nsq bench writer` (NSQ's bench_writer): `--workers` connections, each IDENTIFYs, then keeps one MPUB of
 * `--batch-size` messages of `--size` zero bytes in flight until `--runfor` has passed; prints the total.
 * @module
 */
import { ByteWriter } from "../../core/protocol/bytes.ts";
import { writeCommand, writeMpubCommand } from "../../core/protocol/commands.ts";
import { FrameType } from "../../core/protocol/frame.ts";
import { identify, Link } from "./link.ts";
import type { WriterOptions } from "./options.ts";
import { resultLine, waitForDeadline } from "./report.ts";

export interface BenchIo {
  /** One log message (without prefix, time or newline); Go's bench tools log to stderr. */
  log(msg: string): void;
}

export interface BenchResult {
  durationMs: number;
  count: number;
  /** The tool's one-line result, as Go's bench tools log it. */
  line: string;
}

/** The command every round trip sends: the same bytes each time, so they are encoded once. */
export function publishCommand(opts: Pick<WriterOptions, "topic" | "size" | "batchSize" | "pub">): {
  bytes: Uint8Array;
  perCommand: number;
} {
  const body = new Uint8Array(opts.size);
  const w = new ByteWriter(opts.pub ? opts.size + 64 : opts.batchSize * (opts.size + 4) + 64);
  if (opts.pub) writeCommand(w, "PUB", [opts.topic], body);
  else writeMpubCommand(w, opts.topic, Array(opts.batchSize).fill(body));
  return { bytes: w.written().slice(), perCommand: opts.pub ? 1 : opts.batchSize };
}

/**
 * Runs the writer.
 * @throws Error when nsqd cannot be reached or answers a publish with an error frame (Go panics)
 */
export async function benchWriter(opts: WriterOptions, io: BenchIo): Promise<BenchResult> {
  const { bytes, perCommand } = publishCommand(opts);
  const links: Link[] = [];
  try {
    for (let i = 0; i < opts.workers; i++) {
      const link = await Link.connect(opts.nsqdTcpAddress);
      links.push(link);
      link.write(identify("writer"));
      await link.response();
    }
    await waitForDeadline(opts.deadline, io.log);

    const start = performance.now();
    const counts = await Promise.all(links.map((link) => publishLoop(link, bytes, perCommand, opts.runfor)));
    const durationMs = performance.now() - start;
    const count = counts.reduce((a, b) => a + b, 0);
    return { durationMs, count, line: resultLine(durationMs, count, opts.size) };
  } finally {
    for (const l of links) l.end();
  }
}

/** One worker: a command, its response, the next, until `runforMs` has passed after a response. */
function publishLoop(link: Link, cmd: Uint8Array, perCommand: number, runforMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const endTime = performance.now() + runforMs;
    let count = 0;
    link.onError = reject;
    link.onFrame = (type, data) => {
      if (type === FrameType.Error) {
        reject(new Error(new TextDecoder().decode(data)));
        return;
      }
      if (type !== FrameType.Response) return;
      count += perCommand;
      if (performance.now() > endTime) resolve(count);
      else link.write(cmd);
    };
    link.write(cmd);
  });
}
