/**
 * nsqd at its file descriptor limit (issue 13): past RLIMIT_NOFILE less a reserve, new TCP connections are
 * closed at once with an ERROR naming the limit, instead of waiting in the backlog while Bun's accept loop
 * spins on EMFILE; connections already open go on publishing and consuming, HTTP still answers, and new
 * connections are accepted again once descriptors free up. nsqd runs under `ulimit -n 128`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { rmSync } from "node:fs";
import { Command } from "../../src/core/protocol/commands.ts";
import { until } from "../helpers/client.ts";
import { tmpDir, Wire } from "../helpers/nsqd.ts";
import { CLI } from "../helpers/spawn.ts";

const LIMIT = 128;

let cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** `nsq nsqd` under `ulimit -n limit`, its ports read from its log, which is kept for assertions. */
async function spawnLimited(limit: number): Promise<{ proc: Subprocess; port: number; httpPort: number; log: () => string }> {
  const dir = tmpDir();
  const args = ["nsqd", "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0", `--data-path=${dir}`];
  const proc = Bun.spawn(["sh", "-c", `ulimit -n ${limit} && exec "$@"`, "sh", ...CLI, ...args], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  cleanup.push(async () => {
    proc.kill("SIGTERM");
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  });
  let text = "";
  let exited = false;
  proc.exited.then(() => (exited = true));
  (async () => {
    for await (const chunk of proc.stderr) text += new TextDecoder().decode(chunk);
  })();
  const listening = (what: string) => new RegExp(`${what}: listening on [^\\s]*:(\\d+)`).exec(text);
  await until(() => {
    if (exited) throw new Error(`nsqd exited:\n${text}`);
    return listening("TCP") !== null && listening("HTTP") !== null;
  }, "nsqd listening");
  return { proc, port: Number(listening("TCP")![1]), httpPort: Number(listening("HTTP")![1]), log: () => text };
}

/** A V2 connection nsqd kept (its IDENTIFY answered), or null when nsqd closed it. */
async function tryConnect(port: number): Promise<Wire | null> {
  const w = await Wire.connect(port).catch(() => null);
  if (w === null) return null;
  cleanup.push(() => void (w.isClosed || w.close()));
  const ok = await w.identify().catch(() => null);
  return ok === "OK" ? w : null;
}

describe("at the file descriptor limit", () => {
  test("new connections are refused with an ERROR naming the limit, open ones keep working, and accepting resumes when descriptors free up", async () => {
    const d = await spawnLimited(LIMIT);
    const producer = (await tryConnect(d.port))!;
    const consumer = (await tryConnect(d.port))!;
    expect(await consumer.sub("t", "c")).toBe("OK");
    consumer.send(Command.rdy(10));

    const held: Wire[] = [];
    for (;;) {
      const w = await tryConnect(d.port);
      if (w === null) break;
      held.push(w);
      expect(held.length).toBeLessThan(LIMIT);
    }
    console.log(`nsqd under ulimit -n ${LIMIT} kept ${held.length + 2} connections, then refused`);
    await until(() => /ERROR: TCP: refusing client\(127\.0\.0\.1:\d+\) - \d+ file descriptors open, RLIMIT_NOFILE is 128 \(16 kept/.test(d.log()), "the ERROR line");
    // refused again, not left hanging in the backlog
    for (let i = 0; i < 5; i++) expect(await tryConnect(d.port)).toBeNull();

    expect(await producer.pub("t", "at the limit")).toBe("OK");
    expect((await consumer.message()).text).toBe("at the limit");
    expect(await (await fetch(`http://127.0.0.1:${d.httpPort}/ping`)).text()).toBe("OK");

    for (const w of held.splice(0, 10)) w.close();
    let again: Wire | null = null;
    await until(async () => (again = await tryConnect(d.port)) !== null, "a connection kept again", 10_000);
    expect(await again!.pub("t", "after")).toBe("OK");
    expect((await consumer.message()).text).toBe("after");
    expect(d.log()).toMatch(/INFO: TCP: accepting new clients again - \d+ refused at the file descriptor limit/);
  });
});
