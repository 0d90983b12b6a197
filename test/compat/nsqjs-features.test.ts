import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import zlib from "node:zlib";
// nsqjs (npm) negotiates TLS (node:tls), snappy (snappystream) and deflate (node:zlib) the way its own
// integration suite does against NSQ's nsqd: our nsqd must be indistinguishable to it.
import nsq, { type Writer } from "nsqjs";
import type { NsqdOptions } from "../../src/daemons/nsqd/options.ts";
import { makeCerts } from "../helpers/certs.ts";
import { testScope, type TestNsqd } from "../helpers/nsqd.ts";

const certs = makeCerts();
const { defer, nsqd } = testScope();

// nsqjs pipes the socket into a raw inflater; when the connection closes, node's zlib ends that stream
// and, since nsqd never ends its deflate stream with a final block (Go's nsqd neither), reports
// "unexpected end of file" on an emitter nobody listens to. The same happens against Go's nsqd.
const createInflateRaw = zlib.createInflateRaw;
(zlib as { createInflateRaw: typeof createInflateRaw }).createInflateRaw = (o) => createInflateRaw(o).on("error", () => {});

type Msg = { body: Buffer; finish(): void };

function writer(d: TestNsqd, opts: Record<string, unknown>): Promise<Writer> {
  const w = new nsq.Writer("127.0.0.1", d.port, opts);
  defer(() => w.close());
  return new Promise((resolve, reject) => {
    w.on("ready", () => resolve(w));
    w.on("error", reject);
    w.connect();
  });
}

function consume(d: TestNsqd, topic: string, n: number, opts: Record<string, unknown>): Promise<string[]> {
  const r = new nsq.Reader(topic, "ch", { nsqdTCPAddresses: [`127.0.0.1:${d.port}`], maxInFlight: 50, ...opts });
  defer(() => r.close());
  const got: string[] = [];
  return new Promise((resolve, reject) => {
    r.on("error", reject);
    r.on("message", (m: Msg) => {
      got.push(m.body.toString());
      m.finish();
      if (got.length === n) resolve(got);
    });
    r.connect();
  });
}

/** nsqjs publishes and consumes `bodies` with `opts`; the /stats entries of its two connections. */
async function roundTrip(d: TestNsqd, topic: string, opts: Record<string, unknown>, bodies: string[]) {
  const w = await writer(d, opts);
  await new Promise<void>((resolve, reject) => w.publish(topic, bodies, (e?: Error) => (e ? reject(e) : resolve())));
  expect(await consume(d, topic, bodies.length, opts)).toEqual(bodies);
  const s = (await (await d.http(`/stats?format=json&topic=${topic}`)).json()) as {
    topics: { channels: { clients: Record<string, unknown>[] }[] }[];
    producers: Record<string, unknown>[];
  };
  return [s.topics[0]!.channels[0]!.clients[0]!, s.producers[0]!];
}

const tlsFlags: Partial<NsqdOptions> = { tlsCert: certs.serverCert, tlsKey: certs.serverKey };
const ca = readFileSync(certs.caFile);
const bodies = Array.from({ length: 200 }, (_, i) => `nsqjs ${i} ${"q".repeat(i * 11)}`);

describe("nsqjs negotiates TLS × {none, snappy, deflate} with nsq nsqd", () => {
  for (const tls of [false, true]) {
    for (const compression of ["none", "snappy", "deflate"] as const) {
      test(`tls ${tls}, ${compression}`, async () => {
        const d = await nsqd(tlsFlags);
        const opts = { tls, ca, snappy: compression === "snappy", deflate: compression === "deflate", deflateLevel: 3 };
        for (const s of await roundTrip(d, "js", opts, bodies)) {
          expect(s).toMatchObject({ tls, snappy: compression === "snappy", deflate: compression === "deflate", user_agent: expect.stringMatching(/^nsqjs/) });
        }
      });
    }
  }

  test("a client certificate under require-verify, and AUTH with authSecret", async () => {
    const auth = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) => {
        const q = new URL(req.url).searchParams;
        const ok = q.get("secret") === "js secret" && q.get("common_name") === "nsqclient" && q.get("tls") === "true";
        return Response.json({ ttl: 60, identity: "js", authorizations: ok ? [{ topic: "js", channels: [".*"], permissions: ["publish", "subscribe"] }] : [] });
      },
    });
    defer(() => auth.stop(true));
    const d = await nsqd({ ...tlsFlags, tlsRootCaFile: certs.caFile, tlsClientAuthPolicy: "require-verify", tlsRequired: "tcp-https", authHttpAddress: [`127.0.0.1:${auth.port}`] });
    const opts = { tls: true, ca, cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey), authSecret: "js secret", snappy: true };
    const [consumer] = await roundTrip(d, "js", opts, ["authenticated"]);
    expect(consumer).toMatchObject({ tls: true, snappy: true, authed: true, auth_identity: "js" });
  });
});
