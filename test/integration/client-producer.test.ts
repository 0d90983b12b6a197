import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NsqError, Producer } from "../../src/core/client/index.ts";
import { FrameType } from "../../src/core/protocol/frame.ts";
import { captureLog, until } from "../helpers/client.ts";
import { startFakeNsqd } from "../helpers/fake-nsqd.ts";
import { addrOf, startNsqd, testScope, type TestNsqd, Wire } from "../helpers/nsqd.ts";

const { defer, nsqd } = testScope();

function producer(addr: string, opts: ConstructorParameters<typeof Producer>[1] = {}) {
  const log = captureLog();
  const p = new Producer(addr, { logger: log.logger, ...opts });
  defer(() => p.stop());
  return { p, log };
}

async function subscriber(d: TestNsqd, topic: string) {
  const w = await Wire.connect(d.port);
  defer(() => w.close());
  await w.identify();
  await w.sub(topic, "c");
  w.send("RDY 100\n");
  return w;
}

describe("Producer", () => {
  test("connects lazily, then PUB, MPUB and DPUB arrive as messages", async () => {
    const d = await nsqd();
    const { p } = producer(`127.0.0.1:${d.port}`);
    expect(d.nsqd.clients.size).toBe(0);
    const w = await subscriber(d, "t");
    await p.publish("t", "one");
    await p.multiPublish("t", ["two", new TextEncoder().encode("three")]);
    await p.deferredPublish("t", 50, "four");
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push((await w.message()).text);
    expect(got).toEqual(["one", "two", "three", "four"]);
  });

  test("pipelined commands settle in order, one promise each, errors carry nsqd's code", async () => {
    const d = await nsqd();
    const { p } = producer(`127.0.0.1:${d.port}`);
    const order: number[] = [];
    const all = Array.from({ length: 500 }, (_, i) => p.publish("t", `m${i}`).then(() => order.push(i)));
    await Promise.all(all);
    expect(order).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(d.nsqd.topics.get("t")!.messageCount).toBe(500);

    // Refused before sending: a space would change the command itself.
    await expect(p.publish("bad topic", "x")).rejects.toMatchObject({ code: "E_BAD_TOPIC" });
    const bad = await p.publish("x".repeat(65), "x").catch((e) => e);
    expect(bad).toBeInstanceOf(NsqError);
    expect(bad.message).toStartWith("E_BAD_TOPIC topic name");
    expect(bad.fatal).toBe(true);
    await p.publish("t", "after");
    expect(d.nsqd.topics.get("t")!.messageCount).toBe(501);
  });

  test("nsqd's error codes; commands behind a fatal error fail with E_NOT_CONNECTED; then it reconnects", async () => {
    const d = await nsqd({ maxMsgSize: 10 });
    const { p } = producer(`127.0.0.1:${d.port}`);
    const first = p.multiPublish("t", ["ok", "this one is far too long"]).catch((e: NsqError) => e);
    const second = p.publish("t", "queued behind").catch((e: NsqError) => e.code);
    const e = await first;
    expect(e).toBeInstanceOf(NsqError);
    expect(e).toMatchObject({ code: "E_BAD_MESSAGE", desc: "MPUB message too big 24 > 10", fatal: true });
    expect(await second).toBe("E_NOT_CONNECTED");
    await p.publish("t", "fine");
    expect(d.nsqd.topics.get("t")!.messageCount).toBe(1);
  });

  test("unreachable nsqd: E_CONNECT_FAILED for every command waiting on the connect", async () => {
    const d = await nsqd();
    const port = d.port;
    await d.stop();
    const { p, log } = producer(`127.0.0.1:${port}`);
    const errs = await Promise.all([p.publish("t", "a").catch((e) => e), p.publish("t", "b").catch((e) => e)]);
    for (const e of errs) {
      expect(e).toBeInstanceOf(NsqError);
      expect(e.code).toBe("E_CONNECT_FAILED");
    }
    expect(log.has(/error connecting to nsqd/)).toBe(true);
    await expect(p.connect()).rejects.toMatchObject({ code: "E_CONNECT_FAILED" });
  });

  test("answers heartbeats with NOP, so an idle connection outlives nsqd's read deadline", async () => {
    const d = await nsqd();
    const { p, log } = producer(`127.0.0.1:${d.port}`, { heartbeatInterval: 1000, readTimeout: 5000 });
    await p.publish("t", "a");
    const ids = [...d.nsqd.clients.keys()];
    await Bun.sleep(2600); // a window past nsqd's deadline: it drops a client that misses two heartbeats (2 s here)
    await p.publish("t", "b");
    expect([...d.nsqd.clients.keys()]).toEqual(ids);
    expect(log.lines.filter((l) => l.includes("connecting to nsqd"))).toHaveLength(1);
  }, 10_000);

  test("reconnects after nsqd restarts on the same port and data dir", async () => {
    const d = await startNsqd();
    const { port, dataPath } = d;
    const { p } = producer(`127.0.0.1:${port}`);
    await p.publish("t", "before");
    await d.stop({ keepData: true });
    await until(() => !p.connected, "the producer to notice");
    const d2 = await nsqd({ tcpAddress: `127.0.0.1:${port}`, dataPath });
    await p.publish("t", "after");
    expect(d2.nsqd.topics.get("t")!.depth).toBe(2);
  });

  test("stop waits for outstanding answers, then refuses with E_STOPPED", async () => {
    const d = await nsqd();
    const { p } = producer(`127.0.0.1:${d.port}`);
    const pubs = Array.from({ length: 100 }, () => p.publish("t", "x"));
    await p.stop();
    await Promise.all(pubs);
    expect(d.nsqd.topics.get("t")!.messageCount).toBe(100);
    await expect(p.publish("t", "x")).rejects.toMatchObject({ code: "E_STOPPED" });
  });

  test("TLS, snappy and deflate declined by nsqd fail clearly; a secret nsqd does not ask for is not sent", async () => {
    const d = await nsqd({ snappy: false, deflate: false });
    const addr = `127.0.0.1:${d.port}`;
    for (const [opt, what] of [
      [{ tlsV1: true }, "tls_v1"],
      [{ snappy: true }, "snappy"],
      [{ deflate: true }, "deflate"],
    ] as const) {
      const { p } = producer(addr, opt);
      const e = await p.publish("t", "x").catch((err) => err);
      expect(e).toBeInstanceOf(NsqError);
      expect(e.code).toBe("E_FEATURE_DECLINED");
      expect(e.message).toContain(what);
    }
    const { p, log } = producer(addr, { authSecret: "s3cret" });
    await p.publish("t", "x");
    expect(log.has(/auth_secret set but nsqd does not require AUTH/)).toBe(true);
  });

  test("AUTH when nsqd requires it: missing secret, refused secret, accepted secret", async () => {
    const fake = await startFakeNsqd({
      identify: { auth_required: true },
      reply: (cmd) => {
        if (cmd.verb !== "AUTH") return "OK";
        const secret = new TextDecoder().decode(cmd.body!);
        return secret === "good"
          ? JSON.stringify({ identity: "me", identity_url: "", permission_count: 1 })
          : { error: "E_AUTH_FAILED AUTH failed" };
      },
    });
    defer(() => fake.stop());
    await expect(producer(fake.addr).p.publish("t", "x")).rejects.toMatchObject({ code: "E_AUTH_REQUIRED" });
    await expect(producer(fake.addr, { authSecret: "bad" }).p.publish("t", "x")).rejects.toMatchObject({
      code: "E_AUTH_FAILED",
      desc: "AUTH failed",
    });
    await producer(fake.addr, { authSecret: "good" }).p.publish("t", "x");
    const last = fake.conns.at(-1)!;
    expect(last.commands.map((c) => c.verb)).toEqual(["IDENTIFY", "AUTH", "PUB"]);
    const identify = JSON.parse(new TextDecoder().decode(fake.conns[0]!.commands[0]!.body!));
    expect(identify).toMatchObject({ feature_negotiation: true, heartbeat_interval: 30000, tls_v1: false });
  });

  test("output the kernel does not take waits for drain: 16 MiB to a stalled reader arrives whole and in order", async () => {
    let stalled = true;
    const fake = await startFakeNsqd();
    defer(() => fake.stop());
    const { p } = producer(fake.addr, { writeTimeout: 5000 });
    await p.connect();
    // IDENTIFY is answered: the reader stalls for a while (a deliberate 300 ms)
    const conn = fake.conns[0]!;
    conn.socket.pause();
    setTimeout(() => {
      stalled = false;
      conn.socket.resume();
    }, 300);
    const body = new Uint8Array(64 * 1024);
    const pubs: Promise<void>[] = [];
    for (let i = 0; i < 256; i++) {
      body.fill(i);
      pubs.push(p.publish("t", body.slice()));
    }
    expect(p.bufferedBytes).toBeGreaterThan(1024 * 1024); // the kernel did not take it all
    expect(stalled).toBe(true);
    await Promise.all(pubs);
    const cmds = fake.conns[0]!.commands.filter((c) => c.verb === "PUB");
    expect(cmds).toHaveLength(256);
    cmds.forEach((c, i) => {
      expect(c.body!.length).toBe(64 * 1024);
      expect(c.body![0]).toBe(i);
      expect(c.body![65535]).toBe(i);
    });
  });

  test("TLS when nsqd offers it: upgrade after IDENTIFY, OK over TLS, commands over TLS; a cert that does not verify fails", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nsq-tls-"));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const r = Bun.spawnSync(
      ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
        "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
      { stderr: "pipe" },
    );
    expect(r.exitCode).toBe(0);
    const key = readFileSync(join(dir, "key.pem"), "utf8");
    const cert = readFileSync(join(dir, "cert.pem"), "utf8");
    const fake = await startFakeNsqd({ identify: { tls_v1: true }, tls: { key, cert } });
    defer(() => fake.stop());

    const { p } = producer(fake.addr, { tlsV1: true, tls: { ca: cert, serverName: "localhost" } });
    await p.publish("t", "secret");
    await p.multiPublish("t", ["a", "b"]);
    const cmds = fake.conns[0]!.commands;
    expect(cmds.map((c) => c.verb)).toEqual(["IDENTIFY", "PUB", "MPUB"]);
    expect(new TextDecoder().decode(cmds[1]!.body!)).toBe("secret");

    const { p: untrusting } = producer(fake.addr, { tlsV1: true });
    await expect(untrusting.publish("t", "x")).rejects.toMatchObject({
      code: "E_CONNECT_FAILED",
      desc: expect.stringContaining("TLS handshake failed"),
    });
  });

  test("an error frame is not mistaken for the next command's answer", async () => {
    const fake = await startFakeNsqd({
      reply: (cmd, conn) => {
        if (cmd.params[0] === "nonfatal") {
          conn.send(FrameType.Error, "E_PUB_FAILED PUB failed simulated");
          return null;
        }
        return "OK";
      },
    });
    defer(() => fake.stop());
    const { p } = producer(fake.addr);
    const r = await Promise.allSettled([p.publish("a", "1"), p.publish("nonfatal", "2"), p.publish("b", "3")]);
    expect(r.map((x) => x.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((r[1] as PromiseRejectedResult).reason).toMatchObject({ code: "E_PUB_FAILED", desc: "PUB failed simulated" });
  });
});
