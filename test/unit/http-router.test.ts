import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { ApiError, Json } from "../../src/core/http.ts";
import { type ApiEnv, mountRoutes } from "../../src/core/http-router.ts";
import { captureLog } from "../helpers/client.ts";

function app() {
  const log = captureLog();
  const a = new Hono<ApiEnv>();
  a.use("/closing", () => Promise.resolve(new Response("middleware first", { status: 503 })));
  mountRoutes(
    a,
    [
      { method: "GET", path: "/ping", kind: "plain", log: true, handler: () => "OK" },
      { method: "GET", path: "/sick", kind: "plain", log: true, handler: () => Promise.reject(new ApiError(500, "NOK - disk")) },
      { method: "GET", path: "/json", kind: "v1", log: true, handler: () => new Json({ a: 1 }) },
      { method: "POST", path: "/quiet", kind: "v1", log: false, handler: () => null },
      { method: "GET", path: "/raw", kind: "v1", log: true, handler: () => new Response("raw", { status: 202 }) },
      { method: "GET", path: "/panic", kind: "v1", log: true, handler: () => JSON.parse("{") },
      { method: "GET", path: "/closing", kind: "v1", log: true, handler: () => "unreachable" },
    ],
    log.logger,
  );
  return { a, log };
}

const read = async (r: Response) => ({ status: r.status, body: await r.text(), nsq: r.headers.get("X-NSQ-Content-Type") });

describe("mountRoutes (httprouter + http_api.Decorate)", () => {
  test("plain and V1 answers, ApiError as the decorator writes it, a Response as it is", async () => {
    const { a } = app();
    expect(await read(await a.request("/ping"))).toEqual({ status: 200, body: "OK", nsq: null });
    expect(await read(await a.request("/sick"))).toEqual({ status: 500, body: "NOK - disk", nsq: null });
    expect(await read(await a.request("/json"))).toEqual({ status: 200, body: '{"a":1}', nsq: "nsq; version=1.0" });
    expect(await read(await a.request("/raw"))).toEqual({ status: 202, body: "raw", nsq: null });
  });

  test("each request is logged unless the route says not to", async () => {
    const { a, log } = app();
    await a.request("/json");
    await a.request("/quiet", { method: "POST" });
    await a.request("/nope");
    expect(log.lines.map((l) => l.replace(/^.*INFO: /, "").replace(/ \(\) .*\n$/, ""))).toEqual(["200 GET /json", "404 GET /nope"]);
  });

  test("an exception is a logged panic and 500 INTERNAL_ERROR", async () => {
    const { a, log } = app();
    expect(await read(await a.request("/panic"))).toEqual({ status: 500, body: '{"message":"INTERNAL_ERROR"}', nsq: "nsq; version=1.0" });
    expect(log.has(/ERROR: panic in HTTP handler - SyntaxError/)).toBe(true);
    expect(log.has(/INFO: 500 GET \/panic /)).toBe(true);
  });

  test("HEAD is not GET; the daemon's middleware runs before the routes", async () => {
    const { a } = app();
    const head = await a.request("/json", { method: "HEAD" });
    expect({ status: head.status, allow: head.headers.get("Allow") }).toEqual({ status: 405, allow: "GET, OPTIONS" });
    expect(await read(await a.request("/closing"))).toEqual({ status: 503, body: "middleware first", nsq: null });
  });
});
