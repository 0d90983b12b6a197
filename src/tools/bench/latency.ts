/**
 * `nsq bench latency`: one connection publishes `--rate` PUBs a second for `--runfor`, each body stamped with
 * its send time; another, subscribed before the first publish, FINs each message as it arrives and keeps
 * receive − send. Prints p50/p99/p999/max. NSQ has no such tool; the output follows its bench tools' style.
 * @module
 */
import { formatDuration } from "../../core/duration.ts";
import { ascii, ByteWriter, u32be } from "../../core/protocol/bytes.ts";
import { Command, writeCommand } from "../../core/protocol/commands.ts";
import { FrameType } from "../../core/protocol/frame.ts";
import { BadMessageError, MSG_HEADER_LENGTH, MSG_ID_LENGTH } from "../../core/protocol/message.ts";
import { identify, Link } from "./link.ts";
import { LATENCY_STAMP, type LatencyOptions } from "./options.ts";
import { goFixed3, percentile, waitForDeadline } from "./report.ts";
import type { BenchIo } from "./writer.ts";

export interface LatencyResult {
  durationMs: number;
  sent: number;
  received: number;
  /** Publish → receive, milliseconds. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  line: string;
}

/** How long to wait for the last messages after the last publish. */
const GRACE_MS = 2000;

const FIN_SP = ascii("FIN ");
/** The send time, big-endian as DataView wrote it, is read back through these. */
const stampValue = new Float64Array(1);
const stampBytes = new Uint8Array(stampValue.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const us = (ms: number) => (Number.isNaN(ms) ? "n/a" : formatDuration(Math.round(ms * 1000) / 1000));

/**
 * Runs the latency probe.
 * @throws Error when nsqd cannot be reached or answers with an error frame
 */
export async function benchLatency(opts: LatencyOptions, io: BenchIo): Promise<LatencyResult> {
  const run = new Uint32Array([(Math.random() * 2 ** 32) >>> 0, (Math.random() * 2 ** 32) >>> 0]);
  const total = Math.max(1, Math.round((opts.rate * opts.runfor) / 1000));
  const samples = new Float64Array(total);
  let sent = 0;
  let received = 0;
  const links: Link[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  let grace: ReturnType<typeof setTimeout> | undefined;
  try {
    const sub = await Link.connect(opts.nsqdTcpAddress);
    links.push(sub);
    const subIdentify = identify("latency", {
      output_buffer_size: opts.outputBufferSize,
      output_buffer_timeout: opts.outputBufferTimeout < 0 ? -1 : Math.ceil(opts.outputBufferTimeout),
    });
    sub.write(new Uint8Array([...subIdentify, ...Command.sub(opts.topic, opts.channel)]));
    await sub.response();
    await sub.response();
    const pub = await Link.connect(opts.nsqdTcpAddress);
    links.push(pub);
    pub.write(identify("latency"));
    await pub.response();
    await waitForDeadline(opts.deadline, io.log);

    let finish!: () => void;
    let fail!: (e: Error) => void;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const onError = (type: number, data: Uint8Array) => {
      if (type === FrameType.Error) fail(new Error(new TextDecoder().decode(data)));
    };

    const fins = new ByteWriter(4096);
    const flushFins = () => {
      sub.write(fins.written());
      fins.reset();
    };
    sub.onError = fail;
    // Read in place, no object per message: the probe's own collections would show up in what it measures.
    sub.onFrame = (type, data) => {
      if (type !== FrameType.Message) return onError(type, data);
      const now = performance.now();
      if (data.length < MSG_HEADER_LENGTH) return fail(new BadMessageError(data.length));
      if (fins.length === 0) queueMicrotask(flushFins);
      fins.bytes(FIN_SP);
      fins.ensure(MSG_ID_LENGTH + 1);
      for (let i = MSG_HEADER_LENGTH - MSG_ID_LENGTH; i < MSG_HEADER_LENGTH; i++) fins.buf[fins.length++] = data[i]!;
      fins.buf[fins.length++] = 0x0a;
      const b = MSG_HEADER_LENGTH;
      if (data.length < b + LATENCY_STAMP || u32be(data, b) !== run[0] || u32be(data, b + 4) !== run[1]) return; // an older run's
      for (let i = 0; i < 8; i++) stampBytes[i] = data[b + 16 + (LITTLE_ENDIAN ? 7 - i : i)]!;
      if (received < total) samples[received] = now - stampValue[0]!;
      if (++received === total) finish();
    };
    sub.write(Command.rdy(opts.rdy));

    pub.onError = fail;
    pub.onFrame = onError;
    const body = new Uint8Array(opts.size);
    const stamp = new DataView(body.buffer);
    stamp.setUint32(0, run[0]!);
    stamp.setUint32(4, run[1]!);
    const out = new ByteWriter(64 * 1024);
    const start = performance.now();
    let last = start;
    // Sends what is due by now; a late tick catches up, so the rate holds on average.
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * opts.rate) / 1000));
      if (due <= sent) return;
      stamp.setFloat64(16, now);
      for (; sent < due; sent++) {
        stamp.setFloat64(8, sent);
        writeCommand(out, "PUB", [opts.topic], body);
      }
      pub.write(out.written());
      out.reset();
      last = now;
      if (sent === total) {
        clearInterval(timer);
        grace = setTimeout(finish, GRACE_MS);
      }
    };
    timer = setInterval(tick, 1);
    await done;

    const durationMs = last - start;
    const sorted = samples.subarray(0, Math.min(received, total)).sort();
    const r = {
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      p999: percentile(sorted, 0.999),
      max: sorted[sorted.length - 1] ?? NaN,
    };
    const line =
      `duration: ${formatDuration(durationMs)} - sent: ${sent} (${goFixed3((sent / durationMs) * 1000)}/s) - ` +
      `received: ${received} - ` +
      `p50: ${us(r.p50)} - p99: ${us(r.p99)} - p999: ${us(r.p999)} - max: ${us(r.max)}`;
    return { durationMs, sent, received, ...r, line };
  } finally {
    clearInterval(timer);
    clearTimeout(grace);
    for (const l of links) l.end();
  }
}
