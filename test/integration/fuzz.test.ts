/**
 * Hostile input, generated: random, mutated-valid and boundary byte streams on nsqd's V2 and lookupd's V1
 * protocols, and random requests on nsqd's HTTP API. Every case must get NSQ's answers (well-formed frames,
 * `E_*` errors, NSQ's HTTP statuses), never crash or hang a daemon, and a client that behaves must not
 * notice. `FUZZ_RUNS` sets the cases per property (a short run here; `bun scripts/fuzz.ts` runs long).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import fc from "fast-check";
import { Command, encodeCommand } from "../../src/core/protocol/commands.ts";
import { FrameDecoder, FrameType, MAGIC_V1, MAGIC_V2 } from "../../src/core/protocol/frame.ts";
import { type TestLookupd, startLookupd, V1 } from "../helpers/lookupd.ts";
import { startNsqd, type TestNsqd, Wire } from "../helpers/nsqd.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const CASE_TIMEOUT = 2000;

let nsqd: TestNsqd;
let lookupd: TestLookupd;
/** The generators make no digits, so no fuzz case touches this topic. */
const BYSTANDER = "bystander0";
/** A well-behaved consumer that stays connected through every case. */
let bystander: Wire;
/**
 * The bystander reads only between properties, so it cannot answer heartbeats: a NOP now and then keeps it
 * alive, as a client's traffic does, through a long run (`bun scripts/fuzz.ts`) that outlasts nsqd's 60 s
 * read deadline.
 */
let keepAlive: ReturnType<typeof setInterval>;

beforeAll(async () => {
  nsqd = await startNsqd({ maxMsgSize: 4096, maxBodySize: 16384, memQueueSize: 100 });
  lookupd = await startLookupd();
  bystander = await Wire.connect(nsqd.port);
  expect(await bystander.sub(BYSTANDER, "c")).toBe("OK");
  bystander.send(Command.rdy(10));
  keepAlive = setInterval(() => bystander.send(Command.nop()), 10_000);
});

afterAll(async () => {
  clearInterval(keepAlive);
  bystander.close();
  await nsqd.stop();
  await lookupd.stop();
});

const ERROR_TEXT = /^E_[A-Z_]+( [\s\S]*)?$/;

interface Outcome {
  frames: { type: number; text: string }[];
  /** The peer closed the connection (after a fatal error, or at our end of input). */
  closed: boolean;
  /** A frame the decoder could not parse: never acceptable. */
  malformed: string | null;
}

/**
 * Sends `chunks` (one write each) after `magic` and collects what comes back until the server closes or
 * it goes quiet; `typed` for V2 frames, else V1's size-prefixed responses.
 */
async function exchange(port: number, magic: Uint8Array, chunks: Uint8Array[], typed: boolean): Promise<Outcome> {
  const out: Outcome = { frames: [], closed: false, malformed: null };
  const done = Promise.withResolvers<void>();
  let quiet: Timer | undefined;
  const settle = () => {
    clearTimeout(quiet);
    quiet = setTimeout(() => done.resolve(), 50);
  };
  const decoder = new FrameDecoder(
    (type, data) => {
      out.frames.push({ type, text: new TextDecoder().decode(data) });
      settle();
    },
    { typed, maxSize: 1 << 20 },
  );
  const s: Socket<undefined> = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, chunk) {
        try {
          decoder.push(chunk);
        } catch (e) {
          out.malformed = (e as Error).message;
          done.resolve();
        }
      },
      close() {
        out.closed = true;
        done.resolve();
      },
      error() {},
    },
  });
  s.write(magic);
  for (const c of chunks) s.write(c);
  settle();
  const deadline = setTimeout(() => done.resolve(), CASE_TIMEOUT);
  await done.promise;
  clearTimeout(deadline);
  clearTimeout(quiet);
  s.end();
  return out;
}

/** What every V2 answer must be: a response, an error with an NSQ code, or a message frame. */
function checkV2(o: Outcome): void {
  expect(o.malformed).toBeNull();
  for (const f of o.frames) {
    expect([FrameType.Response, FrameType.Error, FrameType.Message]).toContain(f.type as 0 | 1 | 2);
    if (f.type === FrameType.Error) expect(f.text).toMatch(ERROR_TEXT);
  }
}

/** The daemon still serves a well-behaved client, and the bystander still gets its messages. */
async function stillServing(): Promise<void> {
  const w = await Wire.connect(nsqd.port);
  expect(await w.pub(BYSTANDER, "still here")).toBe("OK");
  w.close();
  const m = await bystander.message();
  expect(m.text).toBe("still here");
  bystander.send(Command.fin(m.id));
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max });

/** Valid V2 commands, to be sent as they are or mutated. */
const v2Command = fc.oneof(
  fc.constant(Command.nop()),
  fc.record({ heartbeat_interval: fc.integer({ min: -1, max: 70_000 }), feature_negotiation: fc.boolean(), sample_rate: fc.integer({ min: -1, max: 100 }) }).map((o) => Command.identify(o)),
  fc.tuple(fc.stringMatching(/^[a-z#_.-]{1,70}$/), fc.stringMatching(/^[a-z#_.-]{1,70}$/)).map(([t, c]) => Command.sub(t, c)),
  fc.integer({ min: -5, max: 3000 }).map((n) => encodeCommand("RDY", [n])),
  fc.tuple(fc.stringMatching(/^[a-z]{1,10}$/), bytes(5000)).map(([t, b]) => Command.pub(t, b)),
  fc.tuple(fc.stringMatching(/^[a-z]{1,10}$/), fc.array(bytes(300), { maxLength: 20 })).map(([t, bs]) => Command.mpub(t, bs)),
  fc.tuple(fc.integer({ min: -10, max: 4_000_000 }), bytes(50)).map(([d, b]) => Command.dpub("fuzz", d, b)),
  fc.stringMatching(/^[0-9a-f]{0,20}$/).map((id) => encodeCommand("FIN", [id])),
  fc.tuple(fc.stringMatching(/^[0-9a-f]{16}$/), fc.integer({ min: -10, max: 5_000_000 })).map(([id, d]) => encodeCommand("REQ", [id, d])),
  fc.stringMatching(/^[0-9a-f]{16}$/).map((id) => encodeCommand("TOUCH", [id])),
  fc.constant(Command.cls()),
  fc.constant(Command.auth("secret")),
);

/** Flip, insert, delete bytes and cut the stream: the mutated-valid inputs. */
function mutate(b: Uint8Array, edits: [number, number, number][]): Uint8Array {
  let a = [...b];
  for (const [kind, at, v] of edits) {
    if (a.length === 0) break;
    const i = at % a.length;
    if (kind === 0) a[i] = v;
    else if (kind === 1) a.splice(i, 0, v);
    else if (kind === 2) a.splice(i, 1);
    else a = a.slice(0, i);
  }
  return Uint8Array.from(a);
}

const edits = fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 });

/** Splits a stream into writes at random points, so the server sees it in arbitrary reads. */
function split(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, b.length]) {
    if (c > prev) out.push(b.subarray(prev, c));
    prev = c;
  }
  return out;
}

const concat = (parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

describe("nsqd's V2 protocol under hostile input", () => {
  test("random bytes after the magic", async () => {
    await fc.assert(
      fc.asyncProperty(bytes(600), async (b) => checkV2(await exchange(nsqd.port, MAGIC_V2, [b], true))),
      { numRuns: RUNS, seed: SEED },
    );
    await stillServing();
  });

  test("valid command sequences, mutated and split across reads", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(v2Command, { minLength: 1, maxLength: 8 }), edits, fc.array(fc.nat(), { maxLength: 6 }), async (cmds, e, cuts) => {
        const stream = mutate(concat(cmds), e);
        checkV2(await exchange(nsqd.port, MAGIC_V2, split(stream, cuts), true));
      }),
      { numRuns: RUNS, seed: SEED },
    );
    await stillServing();
  });

  test("boundary sizes: bodies at, just over and far over the limits, and lying size prefixes", async () => {
    const sizes = [0, 1, 4095, 4096, 4097, 16384, 16385, 0x7fffffff, 0xffffffff];
    for (const size of sizes) {
      const line = new TextEncoder().encode("PUB fuzz\n");
      const prefix = new Uint8Array(4);
      new DataView(prefix.buffer).setUint32(0, size);
      const body = new Uint8Array(Math.min(size, 20000));
      const o = await exchange(nsqd.port, MAGIC_V2, [line, prefix, body], true);
      checkV2(o);
      if (size === 0 || size > 4096) {
        expect(o.frames.at(-1)?.text).toMatch(/^E_BAD_MESSAGE PUB (invalid message body size|message too big) /);
        expect(o.closed).toBe(true);
      } else {
        expect(o.frames[0]?.text).toBe("OK");
      }
    }
    await stillServing();
  });
});

describe("nsqlookupd's V1 protocol under hostile input", () => {
  const v1Command = fc.oneof(
    fc.constant(V1.ping()),
    fc.record({ broadcast_address: fc.string(), tcp_port: fc.integer(), http_port: fc.integer(), version: fc.string() }, { requiredKeys: [] }).map((o) => V1.identify(o)),
    fc.tuple(fc.stringMatching(/^[a-z#]{1,70}$/), fc.option(fc.stringMatching(/^[a-z#]{1,70}$/))).map(([t, c]) => V1.register(t, c ?? undefined)),
    fc.tuple(fc.stringMatching(/^[a-z#]{1,70}$/), fc.option(fc.stringMatching(/^[a-z#]{1,70}$/))).map(([t, c]) => V1.unregister(t, c ?? undefined)),
  );

  test("random bytes and mutated command sequences", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(bytes(400).map((b) => [b]), fc.array(v1Command, { minLength: 1, maxLength: 6 })), edits, fc.array(fc.nat(), { maxLength: 4 }), async (cmds, e, cuts) => {
        const o = await exchange(lookupd.tcpPort, MAGIC_V1, split(mutate(concat(cmds), e), cuts), false);
        expect(o.malformed).toBeNull();
        for (const f of o.frames) {
          if (f.text.startsWith("E_")) expect(f.text).toMatch(ERROR_TEXT);
          else if (f.text !== "OK") expect(() => JSON.parse(f.text)).not.toThrow();
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // lookupd still answers and a peer that behaves still registers
    const w = await Wire.connect(lookupd.tcpPort, MAGIC_V1, { v1: true });
    w.send(V1.identify());
    await w.response();
    w.send(V1.register("after-fuzz"));
    expect(await w.response()).toBe("OK");
    expect((await lookupd.json("/lookup?topic=after-fuzz")).producers).toHaveLength(1);
    w.close();
  });
});

describe("nsqd's HTTP API under hostile requests", () => {
  const paths = ["/pub", "/mpub", "/stats", "/topic/create", "/topic/delete", "/topic/empty", "/topic/pause", "/channel/create", "/channel/delete", "/channel/empty", "/channel/pause", "/config/log_level", "/config/nsqlookupd_tcp_addresses", "/info", "/ping", "/nope"];
  const queryChar = fc.constantFrom(..."abc=&%;+#?/~._-019 ".split(""), "%zz", "%41", "%E2%82", "topic", "channel", "defer", "binary", "format");
  const query = fc.array(queryChar, { maxLength: 40 }).map((a) => a.join(""));

  test("random paths, methods, query strings and bodies get NSQ's statuses, never a 500", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS"), query, bytes(6000), async (path, method, q, body) => {
        const res = await fetch(`http://127.0.0.1:${nsqd.httpPort}${path}?${q}`, {
          method,
          body: method === "GET" || method === "OPTIONS" ? undefined : body,
        });
        const text = await res.text();
        expect([200, 301, 307, 400, 404, 405, 413, 503]).toContain(res.status);
        if (res.status >= 400 && res.headers.get("content-type")?.startsWith("application/json")) {
          expect(JSON.parse(text)).toHaveProperty("message");
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
    expect(await (await fetch(`http://127.0.0.1:${nsqd.httpPort}/ping`)).text()).toBe("OK");
    await stillServing();
  });
});
