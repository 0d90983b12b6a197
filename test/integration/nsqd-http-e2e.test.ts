/**
 * nsqd's HTTP listener end to end: a real Bun.serve on 127.0.0.1:0 (and a unix socket), raw sockets for
 * what fetch cannot send, and TCP consumers that see the effect of the admin actions.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Command } from "../../src/core/protocol/commands.ts";
import { until } from "../helpers/client.ts";
import { sleep, startNsqd, type TestNsqd, testScope, tmpDir, Wire } from "../helpers/nsqd.ts";

/** A response body as JSON, typed loosely for field-by-field checks. */
const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json();

const { defer, nsqd, track } = testScope();

async function consumer(d: TestNsqd, topic: string, channel: string, rdy: number) {
  const w = await Wire.connect(d.port);
  track(w);
  expect(await w.identify({ output_buffer_timeout: 25 })).toBe("OK");
  expect(await w.sub(topic, channel)).toBe("OK");
  w.send(Command.rdy(rdy));
  return w;
}

/** How many whole HTTP/1.1 responses (headers and a Content-Length body) `out` holds. */
function responses(out: string): number {
  let n = 0;
  for (let at = 0; ; n++) {
    const head = out.indexOf("\r\n\r\n", at);
    if (head < 0) return n;
    const len = /\r\ncontent-length: *(\d+)/i.exec(out.slice(at, head));
    const body = len ? Number(len[1]) : 0;
    if (out.length - (head + 4) < body) return n;
    at = head + 4 + body;
  }
}

/**
 * A raw HTTP/1.1 conversation: writes `parts` (pausing `gapMs` between them), collects what comes back
 * until the server closes or `want` whole responses are in.
 */
async function raw(port: number, parts: (string | Uint8Array)[], want = Number.POSITIVE_INFINITY, gapMs = 0) {
  let out = "";
  let closed = false;
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_s, d) {
        out += new TextDecoder().decode(d);
      },
      close() {
        closed = true;
      },
      error() {},
    },
  });
  for (const p of parts) {
    s.write(p);
    // deliberate: each part arrives on its own, as a client streaming a body sends it
    if (gapMs > 0) await sleep(gapMs);
  }
  await until(() => closed || responses(out) >= want, `${want} responses or a close, got: ${JSON.stringify(out)}`);
  if (!closed) s.end();
  return { out, closed };
}

describe("the listener", () => {
  test("listens on --http-address, logs it, and answers over real HTTP", async () => {
    const d = await nsqd();
    expect(d.httpPort).toBeGreaterThan(0);
    expect(d.nsqd.httpAddress()).toBe(`127.0.0.1:${d.httpPort}`);
    const logs = d.logs.join("");
    expect(logs).toContain(`INFO: HTTP: listening on 127.0.0.1:${d.httpPort}\n`);
    expect(logs.indexOf("TCP: listening")).toBeLessThan(logs.indexOf("HTTP: listening"));
    const r = await d.http("/ping");
    expect(await r.text()).toBe("OK");
    const info = await json(d.http("/info"));
    expect(info.http_port).toBe(d.httpPort);
    expect(info.tcp_port).toBe(d.port);
    expect(d.logs.join("")).toMatch(new RegExp(`INFO: 200 GET /ping \\(127\\.0\\.0\\.1:\\d+\\) [\\d.]+(µs|ms)\\n`));
  });

  test("--http-address='' disables HTTP", async () => {
    const d = await nsqd({ httpAddress: "" });
    expect(d.httpPort).toBe(0);
    expect(d.nsqd.httpAddress()).toBe("");
    expect(d.logs.join("")).not.toContain("HTTP: listening");
  });

  test("a unix socket path works too, and /info reports http_port -1", async () => {
    const dir = tmpDir();
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "nsqd-http.sock");
    const d = await nsqd({ httpAddress: path });
    expect(d.nsqd.httpAddress()).toBe(path);
    expect(d.nsqd.httpPort()).toBe(-1);
    expect(existsSync(path)).toBe(true);
    const r = await fetch("http://localhost/info", { unix: path });
    expect((await json(r)).http_port).toBe(-1);
    expect(await (await fetch("http://localhost/ping", { unix: path })).text()).toBe("OK");
  });

  test("exit stops the listener", async () => {
    const d = await startNsqd();
    const port = d.httpPort;
    expect((await fetch(`http://127.0.0.1:${port}/ping`)).status).toBe(200);
    await d.stop();
    await expect(fetch(`http://127.0.0.1:${port}/ping`)).rejects.toThrow();
  });

  test("the TCP magic on the HTTP port gets an HTTP 400 and a close at once, not a hang", async () => {
    const d = await nsqd();
    for (const greeting of ["  V2", "  V2IDENTIFY\n\x00\x00\x00\x02{}", "  V2SUB t c\n"]) {
      const r = await raw(d.httpPort, [greeting]);
      expect(r.out).toStartWith("HTTP/1.1 400 Bad Request\r\n");
      expect(r.closed).toBe(true);
    }
  });

  test("an oversize Content-Length is answered from the headers, before the body is sent", async () => {
    const d = await nsqd({ maxBodySize: 1000, maxMsgSize: 100 });
    const head = (path: string, len: number) => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${len}\r\n\r\n`;
    const mpub = await raw(d.httpPort, [head("/mpub?topic=t", 1001)], 1);
    expect(mpub.out).toStartWith("HTTP/1.1 413 ");
    expect(mpub.out).toEndWith('{"message":"BODY_TOO_BIG"}');
    const pub = await raw(d.httpPort, [head("/pub?topic=t", 101)], 1);
    expect(pub.out).toEndWith('{"message":"MSG_TOO_BIG"}');
    // however large the announced body, NSQ's answer, not Bun's bare 413
    const huge = await raw(d.httpPort, [head("/pub?topic=t", 60_000_000_000)], 1);
    expect(huge.out).toStartWith("HTTP/1.1 413 ");
    expect(huge.out).toEndWith('{"message":"MSG_TOO_BIG"}');
    expect(d.nsqd.topics.get("t")?.messageCount ?? 0).toBe(0);
  });

  test("a refused body is skipped and the keep-alive connection serves the next request", async () => {
    const d = await nsqd({ maxMsgSize: 100 });
    const body = "x".repeat(500);
    const r = await raw(
      d.httpPort,
      [`POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n${body}`, "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"],
      2,
    );
    expect(r.out).toContain('{"message":"MSG_TOO_BIG"}');
    expect(r.out).toMatch(/HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nOK$/);
  });

  test("a chunked body over the limit is cut off while it streams in", async () => {
    const d = await nsqd({ maxMsgSize: 1000 });
    const chunk = `${(600).toString(16)}\r\n${"y".repeat(600)}\r\n`;
    const r = await raw(d.httpPort, ["POST /pub?topic=t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", chunk, chunk, chunk], 1, 20);
    expect(r.out).toStartWith("HTTP/1.1 413 ");
    expect(r.out).toContain('{"message":"MSG_TOO_BIG"}');
  });

  test("publishing over HTTP reaches a TCP consumer, deferred ones later", async () => {
    const d = await nsqd();
    const w = await consumer(d, "h", "c", 10);
    await d.http("/pub?topic=h&defer=300", { method: "POST", body: "late" });
    await d.http("/pub?topic=h", { method: "POST", body: "now" });
    await d.http("/mpub?topic=h", { method: "POST", body: "m1\nm2" });
    const t0 = Date.now();
    const got = [];
    for (let i = 0; i < 4; i++) {
      const m = await w.message();
      w.send(Command.fin(m.id));
      got.push(m.text);
    }
    expect(got).toEqual(["now", "m1", "m2", "late"]);
    expect(Date.now() - t0).toBeGreaterThan(150);
  });
});

describe("fan-out of HTTP publishes", () => {
  test("a deferred /pub is deferred in every channel, and every channel's copy starts at attempt 1", async () => {
    const d = await nsqd();
    const a = await consumer(d, "f", "a", 1);
    const b = await consumer(d, "f", "b", 1);
    await d.http("/pub?topic=f", { method: "POST", body: "now" });
    const [ma, mb] = [await a.message(), await b.message()];
    expect([ma.attempts, mb.attempts]).toEqual([1, 1]);
    a.send(Command.fin(ma.id));
    b.send(Command.fin(mb.id));
    await d.http("/pub?topic=f&defer=60000", { method: "POST", body: "later" });
    const s = await json(d.http("/stats?format=json&topic=f"));
    expect(s.topics[0].channels.map((c: { deferred_count: number; depth: number }) => [c.deferred_count, c.depth])).toEqual([
      [1, 0],
      [1, 0],
    ]);
    expect(await a.quiet(200)).toBe(true);
    expect(await b.quiet(10)).toBe(true);
  });
});

describe("admin actions and a live TCP consumer", () => {
  test("channel pause stops delivery, unpause resumes it", async () => {
    const d = await nsqd();
    const w = await consumer(d, "t", "c", 10);
    expect((await d.http("/channel/pause?topic=t&channel=c", { method: "POST" })).status).toBe(200);
    await d.http("/pub?topic=t", { method: "POST", body: "held" });
    expect(await w.quiet(300)).toBe(true);
    expect(d.nsqd.topics.get("t")!.channels.get("c")!.depth).toBe(1);
    await d.http("/channel/unpause?topic=t&channel=c", { method: "POST" });
    expect((await w.message()).text).toBe("held");
  });

  test("topic pause keeps messages in the topic; unpause hands them over", async () => {
    const d = await nsqd();
    const w = await consumer(d, "t", "c", 10);
    await d.http("/topic/pause?topic=t", { method: "POST" });
    await d.http("/pub?topic=t", { method: "POST", body: "waiting" });
    expect(await w.quiet(300)).toBe(true);
    const stats = await json(d.http("/stats?format=json&topic=t"));
    expect(stats.topics[0]).toMatchObject({ paused: true, depth: 1 });
    await d.http("/topic/unpause?topic=t", { method: "POST" });
    expect((await w.message()).text).toBe("waiting");
  });

  test("channel empty drops queued and in-flight messages", async () => {
    const d = await nsqd();
    const w = await consumer(d, "t", "c", 1);
    await d.http("/mpub?topic=t", { method: "POST", body: "a\nb\nc" });
    const first = await w.message();
    expect(first.text).toBe("a");
    await d.http("/channel/empty?topic=t&channel=c", { method: "POST" });
    const ch = d.nsqd.topics.get("t")!.channels.get("c")!;
    expect(ch.depth).toBe(0);
    expect(ch.inFlight.size).toBe(0);
    w.send(Command.fin(first.id));
    expect(await w.error()).toStartWith("E_FIN_FAILED");
    await d.http("/pub?topic=t", { method: "POST", body: "fresh" });
    expect((await w.message()).text).toBe("fresh");
  });

  test("channel delete and topic delete disconnect the consumer", async () => {
    const d = await nsqd();
    const a = await consumer(d, "t", "a", 1);
    const b = await consumer(d, "t", "b", 1);
    await d.http("/channel/delete?topic=t&channel=a", { method: "POST" });
    await a.closed();
    expect(b.isClosed).toBe(false);
    await d.http("/topic/delete?topic=t", { method: "POST" });
    await b.closed();
    const s = await json(d.http("/stats?format=json"));
    expect(s.topics).toEqual([]);
  });
});
