import { describe, expect, test } from "bun:test";
import {
  ApiError,
  boolParam,
  cleanPath,
  Json,
  parseQuery,
  RawJson,
  readBody,
  respondV1,
  RouteTable,
  v1Error,
} from "../../src/core/http.ts";

describe("parseQuery (Go url.ParseQuery)", () => {
  test("pairs, repeats, missing values, + and escapes", () => {
    const q = parseQuery("topic=a&topic=b&flag&x=1+2&y=%41%2b&&z=")!;
    expect([...q]).toEqual([
      ["topic", ["a", "b"]],
      ["flag", [""]],
      ["x", ["1 2"]],
      ["y", ["A+"]],
      ["z", [""]],
    ]);
    expect(parseQuery("")!.size).toBe(0);
  });

  test("a semicolon or a bad escape makes the whole query invalid", () => {
    expect(parseQuery("topic=a;b")).toBeNull();
    expect(parseQuery("a=1;b=2")).toBeNull();
    expect(parseQuery("topic=%zz")).toBeNull();
    expect(parseQuery("topic=%4")).toBeNull();
    expect(parseQuery("%=1")).toBeNull();
  });

  test("bytes that are not UTF-8 decode one for one instead of throwing", () => {
    expect(parseQuery("t=%ff%fe")!.get("t")).toEqual(["\u00ff\u00fe"]);
    expect(parseQuery("t=%e2%82%ac")!.get("t")).toEqual(["€"]);
  });

  test("boolParam: true/1, false/0, anything else is the default", () => {
    expect(boolParam("true", false)).toBe(true);
    expect(boolParam("1", false)).toBe(true);
    expect(boolParam("false", true)).toBe(false);
    expect(boolParam("0", true)).toBe(false);
    expect(boolParam("yes", false)).toBe(false);
    expect(boolParam("TRUE", true)).toBe(true);
    expect(boolParam(undefined, true)).toBe(true);
  });
});

describe("respondV1", () => {
  test("text, nil, JSON and error bodies with NSQ's headers", async () => {
    const ok = respondV1(200, "OK");
    expect(ok.headers.get("X-NSQ-Content-Type")).toBe("nsq; version=1.0");
    expect(ok.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(await ok.text()).toBe("OK");

    const empty = respondV1(200, null);
    expect(empty.headers.get("Content-Type")).toBeNull();
    expect(empty.headers.get("X-NSQ-Content-Type")).toBe("nsq; version=1.0");
    expect(await empty.text()).toBe("");

    const json = respondV1(200, new Json([1, "a"]));
    expect(json.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(await json.text()).toBe('[1,"a"]');
    expect(await respondV1(200, new RawJson('{"a":1}')).text()).toBe('{"a":1}');

    const err = v1Error(new ApiError(404, "TOPIC_NOT_FOUND"));
    expect(err.status).toBe(404);
    expect(err.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(err.headers.get("X-NSQ-Content-Type")).toBe("nsq; version=1.0");
    expect(await err.text()).toBe('{"message":"TOPIC_NOT_FOUND"}');
  });
});

describe("readBody", () => {
  const streamed = (parts: string[]) =>
    new Request("http://x/", {
      method: "POST",
      body: new ReadableStream({
        start(c) {
          for (const p of parts) c.enqueue(new TextEncoder().encode(p));
          c.close();
        },
      }),
    });

  test("a body with a Content-Length within the limit is read whole", async () => {
    const b = await readBody(new Request("http://x/", { method: "POST", body: "hello" }), 5);
    expect(new TextDecoder().decode(b)).toBe("hello");
  });

  test("a streamed body stops at limit+1 bytes, across chunk boundaries", async () => {
    expect((await readBody(streamed(["ab", "cd", "ef", "gh"]), 5)).length).toBe(6);
    expect(new TextDecoder().decode(await readBody(streamed(["ab", "cd"]), 5))).toBe("abcd");
    expect(new TextDecoder().decode(await readBody(streamed(["abcde"]), 5))).toBe("abcde");
    expect(new TextDecoder().decode(await readBody(streamed(["abcdefgh"]), 5))).toBe("abcdef");
  });

  test("no body is an empty body", async () => {
    expect((await readBody(new Request("http://x/", { method: "POST" }), 5)).length).toBe(0);
  });
});

describe("RouteTable (httprouter's answers)", () => {
  const t = new RouteTable([
    { method: "GET", path: "/ping" },
    { method: "POST", path: "/pub" },
    { method: "GET", path: "/config/:opt" },
    { method: "PUT", path: "/config/:opt" },
  ]);
  const answer = (method: string, path: string) =>
    t.fallback(new Request(`http://h${path}`, { method }), (s) => new Response(String(s), { status: s }));

  test("Allow lists the other methods of the path, sorted, with OPTIONS", () => {
    expect(t.allowed("/ping", "POST")).toBe("GET, OPTIONS");
    expect(t.allowed("/config/x", "DELETE")).toBe("GET, OPTIONS, PUT");
    expect(t.allowed("/config/x", "GET")).toBe("OPTIONS, PUT");
    expect(t.allowed("/config/", "GET")).toBe("");
    expect(t.allowed("/nope", "GET")).toBe("");
  });

  test("405 with Allow, 404 otherwise; OPTIONS answers 200 with Allow", async () => {
    const r405 = answer("DELETE", "/pub");
    expect(r405.status).toBe(405);
    expect(r405.headers.get("Allow")).toBe("OPTIONS, POST");
    expect(answer("GET", "/nope").status).toBe(404);
    const opt = answer("OPTIONS", "/config/a");
    expect(opt.status).toBe(200);
    expect(opt.headers.get("Allow")).toBe("GET, OPTIONS, PUT");
    expect(answer("OPTIONS", "/nope").status).toBe(404);
  });

  test("trailing slash and case are redirected within the method: 301 for GET, 307 otherwise", async () => {
    const r = answer("GET", "/ping/?a=1");
    expect(r.status).toBe(301);
    expect(r.headers.get("Location")).toBe("/ping?a=1");
    expect(await r.text()).toBe('<a href="/ping?a=1">Moved Permanently</a>.\n\n');
    const p = answer("POST", "/PUB");
    expect(p.status).toBe(307);
    expect(p.headers.get("Location")).toBe("/pub");
    expect(await p.text()).toBe("");
    expect(answer("GET", "/Config/Log_Level").headers.get("Location")).toBe("/config/Log_Level");
    expect(answer("GET", "//ping").headers.get("Location")).toBe("/ping");
    // another method's path is not redirected: /PING for POST is a 404
    expect(answer("POST", "/PING").status).toBe(404);
  });

  test("cleanPath", () => {
    expect(cleanPath("")).toBe("/");
    expect(cleanPath("//a//b/")).toBe("/a/b/");
    expect(cleanPath("/a/./b/../c")).toBe("/a/c");
    expect(cleanPath("/..")).toBe("/");
  });
});
