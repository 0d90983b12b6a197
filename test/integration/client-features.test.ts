import { describe, expect, test } from "bun:test";
import { Consumer, type ConsumerOptions, NsqError, Producer } from "../../src/core/client/index.ts";
import { makeCerts } from "../helpers/certs.ts";
import { captureLog } from "../helpers/client.ts";
import { addrOf, testScope, type TestNsqd } from "../helpers/nsqd.ts";

const certs = makeCerts();
const { defer, nsqd } = testScope();
const tlsFlags = { tlsCert: certs.serverCert, tlsKey: certs.serverKey };
const trust = { ca: certs.read(certs.caFile) };

type Features = Pick<ConsumerOptions, "tlsV1" | "snappy" | "deflate" | "tls" | "authSecret">;

/** Publishes `bodies` and consumes them back, both with `features`; the /stats entries of both clients. */
async function roundTrip(d: TestNsqd, topic: string, features: Features, bodies: string[]) {
  const p = new Producer(addrOf(d), { logger: captureLog().logger, ...features });
  defer(() => p.stop());
  await p.multiPublish(topic, bodies);
  await p.publish(topic, bodies[0]!);
  const c = new Consumer(topic, "ch", { logger: captureLog().logger, maxInFlight: 50, ...features });
  defer(() => c.stop());
  const got: string[] = [];
  const all = new Promise<void>((resolve) =>
    c.addHandler((m) => {
      got.push(m.text());
      if (got.length === bodies.length + 1) resolve();
    }),
  );
  await c.connectToNsqd(addrOf(d));
  await all;
  expect(got).toEqual([...bodies, bodies[0]!]);
  const s = (await (await d.http(`/stats?format=json&topic=${topic}`)).json()) as {
    topics: { channels: { clients: Record<string, unknown>[] }[] }[];
    producers: Record<string, unknown>[];
  };
  return { consumer: s.topics[0]!.channels[0]!.clients[0]!, producer: s.producers[0]! };
}

const bodies = Array.from({ length: 300 }, (_, i) => `message ${i} ${"z".repeat(i * 7)}`);

describe("the client negotiates TLS × {none, snappy, deflate} with nsqd", () => {
  for (const tls of [false, true]) {
    for (const compression of ["none", "snappy", "deflate"] as const) {
      test(`tls ${tls}, ${compression}: messages both ways, /stats agrees`, async () => {
        const d = await nsqd(tlsFlags);
        const features = { tlsV1: tls, tls: trust, snappy: compression === "snappy", deflate: compression === "deflate" };
        const seen = await roundTrip(d, "feat", features, bodies);
        for (const s of [seen.consumer, seen.producer]) {
          expect(s).toMatchObject({ tls, snappy: compression === "snappy", deflate: compression === "deflate" });
          if (tls) expect(s.tls_version).toBe("TLS1.3");
        }
      });
    }
  }
});

describe("TLS client certificates and AUTH from the client", () => {
  test("a client certificate passes require-verify; without one the connect fails", async () => {
    const d = await nsqd({ ...tlsFlags, tlsClientAuthPolicy: "require-verify", tlsRootCaFile: certs.caFile });
    const mine = { ...trust, cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) };
    await roundTrip(d, "certs", { tlsV1: true, tls: mine, snappy: true }, ["x"]);
    expect([...d.nsqd.clients.values()].map((c) => c.tlsCommonName)).toEqual(["nsqclient", "nsqclient"]);
    const p = new Producer(addrOf(d), { logger: captureLog().logger, tlsV1: true, tls: trust });
    defer(() => p.stop());
    await expect(p.publish("certs", "y")).rejects.toBeInstanceOf(NsqError);
  });

  test("auth_secret is sent when nsqd requires AUTH", async () => {
    const auth = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) =>
        new URL(req.url).searchParams.get("secret") === "open sesame"
          ? Response.json({ ttl: 60, identity: "me", authorizations: [{ topic: ".*", channels: [".*"], permissions: ["publish", "subscribe"] }] })
          : Response.json({ ttl: 60, authorizations: [] }),
    });
    defer(() => auth.stop(true));
    const d = await nsqd({ authHttpAddress: [`127.0.0.1:${auth.port}`] });
    const seen = await roundTrip(d, "authed", { authSecret: "open sesame", deflate: true }, ["secret message"]);
    expect(seen.consumer).toMatchObject({ authed: true, auth_identity: "me", deflate: true });
    const p = new Producer(addrOf(d), { logger: captureLog().logger, authSecret: "wrong" });
    defer(() => p.stop());
    await expect(p.publish("authed", "x")).rejects.toMatchObject({ code: "E_UNAUTHORIZED" });
  });
});
