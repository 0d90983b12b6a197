/**
 * nsqd's HTTP body limits against bodies far past them (issue 13): NSQ's 413 and its JSON for any size, with a
 * Content-Length or chunked, while nsqd's peak memory stays far below the body's size and the daemon (and the
 * keep-alive connection) goes on serving. nsqd runs as its own process so its peak RSS (VmHWM) is its own.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { readFileSync, rmSync } from "node:fs";
import { until } from "../helpers/client.ts";
import { tmpDir } from "../helpers/nsqd.ts";
import { type Spawned, spawnNsqdWithHttp } from "../helpers/spawn.ts";

const MIB = 1024 * 1024;
const HUGE = 60 * MIB;
const CHUNK = new Uint8Array(256 * 1024).fill(120);

let cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function spawn(): Promise<Spawned & { pid: number }> {
  const dir = tmpDir();
  const d = await spawnNsqdWithHttp([`--data-path=${dir}`]);
  cleanup.push(async () => {
    d.proc.kill("SIGTERM");
    await d.proc.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  return { ...d, pid: d.proc.pid };
}

/** The process's peak resident set, in bytes. */
const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

/** `size` bytes made on demand from one reused chunk, so the test never holds the body. */
async function* body(size: number): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < size; sent += CHUNK.length) yield CHUNK.subarray(0, Math.min(CHUNK.length, size - sent));
}

function post(port: number, path: string, size: number, chunked: boolean): Promise<Response> {
  const headers: Record<string, string> = chunked ? {} : { "Content-Length": String(size) };
  return fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", headers, body: body(size) as unknown as RequestInit["body"] });
}

/** A chunk of the chunked encoding around CHUNK, and the encoding's end. */
const CHUNKED = new Uint8Array([...new TextEncoder().encode(`${CHUNK.length.toString(16)}\r\n`), ...CHUNK, 13, 10]);
const LAST_CHUNK = "0\r\n\r\n";

/**
 * One keep-alive connection that sends each request's whole body, however early the answer comes, as a
 * client that ignores it would; `post` resolves with everything received once `done(out)` holds or the
 * server has closed the connection.
 */
async function conversation(port: number) {
  let out = "";
  let closed = false;
  let queue: { buf: Uint8Array | string; times: number }[] = [];
  let pending: Uint8Array | null = null;
  const pump = (s: Socket<undefined>) => {
    for (;;) {
      if (pending === null) {
        const q = queue[0];
        if (q === undefined) return;
        pending = typeof q.buf === "string" ? new TextEncoder().encode(q.buf) : q.buf;
        if (--q.times === 0) queue.shift();
      }
      const n = s.write(pending);
      if (n < 0) return;
      if (n < pending.length) {
        pending = pending.subarray(n);
        return;
      }
      pending = null;
    }
  };
  const s = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_s, chunk) => void (out += new TextDecoder().decode(chunk)),
      drain: pump,
      error() {},
      close: () => void (closed = true),
    },
  });
  cleanup.push(() => s.end());
  return {
    async post(path: string, size: number, chunked: boolean, done: (out: string) => boolean): Promise<{ out: string; closed: boolean }> {
      out = "";
      const head = `POST ${path} HTTP/1.1\r\nHost: x\r\n${chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${size}`}\r\n\r\n`;
      queue = [{ buf: head, times: 1 }, { buf: chunked ? CHUNKED : CHUNK, times: size / CHUNK.length }];
      if (chunked) queue.push({ buf: LAST_CHUNK, times: 1 });
      queue.push({ buf: "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", times: 1 });
      pump(s);
      await until(() => done(out) || closed, `the answers to ${path}`, 60_000);
      return { out, closed };
    },
  };
}

describe("a body far over nsqd's limits", () => {
  test("gets NSQ's 413 and JSON for /pub and /mpub, with a Content-Length or chunked, and nothing is published", async () => {
    const d = await spawn();
    const cases = [
      ["/pub?topic=big", false, "MSG_TOO_BIG"],
      ["/pub?topic=big", true, "MSG_TOO_BIG"],
      ["/mpub?topic=big", false, "BODY_TOO_BIG"],
      ["/mpub?topic=big", true, "BODY_TOO_BIG"],
      ["/mpub?topic=big&binary=true", true, "BODY_TOO_BIG"],
    ] as const;
    for (const [path, chunked, code] of cases) {
      const r = await post(d.httpPort, path, HUGE, chunked);
      expect([path, chunked, r.status]).toEqual([path, chunked, 413]);
      expect(r.headers.get("X-NSQ-Content-Type")).toBe("nsq; version=1.0");
      expect(await r.text()).toBe(`{"message":"${code}"}`);
    }
    // /mpub gets the topic before reading, as NSQ's does; not one message reached it
    const stats = (await (await fetch(`http://127.0.0.1:${d.httpPort}/stats?format=json&topic=big`)).json()) as {
      topics: { message_count: number; depth: number }[];
    };
    expect(stats.topics.map((t) => [t.message_count, t.depth])).toEqual([[0, 0]]);
    expect(await (await fetch(`http://127.0.0.1:${d.httpPort}/ping`)).text()).toBe("OK");
    const ok = await fetch(`http://127.0.0.1:${d.httpPort}/pub?topic=small`, { method: "POST", body: "hello" });
    expect(await ok.text()).toBe("OK");
  });

  // Bun, like Go's net/http (which drains at most 256 KiB of an unread body), may instead close the
  // connection once it has answered: either way the answer is NSQ's and nsqd goes on serving.
  test("a whole 100 MiB body, sent regardless of the early answer, gets NSQ's 413; the connection then serves the next request or is closed; nsqd's peak memory stays far below the body", async () => {
    const d = await spawn();
    const pong = (out: string) => out.endsWith("\r\n\r\nOK");
    // the same requests with small bodies first, so what is measured is what the size adds
    const warm = await conversation(d.httpPort);
    expect((await warm.post("/pub?topic=big", 4 * CHUNK.length, false, pong)).closed).toBe(false);
    expect((await warm.post("/mpub?topic=big", 32 * CHUNK.length, true, pong)).closed).toBe(false);
    const before = peakRss(d.pid);
    const size = 100 * MIB;
    for (const [path, chunked, code] of [
      ["/pub?topic=big", false, "MSG_TOO_BIG"],
      ["/mpub?topic=big", true, "BODY_TOO_BIG"],
    ] as const) {
      const c = await conversation(d.httpPort);
      const { out, closed } = await c.post(path, size, chunked, pong);
      expect(out).toStartWith("HTTP/1.1 413 ");
      if (closed) expect(out).toEndWith(`\r\n\r\n{"message":"${code}"}`);
      else expect(out).toContain(`\r\n\r\n{"message":"${code}"}HTTP/1.1 200 OK\r\n`);
      expect(await (await fetch(`http://127.0.0.1:${d.httpPort}/ping`)).text()).toBe("OK");
    }
    const grown = peakRss(d.pid) - before;
    console.log(`nsqd peak RSS ${(before / MIB).toFixed(1)} -> ${((before + grown) / MIB).toFixed(1)} MiB over two ${size / MIB} MiB bodies`);
    expect(grown).toBeLessThan(size / 8);
  }, 60_000);
});
