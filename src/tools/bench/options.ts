/**
 * The bench tools' flags: NSQ's `bench/bench_writer` and `bench/bench_reader` (names, defaults and help as
 * in Go), plus `--workers` (Go takes GOMAXPROCS), the reader's `--count` and the writer's `--pub`, and
 * `bench_latency`, which NSQ does not have. No config file, as in NSQ.
 * @module
 */
import { availableParallelism } from "node:os";
import { z } from "zod/mini";
import { defineOptions, flag, OptionsError } from "../../core/options.ts";

/** Bytes at the start of a latency message body: run id (8), sequence (8), send time (8). */
export const LATENCY_STAMP = 24;

const positive = [z.gt(0, "must be greater than 0")];
const notNegative = [z.minimum(0, "must not be negative")];

const common = {
  runfor: flag.duration(10_000, "duration of time to run", { checks: positive }),
  "nsqd-tcp-address": flag.string("127.0.0.1:4150", "<addr>:<port> to connect to nsqd"),
  topic: flag.string("sub_bench", "topic to receive messages on"),
  size: flag.int(200, "size of messages", { checks: notNegative }),
  deadline: flag.string("", "deadline to start the benchmark run"),
};

const workers = () =>
  flag.int(availableParallelism, "number of connections, one per worker (Go's bench tools use GOMAXPROCS)", { checks: positive });

export const writerSpec = defineOptions("bench_writer", {
  ...common,
  "batch-size": flag.int(200, "batch size of messages", { checks: positive }),
  workers: workers(),
  pub: flag.bool(false, "publish each message with PUB, one per round trip (--batch-size is ignored)"),
});

export const readerSpec = defineOptions("bench_reader", {
  ...common,
  channel: flag.string("ch", "channel to receive messages on"),
  rdy: flag.int(2500, "RDY count to use", { checks: positive }),
  workers: workers(),
  count: flag.int(0, "stop once this many messages arrived in all (0: run for --runfor)", { checks: notNegative }),
});

export const latencySpec = defineOptions(
  "bench_latency",
  {
    ...common,
    topic: flag.string("bench_latency", "topic to publish and receive messages on"),
    channel: flag.string("ch", "channel to receive messages on"),
    rate: flag.int(10_000, "messages per second to publish, each with PUB", { checks: positive }),
    rdy: flag.int(2500, "RDY count to use", { checks: positive }),
    "output-buffer-size": flag.int(0, "the subscriber's IDENTIFY output_buffer_size in bytes (0: nsqd's default, -1: none)", {
      checks: [z.minimum(-1, "must be -1 or more")],
    }),
    "output-buffer-timeout": flag.duration(
      0,
      "the subscriber's IDENTIFY output_buffer_timeout (0: nsqd's default, negative: none, the buffer goes out when full)",
    ),
  },
  (o) => {
    if (o.size < LATENCY_STAMP) throw new OptionsError(`--size must be at least ${LATENCY_STAMP} (the send-time stamp)`);
    return o;
  },
);

export type WriterOptions = ReturnType<typeof writerSpec.validate>;
export type ReaderOptions = ReturnType<typeof readerSpec.validate>;
export type LatencyOptions = ReturnType<typeof latencySpec.validate>;
