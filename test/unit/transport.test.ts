import { describe, expect, test } from "bun:test";
import { deflateCodec } from "../../src/core/codec/deflate.ts";
import { snappyCodec } from "../../src/core/codec/snappy.ts";
import { ascii, latin1 } from "../../src/core/protocol/bytes.ts";
import { CommandParser, type CommandSink, NO_BODY } from "../../src/core/protocol/command-parser.ts";
import { Command } from "../../src/core/protocol/commands.ts";
import { Transport, type TransportSocket } from "../../src/core/transport.ts";
import { chunkings, concat, text } from "../helpers/chunks.ts";

/** A socket that takes at most `room` bytes until drained, and records pauses. */
class FakeSocket implements TransportSocket {
  written: Uint8Array[] = [];
  paused = false;
  ended: Uint8Array | null = null;
  constructor(public room = Infinity) {}
  write(data: Uint8Array, byteOffset = 0, byteLength = data.length - byteOffset): number {
    const n = Math.min(this.room, byteLength);
    this.room -= n;
    this.written.push(data.slice(byteOffset, byteOffset + n));
    return n;
  }
  end(data?: Uint8Array): void {
    this.ended = data ?? new Uint8Array(0);
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  all(): Uint8Array {
    return concat(...this.written);
  }
}

/** Records commands; `WAIT` pauses the input, as AUTH does while the auth server answers. */
class Sink implements CommandSink {
  seen: string[] = [];
  parser = new CommandParser(this);
  onWait: () => void = () => {};
  line(args: Uint8Array[]): number {
    const verb = latin1(args[0]!);
    if (verb === "PUB" || verb === "IDENTIFY") return 1 << 20;
    this.seen.push(args.map((a) => latin1(a)).join(" "));
    if (verb === "WAIT") {
      this.parser.pause();
      this.onWait();
    }
    return NO_BODY;
  }
  badBodySize(): void {}
  body(args: Uint8Array[], body: Uint8Array): void {
    this.seen.push(`${latin1(args[0]!)} ${text(body)}`);
    if (latin1(args[0]!) === "IDENTIFY") {
      this.parser.pause();
      this.onWait();
    }
  }
}

function setup(room = Infinity, maxPending = 1 << 20) {
  const socket = new FakeSocket(room);
  const sink = new Sink();
  const t = new Transport(socket, { initialSize: 64, maxPending, onInput: (b) => sink.parser.push(b) });
  sink.onWait = () => t.pauseInput();
  /** Resumes as the protocol does when its asynchronous step is done. */
  const resume = () => {
    sink.parser.resume();
    t.resumeInput();
  };
  return { socket, sink, t, resume };
}

describe("Transport output", () => {
  test("what the kernel does not take waits, in order, for drain; reads pause past maxPending", () => {
    const { socket, t } = setup(5, 8);
    t.out.bytes(ascii("0123456789"));
    t.flush();
    expect(t.pendingBytes).toBe(5);
    expect(t.blockedSince).toBeGreaterThan(0);
    t.out.bytes(ascii("abcdef"));
    t.flush();
    expect(t.pendingBytes).toBe(11);
    expect(socket.paused).toBe(true);
    socket.room = Infinity;
    t.onDrain();
    expect(text(socket.all())).toBe("0123456789abcdef");
    expect(t.pendingBytes).toBe(0);
    expect(t.blockedSince).toBe(0);
    expect(socket.paused).toBe(false);
  });

  test("with a codec, each flush is encoded and back-pressure counts the bytes on the wire", () => {
    const { socket, t } = setup(0);
    t.setCodec(deflateCodec(6));
    t.out.bytes(new Uint8Array(100_000));
    t.flush();
    expect(t.pendingBytes).toBeLessThan(1000);
    socket.room = Infinity;
    t.onDrain();
    const inflated: Uint8Array[] = [];
    deflateCodec(6).decoder.decode(socket.all(), (b) => (inflated.push(b), true));
    expect(concat(...inflated)).toEqual(new Uint8Array(100_000));
  });

  test("end sends what waits and what is buffered, encoded; setSocket moves later writes", async () => {
    const { socket, t } = setup();
    const other = new FakeSocket();
    t.setSocket(other);
    t.out.bytes(ascii("after"));
    t.flush();
    expect(socket.written).toEqual([]);
    expect(text(other.all())).toBe("after");
    t.setCodec(snappyCodec());
    t.out.bytes(ascii("tail"));
    t.end();
    const got: Uint8Array[] = [];
    snappyCodec().decoder.decode(other.ended!, (b) => (got.push(b), true));
    expect(text(concat(...got))).toBe("tail");
    await t.drained();
  });
});

describe("Transport input with a pausable parser", () => {
  const stream = concat(
    ascii("NOP\n"),
    ascii("WAIT\n"),
    Command.pub("t", "first"),
    ascii("WAIT\n"),
    ascii("WAIT\n"),
    Command.pub("t", "second"),
    ascii("NOP\n"),
  );
  const expected = ["NOP", "WAIT", "PUB first", "WAIT", "WAIT", "PUB second", "NOP"];

  test("nothing after a pausing command is parsed until resume; every chunking gives the same commands", () => {
    for (const [name, pieces] of chunkings(stream)) {
      const { sink, t, resume } = setup();
      for (const p of pieces) t.receive(p);
      // each WAIT holds the rest until its step is done
      for (let waits = 0; waits < 3; waits++) {
        expect(sink.seen.at(-1), name).toBe("WAIT");
        resume();
      }
      expect(sink.seen, name).toEqual(expected);
      expect(t.heldBytes).toBe(0);
    }
  });

  test("held input beyond maxPending pauses the socket's reads until the protocol takes it", () => {
    const { socket, sink, t, resume } = setup(Infinity, 16);
    t.receive(ascii("WAIT\nNOP\n"));
    expect(socket.paused).toBe(false);
    t.receive(ascii("NOP\n".repeat(10)));
    expect(socket.paused).toBe(true);
    resume();
    expect(socket.paused).toBe(false);
    expect(sink.seen.length).toBe(12);
  });

  test("bytes held when a codec is installed are decoded by it: they came after the switch", () => {
    for (const codec of [snappyCodec, deflateCodec.bind(null, 6)]) {
      const client = codec();
      const wire = concat(Command.identify({ snappy: true }), client.encoder.encode(concat(Command.pub("t", "zipped"), ascii("NOP\n"))));
      // the protocol switches at the IDENTIFY, from its callback or later (nsqd: once the codec is loaded)
      for (const when of ["in the callback", "later"]) {
        for (const [name, pieces] of chunkings(wire)) {
          const { sink, t, resume } = setup();
          sink.onWait = () => {
            t.pauseInput();
            if (when === "in the callback") t.setCodec(codec());
          };
          for (const p of pieces) t.receive(p);
          if (when === "later") t.setCodec(codec());
          resume();
          expect(sink.seen.slice(1), `${when}, ${name}`).toEqual(["PUB zipped", "NOP"]);
        }
      }
    }
  });
});
