/** `GET /metrics`, read back by a small strict parser of the Prometheus text exposition format 0.0.4. */
import { describe, expect, test } from "bun:test";
import { Command } from "../../src/core/protocol/commands.ts";
import { escapeLabelValue } from "../../src/daemons/nsqd/metrics.ts";
import { until } from "../helpers/client.ts";
import { testScope, Wire } from "../helpers/nsqd.ts";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  help: string;
  type: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Strict: every family has HELP then TYPE before its samples, samples of a family are contiguous and
 * belong to it, names and label names are valid, label values are properly escaped and quoted, values
 * are Go-parsable floats, no series repeats, the text ends with a newline.
 */
function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  const families = new Map<string, Family>();
  const series = new Set<string>();
  let current: Family | null = null;
  let pendingHelp: { name: string; help: string } | null = null;
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("# HELP ")) {
      const m = /^# HELP (\S+) (.*)$/.exec(line);
      if (!m || !NAME.test(m[1]!)) throw new Error(`bad HELP: ${line}`);
      if (families.has(m[1]!)) throw new Error(`family ${m[1]} appears twice`);
      if (/\\[^\\n]/.test(m[2]!.replace(/\\\\/g, ""))) throw new Error(`bad escape in HELP: ${line}`);
      pendingHelp = { name: m[1]!, help: m[2]! };
      current = null;
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const m = /^# TYPE (\S+) (counter|gauge|summary|histogram|untyped)$/.exec(line);
      if (!m) throw new Error(`bad TYPE: ${line}`);
      if (pendingHelp?.name !== m[1]) throw new Error(`TYPE ${m[1]} without its HELP right before`);
      current = { name: m[1]!, help: pendingHelp.help, type: m[2]!, samples: [] };
      families.set(current.name, current);
      pendingHelp = null;
      continue;
    }
    if (line.startsWith("#") || line === "") throw new Error(`unexpected line: ${JSON.stringify(line)}`);
    if (current === null) throw new Error(`sample outside a family: ${line}`);
    const sample = parseSample(line);
    if (sample.name !== current.name) throw new Error(`sample ${sample.name} inside family ${current.name}`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (series.has(key)) throw new Error(`duplicate series ${key}`);
    series.add(key);
    current.samples.push(sample);
  }
  for (const f of families.values()) {
    if (f.samples.length === 0) throw new Error(`family ${f.name} without samples`);
    if (f.type === "counter" && !f.name.endsWith("_total")) throw new Error(`counter ${f.name} without _total`);
  }
  return families;
}

function parseSample(line: string): Sample {
  let i = 0;
  while (i < line.length && line[i] !== "{" && line[i] !== " ") i++;
  const name = line.slice(0, i);
  if (!NAME.test(name)) throw new Error(`bad metric name in ${line}`);
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    while (line[i] !== "}") {
      const eq = line.indexOf("=", i);
      const lname = line.slice(i, eq);
      if (!LABEL.test(lname)) throw new Error(`bad label name ${lname}`);
      if (lname in labels) throw new Error(`label ${lname} repeated`);
      if (line[eq + 1] !== '"') throw new Error(`unquoted label value in ${line}`);
      let v = "";
      let j = eq + 2;
      for (;; j++) {
        const c = line[j];
        if (c === undefined) throw new Error(`unterminated label value in ${line}`);
        if (c === '"') break;
        if (c === "\\") {
          const n = line[++j];
          if (n === "\\") v += "\\";
          else if (n === '"') v += '"';
          else if (n === "n") v += "\n";
          else throw new Error(`bad escape \\${n} in ${line}`);
        } else v += c;
      }
      labels[lname] = v;
      i = j + 1;
      if (line[i] === ",") i++;
      else if (line[i] !== "}") throw new Error(`expected , or } in ${line}`);
    }
    i++;
  }
  if (line[i] !== " ") throw new Error(`expected a space before the value in ${line}`);
  const rest = line.slice(i + 1).split(" ");
  if (rest.length > 2) throw new Error(`trailing fields in ${line}`);
  const raw = rest[0]!;
  if (!/^([+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)|NaN|[+-]Inf)$/.test(raw)) throw new Error(`bad value ${raw}`);
  const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
  return { name, labels, value };
}

const { nsqd, track } = testScope();

function value(fs: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  return fs.get(name)?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
}

describe("GET /metrics", () => {
  test("per-topic and per-channel series agree with /stats; the format parses strictly", async () => {
    const t0 = Date.now();
    const d = await nsqd({ e2eProcessingLatencyPercentile: [0.99, 0.5] });
    await d.http("/topic/create?topic=orders", { method: "POST" });
    await d.http("/channel/create?topic=orders&channel=billing", { method: "POST" });
    await d.http("/channel/create?topic=orders&channel=audit%23ephemeral", { method: "POST" });
    await d.http("/mpub?topic=orders", { method: "POST", body: "a\nbb\nccc" });
    await d.http("/pub?topic=orders&defer=60000", { method: "POST", body: "later" });
    await d.http("/topic/create?topic=idle", { method: "POST" });
    await d.http("/topic/pause?topic=idle", { method: "POST" });
    const w = await Wire.connect(d.port);
    track(w);
    expect(await w.identify({ output_buffer_timeout: 25 })).toBe("OK");
    expect(await w.sub("orders", "billing")).toBe("OK");
    w.send(Command.rdy(2));
    const m1 = await w.message();
    await w.message();
    w.send(Command.fin(m1.id));
    const ch = d.nsqd.topics.get("orders")!.channels.get("billing")!;
    await until(() => ch.depth === 0 && ch.inFlight.size === 2, "the FIN, and the third message out in its place");

    const r = await d.http("/metrics");
    expect(r.status).toBe(200);
    expect(r.headers.get("Content-Type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const fs = parseExposition(await r.text());
    const stats = await (await d.http("/stats?format=json&include_clients=false")).json() as {
      topics: { topic_name: string; depth: number; message_count: number; message_bytes: number; channels: Record<string, number | string>[] }[];
    };

    expect(fs.get("nsq_topic_messages_total")!.type).toBe("counter");
    expect(fs.get("nsq_channel_depth")!.type).toBe("gauge");
    expect(value(fs, "nsq_healthy")).toBe(1);
    expect(value(fs, "nsq_clients")).toBe(1);
    expect(value(fs, "nsq_topics")).toBe(2);
    expect(value(fs, "nsq_start_time_seconds")).toBe(Math.floor(d.nsqd.startTime / 1000));
    expect(fs.get("nsq_build_info")!.samples[0]!.labels.version).toBe("1.3.0");

    const orders = stats.topics.find((t) => t.topic_name === "orders")!;
    const t = { topic: "orders" };
    expect(value(fs, "nsq_topic_messages_total", t)).toBe(orders.message_count);
    expect(value(fs, "nsq_topic_messages_total", t)).toBe(4);
    expect(value(fs, "nsq_topic_message_bytes_total", t)).toBe(11);
    expect(value(fs, "nsq_topic_depth", t)).toBe(orders.depth);
    expect(value(fs, "nsq_topic_channels", t)).toBe(2);
    expect(value(fs, "nsq_topic_paused", t)).toBe(0);
    expect(value(fs, "nsq_topic_paused", { topic: "idle" })).toBe(1);

    const billing = { topic: "orders", channel: "billing" };
    expect(value(fs, "nsq_channel_messages_total", billing)).toBe(4);
    // RDY 2, one FIN: the third message went out in its place
    expect(value(fs, "nsq_channel_in_flight_messages", billing)).toBe(2);
    expect(value(fs, "nsq_channel_deferred_messages", billing)).toBe(1);
    expect(value(fs, "nsq_channel_depth", billing)).toBe(0);
    expect(value(fs, "nsq_channel_clients", billing)).toBe(1);
    expect(value(fs, "nsq_channel_requeues_total", billing)).toBe(0);
    expect(value(fs, "nsq_channel_timeouts_total", billing)).toBe(0);
    expect(value(fs, "nsq_channel_depth", { topic: "orders", channel: "audit#ephemeral" })).toBe(3);

    expect(value(fs, "nsq_channel_e2e_processing_latency_samples", billing)).toBe(1);
    expect(value(fs, "nsq_topic_e2e_processing_latency_samples", t)).toBe(1);
    const p99 = value(fs, "nsq_channel_e2e_processing_latency_seconds", { ...billing, quantile: "0.99" })!;
    expect(p99).toBeGreaterThanOrEqual(0);
    expect(p99).toBeLessThanOrEqual((Date.now() - t0 + 1) / 1000); // no longer than the test has run
    expect(value(fs, "nsq_topic_e2e_processing_latency_seconds", { ...t, quantile: "0.5" })).toBeGreaterThanOrEqual(0);

    expect(value(fs, "nsq_process_resident_memory_bytes")).toBeGreaterThan(1 << 20);
    expect(value(fs, "nsq_process_heap_used_bytes")).toBeGreaterThan(0);
  });

  test("without e2e percentiles there are no latency series; unhealthy shows 0", async () => {
    const d = await nsqd();
    await d.http("/channel/create?topic=x&channel=y", { method: "POST" }).then(() => d.http("/topic/create?topic=x", { method: "POST" }));
    d.nsqd.setHealth(new Error("bad disk"));
    const fs = parseExposition(await (await d.http("/metrics")).text());
    expect(fs.has("nsq_topic_e2e_processing_latency_seconds")).toBe(false);
    expect(fs.has("nsq_channel_e2e_processing_latency_seconds")).toBe(false);
    expect(value(fs, "nsq_healthy")).toBe(0);
    expect(value(fs, "nsq_topic_depth", { topic: "x" })).toBe(0);
  });

  test("label values are escaped", () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(parseSample(`m{l="${escapeLabelValue('a"b\\c\nd')}"} 1`).labels.l).toBe('a"b\\c\nd');
  });

  test("the parser is strict (it rejects what it should)", () => {
    const bad = [
      "m 1\n", // no HELP/TYPE
      "# HELP m x\n# TYPE m gauge\nm{l=\"a\\q\"} 1\n", // bad escape
      "# HELP m x\n# TYPE m gauge\nm{l=a} 1\n", // unquoted
      "# HELP m x\n# TYPE m gauge\nm 1\nm 2\n", // duplicate series
      "# HELP m x\n# TYPE m counter\nm 1\n", // counter without _total
      "# HELP m x\n# TYPE m gauge\nn 1\n", // sample of another family
      "# HELP m x\n# TYPE m gauge\nm one\n", // bad value
      "# HELP m x\n# TYPE m gauge\nm 1", // no final newline
    ];
    for (const text of bad) expect(() => parseExposition(text)).toThrow();
    expect(parseExposition("# HELP m_total x\n# TYPE m_total counter\nm_total{a=\"1\",b=\"\"} 1.5e3\n").get("m_total")!.samples[0]!.value).toBe(1500);
  });
});
