/**
 * `nsq bench reader` (NSQ's bench_reader): `--workers` connections, each IDENTIFY, SUB and RDY `--rdy`,
 * answering every message with FIN exactly as bench_reader buffers them ({@link FinBatcher}), for
 * `--runfor` or until `--count` messages have arrived; prints the total received.
 * @module
 */
import { Command } from "../../core/protocol/commands.ts";
import { FrameType } from "../../core/protocol/frame.ts";
import { FinBatcher } from "./fin-batcher.ts";
import { identify, Link } from "./link.ts";
import type { ReaderOptions } from "./options.ts";
import { resultLine, waitForDeadline } from "./report.ts";
import type { BenchIo, BenchResult } from "./writer.ts";

/**
 * Runs the reader. Beyond bench_reader, which drops them when it closes, the FINs still buffered at the
 * end are sent before the connections close, so a drained channel ends empty instead of requeueing them.
 * @throws Error when nsqd cannot be reached or answers with an error frame (Go panics)
 */
export async function benchReader(opts: ReaderOptions, io: BenchIo): Promise<BenchResult> {
  const setup = new Uint8Array([...identify("reader"), ...Command.sub(opts.topic, opts.channel)]);
  const links: Link[] = [];
  try {
    for (let i = 0; i < opts.workers; i++) {
      const link = await Link.connect(opts.nsqdTcpAddress);
      links.push(link);
      link.write(setup);
      await link.response();
      await link.response();
    }
    await waitForDeadline(opts.deadline, io.log);

    const start = performance.now();
    let end = 0;
    let total = 0;
    let finish!: () => void;
    let fail!: (e: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = () => {
        if (end === 0) end = performance.now();
        resolve();
      };
      fail = reject;
    });
    const timer = setTimeout(finish, opts.runfor);
    const batchers = links.map((link) => {
      const fins = new FinBatcher(opts.rdy, (b, s, e) => link.write(b, s, e));
      link.onError = fail;
      link.onFrame = (type, data) => {
        if (type === FrameType.Message) {
          fins.message(data);
          if (++total === opts.count) finish();
        } else if (type === FrameType.Error) {
          fail(new Error(new TextDecoder().decode(data)));
        }
      };
      link.write(Command.rdy(opts.rdy));
      return fins;
    });
    try {
      await done;
    } finally {
      clearTimeout(timer);
    }
    for (const fins of batchers) fins.flush();
    const count = batchers.reduce((n, f) => n + f.count, 0);
    const durationMs = end - start;
    return { durationMs, count, line: resultLine(durationMs, count, opts.size) };
  } finally {
    for (const l of links) l.end();
  }
}
