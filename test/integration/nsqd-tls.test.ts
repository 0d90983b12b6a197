import { describe, expect, test } from "bun:test";
import { Command } from "../../src/core/protocol/commands.ts";
import type { NsqdOptions } from "../../src/daemons/nsqd/options.ts";
import { makeCerts } from "../helpers/certs.ts";
import { until } from "../helpers/client.ts";
import { startNsqd, testScope, type TestNsqd, Wire } from "../helpers/nsqd.ts";
import { RawClient } from "../helpers/raw-client.ts";

const certs = makeCerts();
const { defer, nsqd } = testScope();
const ca = certs.read(certs.caFile);

const tlsNsqd = (over: Partial<NsqdOptions> = {}) => nsqd({ tlsCert: certs.serverCert, tlsKey: certs.serverKey, ...over });

async function raw(d: TestNsqd): Promise<RawClient> {
  const c = await RawClient.connect(d.port);
  defer(() => c.isClosed || c.close());
  return c;
}

/** IDENTIFY with tls_v1, the handshake, and nsqd's OK over TLS. */
async function upgraded(d: TestNsqd, tls: Parameters<RawClient["startTls"]>[0] = { ca }): Promise<RawClient> {
  const c = await raw(d);
  expect((await c.identify({ tls_v1: true })).tls_v1).toBe(true);
  await c.startTls(tls);
  expect(await c.response()).toBe("OK");
  return c;
}

type ClientStatsJson = Record<string, unknown>;
async function clientStats(d: TestNsqd): Promise<ClientStatsJson[]> {
  const s = (await (await d.http("/stats?format=json")).json()) as { topics: { channels: { clients: ClientStatsJson[] }[] }[] };
  return s.topics.flatMap((t) => t.channels.flatMap((c) => c.clients));
}

describe("TLS upgrade in IDENTIFY", () => {
  test("JSON answer in plain text, handshake, OK over TLS, then commands; /stats shows the TLS state", async () => {
    const d = await tlsNsqd();
    const c = await upgraded(d);
    c.send(Command.identify({ client_id: "again" }));
    expect(await c.response()).toBe("OK");
    c.send(Command.sub("tls", "ch"));
    expect(await c.response()).toBe("OK");
    const [s] = await clientStats(d);
    expect(s).toMatchObject({ tls: true, tls_version: "TLS1.3", tls_negotiated_protocol: "", snappy: false, deflate: false });
    expect(s!.tls_cipher_suite).toMatch(/^TLS_/);
    expect(d.logs.some((l) => l.includes("upgrading connection to TLS"))).toBe(true);
  });

  test("without --tls-cert nsqd declines tls_v1 and stays in plain text", async () => {
    const d = await nsqd();
    const c = await raw(d);
    expect((await c.identify({ tls_v1: true })).tls_v1).toBe(false);
    c.send(Command.pub("t", "plain"));
    expect(await c.response()).toBe("OK");
  });

  test("--tls-min-version=tls1.3 refuses a TLS 1.2 client", async () => {
    const d = await tlsNsqd({ tlsMinVersion: "tls1.3" });
    const c = await raw(d);
    await c.identify({ tls_v1: true });
    // Bun takes protocol numbers, as Go does: 0x0303 is TLS 1.2
    await expect(c.startTls({ ca, maxVersion: 0x0303 } as Parameters<RawClient["startTls"]>[0])).rejects.toThrow();
    await c.closed();
  });

  test("a bad handshake (plain bytes where TLS should be) closes that client, with a log line; others go on", async () => {
    const d = await tlsNsqd();
    const other = await upgraded(d);
    const c = await raw(d);
    await c.identify({ tls_v1: true });
    c.send(Command.pub("t", "not encrypted"));
    await c.closed();
    await until(() => d.logs.some((l) => l.includes("E_IDENTIFY_FAILED IDENTIFY failed")), "the log line");
    other.send(Command.pub("t", "fine"));
    expect(await other.response()).toBe("OK");
    expect(d.nsqd.clients.size).toBe(1);
  });

  test("bytes sent before the handshake, behind IDENTIFY, fail the upgrade", async () => {
    const d = await tlsNsqd();
    const w = await Wire.connect(d.port);
    defer(() => w.isClosed || w.close());
    w.send(new Uint8Array([...Command.identify({ feature_negotiation: true, tls_v1: true }), ...Command.nop()]));
    expect(JSON.parse(await w.response()).tls_v1).toBe(true);
    expect(await w.error()).toBe("E_IDENTIFY_FAILED IDENTIFY failed data received before the TLS handshake");
    await w.closed();
  });

  test("a certificate that does not load stops the start", async () => {
    await expect(startNsqd({ tlsCert: certs.serverCert, tlsKey: certs.clientKey })).rejects.toThrow(/^failed to build TLS config - /);
    await expect(startNsqd({ tlsCert: certs.serverCert, tlsKey: "/nonexistent.key" })).rejects.toThrow(/^failed to build TLS config - /);
  });
});

describe("--tls-client-auth-policy", () => {
  const client = { ca, cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) };
  const stranger = { ca, cert: certs.read(certs.strangerCert), key: certs.read(certs.strangerKey) };

  test("require-verify: a certificate signed by --tls-root-ca-file passes; none, or a stranger's, is refused", async () => {
    const d = await tlsNsqd({ tlsClientAuthPolicy: "require-verify", tlsRootCaFile: certs.caFile });
    await upgraded(d, client);
    for (const tls of [{ ca }, stranger]) {
      const c = await raw(d);
      await c.identify({ tls_v1: true });
      await c.startTls(tls).catch(() => {});
      await c.closed();
    }
    await until(() => d.nsqd.clients.size === 1, "the refused clients gone");
    expect([...d.nsqd.clients.values()].map((c) => c.tlsCommonName)).toEqual(["nsqclient"]);
  });

  test("require: any certificate passes, none is refused", async () => {
    const d = await tlsNsqd({ tlsClientAuthPolicy: "require" });
    await upgraded(d, stranger);
    const c = await raw(d);
    await c.identify({ tls_v1: true });
    await c.startTls({ ca }).catch(() => {});
    await c.closed();
    await until(() => d.logs.some((l) => l.includes("tls: client didn't provide a certificate")), "the log line");
  });
});

describe("--tls-required", () => {
  test("true: every command but IDENTIFY waits for TLS; plain HTTP is refused with the HTTPS port, HTTPS serves", async () => {
    const d = await tlsNsqd({ tlsRequired: "true" });
    const c = await raw(d);
    c.send(Command.pub("t", "x"));
    expect(await c.error()).toBe("E_INVALID cannot PUB in current state (TLS required)");
    await c.closed();
    const u = await upgraded(d);
    u.send(Command.pub("t", "x"));
    expect(await u.response()).toBe("OK");

    const httpsPort = d.nsqd.httpsPort();
    const refused = await d.http("/ping");
    expect(refused.status).toBe(403);
    expect(refused.headers.get("x-nsq-content-type")).toBe("nsq; version=1.0");
    expect(await refused.json()).toEqual({ message: "TLS_REQUIRED", https_port: httpsPort });
    const ok = await fetch(`https://127.0.0.1:${httpsPort}/stats?format=json`, { tls: { ca, serverName: "localhost" } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { topics: unknown[] }).topics).toHaveLength(1);
  });

  test("tcp-https: TCP still requires TLS, plain HTTP is served", async () => {
    const d = await tlsNsqd({ tlsRequired: "tcp-https" });
    const c = await raw(d);
    c.send(Command.sub("t", "c"));
    expect(await c.error()).toBe("E_INVALID cannot SUB in current state (TLS required)");
    expect((await d.http("/ping")).status).toBe(200);
  });
});
