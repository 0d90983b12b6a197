import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import net from "node:net";
import { deflateCodec } from "../../src/core/codec/deflate.ts";
import { createLogger, type LogLevel } from "../../src/core/log.ts";
import { Command } from "../../src/core/protocol/commands.ts";
import { NSQ_VERSION } from "../../src/core/version.ts";
import { NSQD } from "../../src/daemons/nsqd/nsqd.ts";
import { type NsqdOptions, nsqdDefaults } from "../../src/daemons/nsqd/options.ts";
import { until } from "../helpers/client.ts";
import { testScope, tmpDir, Wire } from "../helpers/nsqd.ts";
import { RawClient } from "../helpers/raw-client.ts";

const { defer, nsqd, track } = testScope();

/** An in-process nsqd whose log is at `level`, its lines kept without their timestamps: `INFO: TCP: ...`. */
async function nsqdAt(level: LogLevel, over: Partial<NsqdOptions> = {}) {
  const dataPath = tmpDir();
  const lines: string[] = [];
  const log = createLogger({ level, prefix: "[nsqd] ", write: (l) => lines.push(l.replace(/^\[nsqd\] [\d/: .]+ /, "").trimEnd()) });
  const opts = { ...nsqdDefaults(), tcpAddress: "127.0.0.1:0", httpAddress: "127.0.0.1:0", ...over, dataPath };
  const d = new NSQD(opts, log);
  await d.main();
  defer(async () => {
    await d.exit();
    rmSync(dataPath, { recursive: true, force: true });
  });
  return { d, lines, has: (s: string) => lines.includes(s) };
}

/** The address nsqd knows the newest client by, from its `TCP: new client(...)` line. */
async function clientAddr(lines: string[], before = 0): Promise<string> {
  let addr = "";
  await until(() => {
    const m = lines
      .slice(before)
      .map((l) => /TCP: new client\((.+)\)$/.exec(l))
      .find((x) => x !== null);
    addr = m?.[1] ?? "";
    return addr !== "";
  }, "TCP: new client");
  return addr;
}

describe("nsqd's log lines, as Go's nsqd 1.3 writes them", () => {
  test("start-up: the version and the node ID at INFO, then the listeners", async () => {
    const { d, lines } = await nsqdAt("info", { nodeId: 42 });
    expect(lines[0]).toStartWith(`INFO: nsqd v${NSQ_VERSION} (`);
    expect(lines[1]).toBe("INFO: ID: 42");
    expect(lines[2]).toBe(`INFO: TCP: listening on ${d.tcpAddress()}`);
    expect(lines[3]).toBe(`INFO: HTTP: listening on ${d.httpAddress()}`);
  });

  test("a client: its connection and exit at INFO, IDENTIFY's data and every command at DEBUG", async () => {
    const { d, lines, has } = await nsqdAt("debug");
    const w = track(await Wire.connect(d.tcpPort()));
    const addr = await clientAddr(lines);
    expect(await w.identify({ client_id: "c1", hostname: "h1", user_agent: "test/1.0", heartbeat_interval: 5000 })).toBe("OK");
    expect(await w.sub("t", "c")).toBe("OK");
    w.send(Command.rdy(3));
    w.send(Command.nop());
    await until(() => has(`DEBUG: PROTOCOL(V2): [${addr}] [NOP]`), "NOP's line");
    const mine = () => lines.filter((l) => l.includes(addr));
    expect(mine()).toEqual([
      `INFO: TCP: new client(${addr})`,
      `INFO: CLIENT(${addr}): desired protocol magic '  V2'`,
      `DEBUG: PROTOCOL(V2): [${addr}] [IDENTIFY]`,
      `DEBUG: PROTOCOL(V2): [${addr}] {ClientID:c1 Hostname:h1 HeartbeatInterval:5000 OutputBufferSize:0 OutputBufferTimeout:0 ` +
        "FeatureNegotiation:false TLSv1:false Deflate:false DeflateLevel:0 Snappy:false SampleRate:0 UserAgent:test/1.0 MsgTimeout:0}",
      `DEBUG: PROTOCOL(V2): [${addr}] [SUB t c]`,
      `DEBUG: PROTOCOL(V2): [${addr}] [RDY 3]`,
      `DEBUG: PROTOCOL(V2): [${addr}] [NOP]`,
    ]);
    w.close();
    await until(() => has(`INFO: PROTOCOL(V2): [${addr}] exiting messagePump`), "the exit lines");
    // a clean EOF is no error; each exit line once, however the connection went
    expect(mine().slice(7)).toEqual([`INFO: PROTOCOL(V2): [${addr}] exiting ioloop`, `INFO: PROTOCOL(V2): [${addr}] exiting messagePump`]);
    await d.exit();
    expect(mine().filter((l) => l.includes("exiting"))).toHaveLength(2);
  });

  test("a published body is not in the command line: PUB's is [PUB topic]", async () => {
    const { d, lines, has } = await nsqdAt("debug");
    const w = track(await Wire.connect(d.tcpPort()));
    const addr = await clientAddr(lines);
    expect(await w.pub("t", "secret body")).toBe("OK");
    expect(has(`DEBUG: PROTOCOL(V2): [${addr}] [PUB t]`)).toBe(true);
    expect(lines.some((l) => l.includes("secret body"))).toBe(false);
  });

  test("at info no command is logged; PUT /config/log_level=debug turns the lines on, =warn silences INFO", async () => {
    const { d, lines, has } = await nsqdAt("info");
    const w = track(await Wire.connect(d.tcpPort()));
    const addr = await clientAddr(lines);
    expect(await w.pub("t", "x")).toBe("OK");
    expect(lines.filter((l) => l.startsWith("DEBUG:"))).toEqual([]);

    const put = (level: string) => fetch(`http://${d.httpAddress()}/config/log_level`, { method: "PUT", body: level });
    expect((await put("debug")).status).toBe(200);
    expect(await w.pub("t", "y")).toBe("OK");
    expect(has(`DEBUG: PROTOCOL(V2): [${addr}] [PUB t]`)).toBe(true);

    expect((await put("warn")).status).toBe(200);
    const before = lines.length;
    expect(await w.pub("t", "z")).toBe("OK");
    const other = await Wire.connect(d.tcpPort());
    other.close();
    w.close();
    await until(() => d.clients.size === 0, "both clients gone");
    expect(lines.slice(before)).toEqual([]);
  });

  test("a connection reset is a read error at ERROR, after the exit lines", async () => {
    const { d, lines } = await nsqdAt("info");
    const s = net.connect(d.tcpPort(), "127.0.0.1");
    await new Promise((r) => s.on("connect", r));
    s.write("  V2");
    const addr = await clientAddr(lines);
    await until(() => d.clients.size === 1, "the client");
    s.resetAndDestroy();
    await until(() => lines.some((l) => l.startsWith("ERROR:")), "the error line");
    expect(lines.filter((l) => l.includes(addr)).slice(2)).toEqual([
      `INFO: PROTOCOL(V2): [${addr}] exiting ioloop`,
      `INFO: PROTOCOL(V2): [${addr}] exiting messagePump`,
      `ERROR: client(${addr}) - failed to read command - read: connection reset by peer`,
    ]);
  });

  test("input that does not decompress is a read error at ERROR, in nsqd's TCP handler's words", async () => {
    const { d, lines } = await nsqdAt("info");
    const c = await RawClient.connect(d.tcpPort());
    defer(() => c.isClosed || c.close());
    const addr = await clientAddr(lines);
    await c.identify({ deflate: true });
    c.setCodec(deflateCodec(6));
    expect(await c.response()).toBe("OK");
    c.socket.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff));
    await c.closed();
    await until(() => lines.some((l) => l.startsWith("ERROR:")), "the error line");
    const last = lines.filter((l) => l.includes(addr)).slice(-3);
    expect(last.slice(0, 2)).toEqual([`INFO: PROTOCOL(V2): [${addr}] exiting ioloop`, `INFO: PROTOCOL(V2): [${addr}] exiting messagePump`]);
    expect(last[2]).toStartWith(`ERROR: client(${addr}) - failed to read command - flate: corrupt input`);
  });

  test("a client that misses two heartbeats: failed to read command - read tcp ...: i/o timeout", async () => {
    const d = await nsqd();
    const w = track(await Wire.connect(d.port));
    expect(await w.identify({ heartbeat_interval: 1000 })).toBe("OK");
    await w.closed(5000);
    await until(() => d.logs.some((l) => l.includes("ERROR: client(")), "the error line");
    const line = d.logs.find((l) => l.includes("ERROR: client("))!;
    expect(line).toMatch(
      /ERROR: client\((127\.0\.0\.1:\d+)\) - failed to read command - read tcp 127\.0\.0\.1:\d+->\1: i\/o timeout\n$/,
    );
    expect(line).toContain(`read tcp 127.0.0.1:${d.port}->`);
  });
});
