import { describe, expect, test } from "bun:test";
import {
  ascii, ByteWriter, Command, CommandParser, decodeMessage, encodeFrame, encodeMessage, encodeMpubBody,
  encodeV1Response, FatalClientError, FrameDecoder, FrameTooLargeError, FrameType, GuidFactory, idFromWords, idWords, isValidName,
  MAX_LINE, NO_BODY, parseBase10, parseMpubBody, splitTextMpubBody, writeFrame, writeMessageFrame, type CommandSink,
} from "../../src/core/protocol/index.ts";
import { chunkings, concat, text } from "../helpers/chunks.ts";

const BODY_VERBS = new Set(["PUB", "MPUB", "DPUB", "IDENTIFY", "AUTH"]);

function recorder(limit = 1024) {
  const events: string[] = [];
  const sink: CommandSink = {
    line(args) {
      const verb = text(args[0]!);
      if (!BODY_VERBS.has(verb)) events.push(`line ${args.map(text).join("|")}`);
      return BODY_VERBS.has(verb) ? limit : NO_BODY;
    },
    badBodySize(args, size) {
      events.push(`bad ${text(args[0]!)} ${size}`);
    },
    body(args, body) {
      events.push(`body ${args.map(text).join("|")} ${text(body)}`);
    },
  };
  return { events, sink };
}

describe("CommandParser", () => {
  const stream = concat(
    ascii("NOP\n"),
    ascii("RDY 100\r\n"),
    Command.pub("t", "hello"),
    ascii("SUB topic ch#ephemeral\n"),
    Command.mpub("t", ["a", "bc"]),
    ascii("FIN 0123456789abcdef\n"),
    Command.identify({ a: 1 }),
    ascii("CLS\n"),
  );
  const expected = [
    "line NOP",
    "line RDY|100",
    "body PUB|t hello",
    "line SUB|topic|ch#ephemeral",
    `body MPUB|t ${text(encodeMpubBody([ascii("a"), ascii("bc")]))}`,
    "line FIN|0123456789abcdef",
    'body IDENTIFY {"a":1}',
    "line CLS",
  ];

  test("parses every chunking identically", () => {
    for (const [name, chunks] of chunkings(stream)) {
      const { events, sink } = recorder();
      const p = new CommandParser(sink);
      for (const c of chunks) p.push(c);
      expect({ name, events }).toEqual({ name, events: expected });
    }
  });

  test("a whole body inside one chunk is handed over without a copy", () => {
    const chunk = Command.pub("t", "zero-copy");
    let seen: Uint8Array | undefined;
    new CommandParser({ line: () => 100, badBodySize() {}, body: (_a, b) => (seen = b) }).push(chunk);
    expect(seen!.buffer).toBe(chunk.buffer);
  });

  test("a body size outside 1..limit stops the parser before any body is buffered", () => {
    for (const size of [0, -1, 1025]) {
      const bytes = concat(ascii("PUB t\n"), new Uint8Array(new Int32Array([0]).buffer), ascii("NOP\n"));
      new DataView(bytes.buffer).setInt32(6, size);
      for (const [, chunks] of chunkings(bytes)) {
        const { events, sink } = recorder();
        const p = new CommandParser(sink);
        for (const c of chunks) p.push(c);
        expect(events).toEqual([`bad PUB ${size}`]);
        expect(p.stopped).toBe(true);
      }
    }
  });

  test("the line checks run before the body arrives", () => {
    const lines: string[] = [];
    const p = new CommandParser({
      line: (args) => {
        lines.push(text(args[1]!));
        throw new FatalClientError("E_BAD_TOPIC", "bad");
      },
      badBodySize() {},
      body() {},
    });
    expect(() => p.push(ascii("PUB bad!\n"))).toThrow("E_BAD_TOPIC bad");
    expect(lines).toEqual(["bad!"]);
  });

  test("a line longer than 16 KiB is refused whether whole or in pieces", () => {
    const long = ascii(`PUB ${"x".repeat(MAX_LINE)}\n`);
    expect(() => new CommandParser(recorder().sink).push(long)).toThrow(/E_INVALID/);
    const p = new CommandParser(recorder().sink);
    expect(() => {
      for (let i = 0; i < long.length; i += 1000) p.push(long.subarray(i, i + 1000));
    }).toThrow(/E_INVALID/);
  });
});

describe("frames", () => {
  test("layout is [size=4+len][type][data]", () => {
    expect([...encodeFrame(FrameType.Error, ascii("E_INVALID x"))]).toEqual([
      0, 0, 0, 15, 0, 0, 0, 1, ...ascii("E_INVALID x"),
    ]);
    const w = new ByteWriter(1);
    writeFrame(w, FrameType.Response, ascii("OK"));
    expect([...w.written()]).toEqual([0, 0, 0, 6, 0, 0, 0, 0, 79, 75]);
    expect([...encodeV1Response(ascii("OK"))]).toEqual([0, 0, 0, 2, 79, 75]);
  });

  test("FrameDecoder decodes every chunking, typed and untyped", () => {
    const msg = { timestamp: 1_700_000_000_123_456_789, attempts: 3, id: "0a1b2c3d4e5f6789", body: ascii("body") };
    const w = new ByteWriter(8);
    writeFrame(w, FrameType.Response, ascii("OK"));
    const [id0, id1, id2, id3] = idWords(msg.id);
    writeMessageFrame(w, { ...msg, id0, id1, id2, id3 });
    writeFrame(w, FrameType.Response, new Uint8Array(0));
    writeFrame(w, FrameType.Error, ascii("E_INVALID nope"));
    const bytes = w.written().slice();
    for (const [name, chunks] of chunkings(bytes)) {
      const got: string[] = [];
      const d = new FrameDecoder((type, data) =>
        got.push(type === FrameType.Message ? `${type}:${JSON.stringify(decodeMessage(data.slice()), (k, v) => (k === "body" ? text(v) : v))}` : `${type}:${text(data)}`),
      );
      for (const c of chunks) d.push(c);
      expect({ name, got }).toEqual({
        name,
        got: [
          "0:OK",
          `2:${JSON.stringify({ timestamp: msg.timestamp, attempts: 3, id: msg.id, body: "body" })}`,
          "0:",
          "1:E_INVALID nope",
        ],
      });
    }
    const v1 = concat(encodeV1Response(ascii("OK")), encodeV1Response(ascii('{"a":1}')));
    for (const [, chunks] of chunkings(v1)) {
      const got: string[] = [];
      const d = new FrameDecoder((_t, data) => got.push(text(data)), { typed: false });
      for (const c of chunks) d.push(c);
      expect(got).toEqual(["OK", '{"a":1}']);
    }
  });

  test("FrameDecoder refuses oversized or impossible sizes instead of buffering", () => {
    const d = new FrameDecoder(() => {}, { maxSize: 100 });
    expect(() => d.push(new Uint8Array([0, 0, 1, 0, 0, 0, 0, 0]))).toThrow(FrameTooLargeError);
    const d2 = new FrameDecoder(() => {});
    expect(() => d2.push(new Uint8Array([0, 0, 0, 2, 0, 0, 0, 0]))).toThrow(FrameTooLargeError);
  });
});

describe("message layout", () => {
  test("encodes ts(8) attempts(2) id(16) body and decodes back", () => {
    const m = { timestamp: 1_600_000_000_000_000_000, attempts: 65535, id: "ffffffffffffffff", body: ascii("x") };
    const b = encodeMessage(m);
    expect(b.length).toBe(27);
    const v = new DataView(b.buffer);
    expect(v.getBigUint64(0)).toBe(1_600_000_000_000_000_000n);
    expect(v.getUint16(8)).toBe(65535);
    expect(text(b.subarray(10, 26))).toBe("ffffffffffffffff");
    expect(decodeMessage(b)).toEqual(m);
    expect(() => decodeMessage(new Uint8Array(25))).toThrow("invalid message buffer size (25)");
  });

  test("an ID and its four words go both ways, whatever its bytes", () => {
    for (const id of ["0a1b2c3d4e5f6789", "ffffffffffffffff", "\u0000\u00ff~ x\u0080abcdefghij"]) {
      const w = idWords(id);
      expect(w.every((x) => x >= 0 && x < 2 ** 32)).toBe(true);
      expect(idFromWords(...w)).toBe(id);
    }
  });
});

describe("MPUB body", () => {
  test("round trip and atomic validation with nsqd's texts", () => {
    const body = encodeMpubBody([ascii("a"), ascii("bb")]);
    expect(parseMpubBody(body, 10, 100).map(text)).toEqual(["a", "bb"]);
    const err = (b: Uint8Array, maxMsg = 10) => {
      try {
        parseMpubBody(b, maxMsg, 100);
      } catch (e) {
        return (e as Error).message;
      }
      return "no error";
    };
    expect(err(new Uint8Array(2))).toBe("E_BAD_BODY MPUB failed to read message count");
    expect(err(new Uint8Array(4))).toBe("E_BAD_BODY MPUB invalid message count 0");
    expect(err(new Uint8Array([0, 0, 0, 20]))).toBe("E_BAD_BODY MPUB invalid message count 20");
    expect(err(new Uint8Array([0, 0, 0, 1, 0, 0]))).toBe("E_BAD_MESSAGE MPUB failed to read message(0) body size");
    expect(err(new Uint8Array([0, 0, 0, 1, 0, 0, 0, 0]))).toBe("E_BAD_MESSAGE MPUB invalid message(0) body size 0");
    expect(err(body, 1)).toBe("E_BAD_MESSAGE MPUB message too big 2 > 1");
    expect(err(body.subarray(0, body.length - 1))).toBe("E_BAD_MESSAGE MPUB failed to read message body");
    expect(err(concat(body, ascii("x")))).toBe("E_BAD_BODY MPUB invalid body size 16");
  });
});

describe("text MPUB body (HTTP /mpub)", () => {
  const split = (body: string, maxMsg = 3, maxBody = 10) => {
    const r = splitTextMpubBody(ascii(body), maxMsg, maxBody);
    return typeof r === "string" ? r : r.map(text);
  };

  test("one message per line; empty lines, a last newline and a last line without one as nsqd reads them", () => {
    expect(split("")).toEqual([]);
    expect(split("\n\n\n")).toEqual([]);
    expect(split("a")).toEqual(["a"]);
    expect(split("a\n")).toEqual(["a"]);
    expect(split("a\n\nbb\n\nccc")).toEqual(["a", "bb", "ccc"]);
    // only \n splits: a \r stays in the message, other bytes are taken as they are
    expect(split("a\r\n\u0000\u00ff")).toEqual(["a\r", "\u0000\u00ff"]);
  });

  test("messages are views into the body, not copies", () => {
    const body = ascii("ab\ncd");
    const r = splitTextMpubBody(body, 10, 10) as Uint8Array[];
    expect(r[1]!.buffer).toBe(body.buffer);
    expect(r[1]!.byteOffset).toBe(3);
  });

  test("MSG_TOO_BIG: a line longer than maxMsgSize, its newline not counted", () => {
    expect(split("abc\n")).toEqual(["abc"]);
    expect(split("abcd")).toBe("MSG_TOO_BIG");
    expect(split("a\nabcd\nb")).toBe("MSG_TOO_BIG");
  });

  test("BODY_TOO_BIG: the line that reaches maxBodySize + 1 bytes read (LimitReader's fake EOF)", () => {
    // 10 bytes are allowed, newlines included
    expect(split("a\nb\nc\nd\nef")).toEqual(["a", "b", "c", "d", "ef"]);
    expect(split("a\nb\nc\nd\nef\n")).toBe("BODY_TOO_BIG");
    expect(split("a\nb\nc\nd\nefg")).toBe("BODY_TOO_BIG");
    expect(split("\n".repeat(11))).toBe("BODY_TOO_BIG");
    // a longer body reads as its first maxBodySize + 1 bytes
    expect(split("a\nb\nc\nd\nefghij")).toBe("BODY_TOO_BIG");
    expect(split("\n".repeat(10) + "xxxxxx")).toBe("BODY_TOO_BIG");
  });

  test("BODY_TOO_BIG is checked before MSG_TOO_BIG on the same line; an earlier long line wins", () => {
    expect(split("abcdefghijk", 3, 10)).toBe("BODY_TOO_BIG");
    expect(split("abcd\nefghijk", 3, 10)).toBe("MSG_TOO_BIG");
  });
});

describe("names, numbers, IDs", () => {
  test("topic/channel names follow nsqd's rule", () => {
    for (const ok of ["a", "test_topic", "a.b-c", "x#ephemeral", "a".repeat(64), `${"a".repeat(54)}#ephemeral`]) {
      expect(isValidName(ok)).toBe(true);
    }
    for (const bad of ["", "a b", "a/b", "#ephemeral", "a#eph", "a".repeat(65), `${"a".repeat(55)}#ephemeral`, "ü"]) {
      expect(isValidName(bad)).toBe(false);
    }
  });

  test("base-10 parsing accepts digits only", () => {
    expect(parseBase10(ascii("2500"))).toBe(2500);
    expect(parseBase10(ascii("0"))).toBe(0);
    for (const bad of ["", "-1", "1a", " 1", "1.5"]) expect(parseBase10(ascii(bad))).toBe(-1);
  });

  test("GUIDs are 16 lowercase hex chars, unique and increasing, carrying the node id", () => {
    const g = new GuidFactory(513);
    const next = (ms: number) => {
      g.next(ms);
      return idFromWords(g.id0, g.id1, g.id2, g.id3);
    };
    const ids = Array.from({ length: 20000 }, () => next(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => /^[0-9a-f]{16}$/.test(id))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    const v = BigInt(`0x${ids[0]}`);
    expect(Number((v >> 12n) & 1023n)).toBe(513);
    expect(Number(v >> 22n)).toBe(Math.floor(1_700_000_000_000 / 1.048576) - 1288834974288);
    expect(() => new GuidFactory(1024)).toThrow();
    // the cached upper half follows the clock
    for (const ms of [1_700_000_100_000, 1_800_000_000_000, 2_000_000_000_000]) {
      const id = BigInt(`0x${next(ms)}`);
      expect(Number(id >> 22n)).toBe(Math.floor(ms / 1.048576) - 1288834974288);
    }
  });
});
