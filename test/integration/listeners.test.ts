import { describe, expect, test } from "bun:test";
import { serveHttp } from "../../src/core/http-server.ts";
import { listenTcp } from "../../src/core/listener.ts";
import { ascii } from "../../src/core/protocol/bytes.ts";
import { captureLog } from "../helpers/client.ts";

const noProtocols = { protocols: [], badProtocol: ascii("E_BAD_PROTOCOL") };
const error = () => new Response(null, { status: 500 });

describe("listeners bind as Go's net.Listen does", () => {
  test("a TCP port in use is an error naming the address, not a shared port", () => {
    const { logger } = captureLog();
    const a = listenTcp({ hostname: "127.0.0.1", port: 0 }, { ...noProtocols, log: logger });
    try {
      expect(() => listenTcp({ hostname: "127.0.0.1", port: a.port }, { ...noProtocols, log: logger })).toThrow(
        new RegExp(`^listen \\(127\\.0\\.0\\.1:${a.port}\\) failed - listen tcp 127\\.0\\.0\\.1:${a.port}: bind: address already in use$`, "i"),
      );
    } finally {
      a.stop(true);
    }
  });

  test("an HTTP port in use is an error too (Bun.serve would otherwise share it through SO_REUSEPORT)", () => {
    const a = serveHttp({ hostname: "127.0.0.1", port: 0 }, { fetch: () => new Response("a"), error });
    try {
      expect(() => serveHttp({ hostname: "127.0.0.1", port: a.port }, { fetch: () => new Response("b"), error })).toThrow(
        new RegExp(`^listen \\(127\\.0\\.0\\.1:${a.port}\\) failed - listen tcp 127\\.0\\.0\\.1:${a.port}: bind: address already in use$`, "i"),
      );
    } finally {
      a.stop(true);
    }
  });

  test("a bad magic gets the daemon's answer and is closed; the log names the client and the magic", async () => {
    const { logger, has } = captureLog();
    const l = listenTcp({ hostname: "127.0.0.1", port: 0 }, { ...noProtocols, log: logger });
    try {
      const got: number[] = [];
      const closed = Promise.withResolvers<void>();
      const s = await Bun.connect({
        hostname: "127.0.0.1",
        port: l.port,
        socket: { data: (_s, d) => void got.push(...d), close: () => closed.resolve() },
      });
      // the magic split over two writes must be reassembled
      s.write("  ");
      await Bun.sleep(0); // deliberate: the second write goes out on its own
      s.write("XX");
      await closed.promise;
      expect(new TextDecoder().decode(Uint8Array.from(got))).toBe("E_BAD_PROTOCOL");
      expect(has(/TCP: new client\(127\.0\.0\.1:\d+\)/)).toBe(true);
      expect(has(/client\(127\.0\.0\.1:\d+\) bad protocol magic ' {2}XX'/)).toBe(true);
    } finally {
      l.stop(true);
    }
  });
});
