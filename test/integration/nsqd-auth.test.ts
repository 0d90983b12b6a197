import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { ascii } from "../../src/core/protocol/bytes.ts";
import { Command } from "../../src/core/protocol/commands.ts";
import type { NsqdOptions } from "../../src/daemons/nsqd/options.ts";
import { makeCerts } from "../helpers/certs.ts";
import { concat } from "../helpers/chunks.ts";
import { deferred, until } from "../helpers/client.ts";
import { testScope, type TestNsqd } from "../helpers/nsqd.ts";
import { RawClient } from "../helpers/raw-client.ts";

const certs = makeCerts();
const { defer, nsqd } = testScope();

const ALICE = {
  ttl: 3600,
  identity: "alice",
  identity_url: "https://auth.example/alice",
  authorizations: [
    { topic: "^pub", channels: [".*"], permissions: ["publish"] },
    { topic: "^sub$", channels: ["^ch$"], permissions: ["subscribe"] },
  ],
};

/** What the auth server answers to each secret: a body, or a status with a text body. */
type Answer = object | { status: number; text: string } | Promise<object>;

/** NSQ's auth server, as a test runs it: answers per secret, and every query it got. */
function authServer(answers: Record<string, Answer>, o: { tls?: boolean; httpsPort?: number } = {}) {
  const queries: { method: string; params: Record<string, string>; body: unknown }[] = [];
  const app = new Hono();
  const answer = async (params: Record<string, string>) => {
    const a = await answers[params.secret ?? ""];
    if (a === undefined) return new Response("unknown secret", { status: 500 });
    if ("status" in a && "text" in a) return new Response(a.text as string, { status: a.status as number });
    return Response.json(a);
  };
  app.get("/auth", (c) => {
    queries.push({ method: "GET", params: c.req.query(), body: null });
    if (o.httpsPort) return c.json({ https_port: o.httpsPort }, 403);
    return answer(c.req.query());
  });
  app.post("/auth", async (c) => {
    const body = (await c.req.json()) as Record<string, string[]>;
    queries.push({ method: "POST", params: {}, body });
    return answer(Object.fromEntries(Object.entries(body).map(([k, v]) => [k, v[0]!])));
  });
  const tls = o.tls ? { key: certs.read(certs.serverKey), cert: certs.read(certs.serverCert) } : undefined;
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch, tls });
  defer(() => server.stop(true));
  return { queries, addr: `127.0.0.1:${server.port}`, port: server.port! };
}

async function withAuth(answers: Record<string, Answer>, over: Partial<NsqdOptions> = {}) {
  const auth = authServer(answers);
  const d = await nsqd({ authHttpAddress: [auth.addr], httpClientRequestTimeout: 300, ...over });
  return { d, auth };
}

async function raw(d: TestNsqd): Promise<RawClient> {
  const c = await RawClient.connect(d.port);
  defer(() => c.isClosed || c.close());
  return c;
}

async function authed(d: TestNsqd, secret: string): Promise<RawClient> {
  const c = await raw(d);
  expect((await c.identify({})).auth_required).toBe(true);
  c.send(Command.auth(secret));
  expect(JSON.parse(await c.response())).toMatchObject({ permission_count: expect.any(Number) });
  return c;
}

async function refused(c: RawClient, command: Uint8Array, error: string): Promise<void> {
  c.send(command);
  expect(await c.error()).toBe(error);
  await c.closed();
}

describe("AUTH", () => {
  test("grants: identity and permission count; publish and subscribe checked per topic and channel; /stats shows the identity", async () => {
    const { d, auth } = await withAuth({ good: ALICE });
    const first = await raw(d);
    await refused(first, Command.pub("pubt", "x"), "E_AUTH_FIRST AUTH required before PUB");

    const c = await raw(d);
    await c.identify({});
    c.send(Command.auth("good"));
    expect(JSON.parse(await c.response())).toEqual({ identity: "alice", identity_url: "https://auth.example/alice", permission_count: 2 });
    expect(auth.queries.at(-1)).toEqual({ method: "GET", params: { common_name: "", remote_ip: "127.0.0.1", secret: "good", tls: "false" }, body: null });
    c.send(Command.pub("pubt", "x"));
    expect(await c.response()).toBe("OK");
    c.send(Command.mpub("pubt", ["a", "b"]));
    expect(await c.response()).toBe("OK");
    const s = (await (await d.http("/stats?format=json")).json()) as { producers: Record<string, unknown>[] };
    expect(s.producers[0]).toMatchObject({ authed: true, auth_identity: "alice", auth_identity_url: "https://auth.example/alice" });
    await refused(c, Command.dpub("other", 10, "x"), 'E_UNAUTHORIZED AUTH failed for DPUB on "other" ""');

    const sub = await authed(d, "good");
    sub.send(Command.sub("sub", "ch"));
    expect(await sub.response()).toBe("OK");
    await refused(await authed(d, "good"), Command.sub("sub", "other"), 'E_UNAUTHORIZED AUTH failed for SUB on "sub" "other"');
    // publish is not subscribe
    await refused(await authed(d, "good"), Command.sub("pubt", "ch"), 'E_UNAUTHORIZED AUTH failed for SUB on "pubt" "ch"');
  });

  test("refusals: no authorizations; an auth server that errs, answers garbage or is slow fails AUTH, logged; others go on", async () => {
    const slow = deferred<object>();
    defer(() => slow.resolve(ALICE));
    const { d } = await withAuth({
      good: ALICE,
      none: { ttl: 60, authorizations: [] },
      broken: { status: 500, text: "oops" },
      garbage: { status: 200, text: "<html>" },
      badttl: { ttl: 0, authorizations: ALICE.authorizations },
      badperm: { ttl: 60, authorizations: [{ topic: ".*", channels: [".*"], permissions: ["admin"] }] },
      badregex: { ttl: 60, authorizations: [{ topic: "(", channels: [".*"], permissions: ["publish"] }] },
      slow: slow.promise,
    });
    const bystander = await authed(d, "good");
    const c = await raw(d);
    await c.identify({});
    await refused(c, Command.auth("none"), "E_UNAUTHORIZED AUTH no authorizations found");
    for (const secret of ["broken", "garbage", "badttl", "badperm", "badregex", "slow"]) {
      const f = await raw(d);
      await f.identify({});
      f.send(Command.auth(secret));
      if (secret === "slow") {
        // while one client waits on the auth server, the others are served
        bystander.send(Command.pub("pubt", "meanwhile"));
        expect(await bystander.response()).toBe("OK");
      }
      expect(await f.error()).toBe("E_AUTH_FAILED AUTH failed");
      await f.closed();
    }
    for (const why of ["got response 500", "invalid TTL 0 (must be >0)", "unknown permission admin", 'unable to compile topic "("']) {
      expect(d.logs.some((l) => l.includes("AUTH failed") && l.includes(why)), why).toBe(true);
    }
    bystander.send(Command.pub("pubt", "after"));
    expect(await bystander.response()).toBe("OK");
  });

  test("an auth server that is down fails AUTH; with several, one that answers will do", async () => {
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const down = `127.0.0.1:${closed.port}`;
    closed.stop(true);
    const d = await nsqd({ authHttpAddress: [down] });
    const c = await raw(d);
    await c.identify({});
    await refused(c, Command.auth("good"), "E_AUTH_FAILED AUTH failed");
    expect(d.logs.some((l) => l.includes(`failed auth against ${down}`))).toBe(true);
    const auth = authServer({ good: ALICE });
    const two = await nsqd({ authHttpAddress: [down, `http://${auth.addr}/auth`] });
    await authed(two, "good");
  });

  test("authorizations expire after their TTL: the next command asks again, and a refusal then closes", async () => {
    const answers: Record<string, Answer> = { short: { ...ALICE, ttl: 1 } };
    const { d, auth } = await withAuth(answers);
    const c = await authed(d, "short");
    const refuse = await authed(d, "short");
    c.send(Command.pub("pubt", "x"));
    expect(await c.response()).toBe("OK");
    expect(auth.queries.length).toBe(2);
    await until(() => [...d.nsqd.clients.values()].every((cl) => cl.authState!.isExpired()), "expiry", 3000);
    c.send(Command.pub("pubt", "y"));
    expect(await c.response()).toBe("OK");
    expect(auth.queries.length).toBe(3);
    answers.short = { ttl: 60, authorizations: [] };
    await refused(refuse, Command.sub("sub", "ch"), 'E_UNAUTHORIZED AUTH failed for SUB on "sub" "ch"');
    expect(auth.queries.length).toBe(4);
  });

  test("commands behind AUTH in the same write wait for its answer and run in order; a second AUTH is refused", async () => {
    const { d } = await withAuth({ good: ALICE });
    const c = await raw(d);
    await c.identify({});
    c.send(concat(Command.auth("good"), Command.pub("pubt", "1"), ascii("NOP\n"), Command.mpub("pubt", ["2", "3"]), Command.auth("good")));
    expect(JSON.parse(await c.response()).identity).toBe("alice");
    expect(await c.response()).toBe("OK");
    expect(await c.response()).toBe("OK");
    expect(await c.error()).toBe("E_INVALID AUTH already set");
    expect(d.nsqd.topics.get("pubt")!.messageCount).toBe(3);
  });

  test("--auth-http-request-method=post sends the query as a JSON body of lists", async () => {
    const { auth, d } = await withAuth({ good: ALICE }, { authHttpRequestMethod: "post" });
    await authed(d, "good");
    expect(auth.queries).toEqual([
      { method: "POST", params: {}, body: { common_name: [""], remote_ip: ["127.0.0.1"], secret: ["good"], tls: ["false"] } },
    ]);
  });

  test("over TLS with a client certificate: tls and common_name; an HTTPS auth server found through its 403", async () => {
    const https = authServer({ good: ALICE }, { tls: true });
    const http = authServer({}, { httpsPort: https.port });
    const d = await nsqd({
      tlsCert: certs.serverCert,
      tlsKey: certs.serverKey,
      tlsRootCaFile: certs.caFile,
      tlsClientAuthPolicy: "require-verify",
      authHttpAddress: [`http://localhost:${http.port}/auth`],
    });
    const c = await raw(d);
    await c.identify({ tls_v1: true });
    await c.startTls({ ca: certs.read(certs.caFile), cert: certs.read(certs.clientCert), key: certs.read(certs.clientKey) });
    expect(await c.response()).toBe("OK");
    c.send(Command.auth("good"));
    expect(JSON.parse(await c.response()).identity).toBe("alice");
    expect(http.queries).toHaveLength(1);
    expect(https.queries[0]!.params).toEqual({ common_name: "nsqclient", remote_ip: "127.0.0.1", secret: "good", tls: "true" });
  });
});
