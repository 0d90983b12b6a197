import { afterEach, describe, expect, test } from "bun:test";
import {
  endpointUrl, fetchLookupProducers, getLookupdProducers, getLookupdTopicChannels, getLookupdTopicProducers, getLookupdTopics,
  getV1, type Producer,
} from "../../src/core/clusterinfo/index.ts";

const V1 = { "X-NSQ-Content-Type": "nsq; version=1.0" };
const DOWN = "127.0.0.1:1";
const opts = { timeoutMs: 2000 };

let servers: ReturnType<typeof Bun.serve>[] = [];
afterEach(() => {
  for (const s of servers) s.stop(true);
  servers = [];
});

/** A fake nsqlookupd (or nsqd) on port 0 that answers every request with `respond`; returns `host:port`. */
function serve(respond: (req: Request) => Response): string {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: respond });
  servers.push(s);
  return `127.0.0.1:${s.port}`;
}

const producer = (host: string, httpPort: number): Producer => ({
  remote_address: `${host}:5${httpPort}`,
  hostname: host,
  broadcast_address: host,
  tcp_port: httpPort - 1,
  http_port: httpPort,
  version: "1.3.0",
  topology_zone: "",
  topology_region: "",
});

/** A lookupd that knows `topics` (each with `channels`) produced by `producers`. */
function lookupd(o: { topics: string[]; channels: string[]; producers: Producer[] }): string {
  return serve((req) => {
    const path = new URL(req.url).pathname;
    const body =
      path === "/topics" ? { topics: o.topics }
      : path === "/channels" ? { channels: o.channels }
      : path === "/lookup" ? { channels: o.channels, producers: o.producers }
      : { producers: o.producers.map((p) => ({ ...p, tombstones: o.topics.map(() => false), topics: o.topics })) };
    return Response.json(body, { headers: V1 });
  });
}

describe("queries over many nsqlookupd", () => {
  test("answer with the union, deduplicated", async () => {
    const [a, b, c] = [producer("a", 4151), producer("b", 4151), producer("c", 4151)];
    const l1 = lookupd({ topics: ["t2", "t1"], channels: ["x", "y"], producers: [a, b] });
    const l2 = lookupd({ topics: ["t3", "t2"], channels: ["y", "z"], producers: [{ ...b, remote_address: "other" }, c] });
    expect(await getLookupdTopics([l1, l2], opts)).toEqual({ value: ["t1", "t2", "t3"], errors: [] });
    expect(await getLookupdTopicChannels("t1", [l1, l2], opts)).toEqual({ value: ["x", "y", "z"], errors: [] });
    expect(await getLookupdTopicProducers("t1", [l1, l2], opts)).toEqual({ value: [a, b, c], errors: [] });
    const nodes = await getLookupdProducers([l1, l2], opts);
    expect(nodes.value.map((p) => p.hostname)).toEqual(["a", "b", "c"]);
    expect(nodes.value[2]!.topics).toEqual([{ topic: "t2", tombstoned: false }, { topic: "t3", tombstoned: false }]);
    expect(nodes.value[1]!.remote_addresses).toEqual([`${l1}/${b.remote_address}`, `${l2}/other`]);
  });

  test("one lookupd down: the others' answer, with its error", async () => {
    const a = producer("a", 4151);
    const l1 = lookupd({ topics: ["t"], channels: [], producers: [a] });
    const r = await getLookupdTopicProducers("t", [DOWN, l1], opts);
    expect(r.value).toEqual([a]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.message).toStartWith(`GET http://${DOWN}/lookup?topic=t - `);
  });

  test("all down: an AggregateError with every lookupd's error", async () => {
    const failing = serve(() => new Response("boom", { status: 500 }));
    const e = await getLookupdTopics([DOWN, failing], opts).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AggregateError);
    const agg = e as AggregateError;
    expect(agg.errors).toHaveLength(2);
    expect(agg.message).toStartWith(`Failed to query any nsqlookupd: GET http://${DOWN}/topics - `);
    expect(agg.message).toEndWith(`\nGET http://${failing}/topics got response 500 boom`);
  });

  test("no lookupd, or a list left out: an empty answer", async () => {
    expect(await getLookupdTopics([], opts)).toEqual({ value: [], errors: [] });
    const bare = serve(() => Response.json({}, { headers: V1 }));
    expect(await getLookupdTopics([bare], opts)).toEqual({ value: [], errors: [] });
    expect(await fetchLookupProducers(`http://${bare}/lookup?topic=t`, opts)).toEqual([]);
  });
});

describe("getV1", () => {
  test("sends the V1 Accept header and the caller's headers", async () => {
    let seen: Headers | null = null;
    const addr = serve((req) => {
      seen = req.headers;
      return Response.json({ channels: [], producers: [producer("a", 4151)] }, { headers: V1 });
    });
    const producers = await fetchLookupProducers(endpointUrl(addr, "/lookup", { topic: "t" }), {
      ...opts,
      headers: { Authorization: "Bearer s3cret" },
    });
    expect(producers.map((p) => p.hostname)).toEqual(["a"]);
    expect(seen!.get("accept")).toBe("application/vnd.nsq; version=1.0");
    expect(seen!.get("authorization")).toBe("Bearer s3cret");
  });

  test("unwraps the legacy {status_code,status_txt,data} wrapper only without X-NSQ-Content-Type", async () => {
    const wrapped = { status_code: 200, status_txt: "OK", data: { producers: [{ broadcast_address: "a", tcp_port: 4150 }] } };
    const legacy = serve(() => Response.json(wrapped));
    const v1 = serve(() => Response.json(wrapped, { headers: V1 }));
    expect(await getV1(`http://${legacy}/lookup`, opts)).toEqual(wrapped.data);
    expect(await fetchLookupProducers(`http://${legacy}/lookup`, opts)).toEqual(wrapped.data.producers as Producer[]);
    expect(await getV1(`http://${v1}/lookup`, opts)).toEqual(wrapped);
  });

  test("errors name the URL: status and body, invalid JSON, the cause", async () => {
    const notFound = serve(() => Response.json({ message: "TOPIC_NOT_FOUND" }, { status: 404, headers: V1 }));
    const garbage = serve(() => new Response("not json", { headers: V1 }));
    const err = (url: string) => getV1(url, opts).then(() => "no error", (e: Error) => e.message);
    expect(await err(`http://${notFound}/lookup`)).toBe(`GET http://${notFound}/lookup got response 404 {"message":"TOPIC_NOT_FOUND"}`);
    expect(await err(`http://${garbage}/stats`)).toBe(`GET http://${garbage}/stats - invalid JSON`);
    expect(await err(`http://${DOWN}/stats`)).toStartWith(`GET http://${DOWN}/stats - `);
  });
});

describe("endpointUrl (go-nsq buildLookupAddr)", () => {
  test("host:port gets http:// and the path", () => {
    expect(endpointUrl("127.0.0.1:4161", "/lookup", { topic: "t#ephemeral" })).toBe("http://127.0.0.1:4161/lookup?topic=t%23ephemeral");
    expect(endpointUrl("[::1]:4161", "/nodes")).toBe("http://[::1]:4161/nodes");
  });

  test("a full URL keeps its scheme, host, path and query", () => {
    expect(endpointUrl("https://lookupd.example/custom?x=1", "/lookup", { topic: "t" })).toBe("https://lookupd.example/custom?x=1&topic=t");
    expect(endpointUrl("http://127.0.0.1:4161/", "/lookup", { topic: "t" })).toBe("http://127.0.0.1:4161/lookup?topic=t");
  });
});
