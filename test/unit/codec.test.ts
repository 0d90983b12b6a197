import { describe, expect, test } from "bun:test";
import { constants, deflateRawSync, inflateRawSync } from "node:zlib";
import { CodecError, type Decoder } from "../../src/core/codec/index.ts";
import { deflateCodec } from "../../src/core/codec/deflate.ts";
import { maskedCrc, snappyCodec } from "../../src/core/codec/snappy.ts";
import { chunkings, concat } from "../helpers/chunks.ts";

// snappystream (nsqjs's snappy, over the native snappy addon) is the independent oracle of the framing format.
const { SnappyStream, UnsnappyStream } = require("snappystream") as {
  SnappyStream: new () => NodeJS.ReadWriteStream;
  UnsnappyStream: new () => NodeJS.ReadWriteStream;
};

function viaStream(stream: NodeJS.ReadWriteStream, input: Uint8Array): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  stream.on("data", (b: Buffer) => parts.push(b));
  return new Promise((resolve, reject) => {
    stream.on("error", reject);
    stream.on("end", () => resolve(new Uint8Array(Buffer.concat(parts))));
    stream.end(Buffer.from(input));
  });
}

/** Decodes pieces in order, as reads arrive. */
function decodeAll(d: Decoder, pieces: Uint8Array[]): Uint8Array {
  const out: Uint8Array[] = [];
  for (const p of pieces) expect(d.decode(p, (b) => (out.push(b.slice()), true))).toBe(p.length);
  return concat(...out);
}

/** Text that compresses, and bytes that do not (so both chunk kinds appear). */
const compressible = new TextEncoder().encode("PUB topic\n".repeat(30) + "FIN 0123456789abcdef\n".repeat(20));
const random = crypto.getRandomValues(new Uint8Array(300));
const big = concat(...Array.from({ length: 5 }, (_, i) => (i % 2 ? crypto.getRandomValues(new Uint8Array(40_000)) : new Uint8Array(40_000).fill(i))));

describe("snappy framing", () => {
  test("the stream starts with the identifier; chunks carry the masked CRC-32C", () => {
    const wire = snappyCodec().encoder.encode(compressible);
    expect([...wire.subarray(0, 10)]).toEqual([0xff, 6, 0, 0, ...new TextEncoder().encode("sNaPpY")]);
    expect(wire[10]).toBe(0x00); // compressed
    const crc = wire[14]! | (wire[15]! << 8) | (wire[16]! << 16) | (wire[17]! << 24);
    expect(crc >>> 0).toBe(maskedCrc(compressible));
    // known vector: CRC-32C("123456789") = 0xe3069283
    const c = 0xe3069283;
    expect(maskedCrc(new TextEncoder().encode("123456789"))).toBe((((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0);
    const second = snappyCodec();
    second.encoder.encode(random);
    expect(second.encoder.encode(random)[0]).toBe(0x01); // incompressible: sent as is, without a second identifier
  });

  test("round trip, and what snappystream encodes decodes, split at every byte boundary", async () => {
    for (const input of [compressible, random]) {
      const ours = snappyCodec().encoder.encode(input);
      for (const [name, pieces] of chunkings(ours)) {
        expect(decodeAll(snappyCodec().decoder, pieces), name).toEqual(input);
      }
      const theirs = await viaStream(new SnappyStream(), input);
      for (const [name, pieces] of chunkings(theirs)) {
        expect(decodeAll(snappyCodec().decoder, pieces), name).toEqual(input);
      }
      expect(await viaStream(new UnsnappyStream(), ours)).toEqual(input);
    }
  });

  test("more than a block: 64 KiB chunks, both ways with snappystream", async () => {
    const c = snappyCodec();
    const wire = concat(c.encoder.encode(big.subarray(0, 70_000)), c.encoder.encode(big.subarray(70_000)));
    expect(await viaStream(new UnsnappyStream(), wire)).toEqual(big);
    expect(decodeAll(snappyCodec().decoder, [await viaStream(new SnappyStream(), big)])).toEqual(big);
  });

  test("corrupt input is refused: CRC, block, chunk types, identifier, sizes", () => {
    const good = snappyCodec().encoder.encode(compressible);
    const flip = (at: number) => {
      const b = good.slice();
      b[at]! ^= 0xff;
      return b;
    };
    const cases: [string, Uint8Array, string][] = [
      ["CRC", flip(14), "snappy: corrupt input"],
      ["compressed block", flip(good.length - 3), "snappy: corrupt input"],
      ["identifier", flip(6), "snappy: corrupt input"],
      ["data before the identifier", good.subarray(10), "snappy: corrupt input"],
      ["reserved unskippable chunk", concat(good.subarray(0, 10), Uint8Array.of(0x02, 1, 0, 0, 0)), "snappy: unsupported input"],
      ["chunk longer than a block can encode to", concat(good.subarray(0, 10), Uint8Array.of(0x00, 0xff, 0xff, 0x01)), "snappy: unsupported input"],
      ["chunk shorter than its checksum", concat(good.subarray(0, 10), Uint8Array.of(0x01, 3, 0, 0, 1, 2, 3)), "snappy: corrupt input"],
      ["uncompressed chunk over 64 KiB", concat(good.subarray(0, 10), Uint8Array.of(0x01, 5, 0, 1), new Uint8Array(65_541)), "snappy: corrupt input"],
    ];
    for (const [name, wire, message] of cases) {
      expect(() => decodeAll(snappyCodec().decoder, [wire]), name).toThrow(new CodecError(message));
    }
  });

  test("padding and skippable chunks are skipped", () => {
    const wire = snappyCodec().encoder.encode(compressible);
    const skippable = Uint8Array.of(0xfe, 3, 0, 0, 0, 0, 0, 0x80, 0, 0, 0);
    const withSkips = concat(wire.subarray(0, 10), skippable, wire.subarray(10), skippable);
    for (const [name, pieces] of chunkings(withSkips)) expect(decodeAll(snappyCodec().decoder, pieces), name).toEqual(compressible);
  });

  test("a reader that pauses stops after the chunk in progress and says how far it got", () => {
    const c = snappyCodec();
    const wire = concat(c.encoder.encode(compressible), c.encoder.encode(random));
    const d = snappyCodec().decoder;
    const got: Uint8Array[] = [];
    const used = d.decode(wire, (b) => (got.push(b.slice()), false));
    expect(got).toEqual([compressible]);
    expect(used).toBeLessThan(wire.length);
    expect(decodeAll(d, [wire.subarray(used)])).toEqual(random);
  });
});

describe("raw deflate", () => {
  test("each encode ends in a sync flush that zlib decodes at once; the dictionary carries over", () => {
    const c = deflateCodec(6);
    const first = c.encoder.encode(compressible);
    expect([...first.subarray(-4)]).toEqual([0, 0, 0xff, 0xff]);
    const second = c.encoder.encode(compressible);
    expect(second.length).toBeLessThan(first.length);
    const opts = { finishFlush: constants.Z_SYNC_FLUSH };
    expect(new Uint8Array(inflateRawSync(first, opts))).toEqual(compressible);
    expect(new Uint8Array(inflateRawSync(concat(first, second), opts))).toEqual(new Uint8Array(concat(compressible, compressible)));
  });

  test("levels 1 and 9 both decode; what zlib encodes decodes, split at every byte boundary", () => {
    for (const level of [1, 9]) {
      const wire = deflateCodec(level).encoder.encode(big);
      expect(decodeAll(deflateCodec(6).decoder, [wire])).toEqual(big);
    }
    // zlib sync-flushed, without a final block: how Go's flate and nsqjs leave a connection's stream
    const theirs = new Uint8Array(deflateRawSync(compressible, { finishFlush: constants.Z_SYNC_FLUSH }));
    const ours = deflateCodec(6).encoder.encode(compressible);
    for (const wire of [theirs, ours]) {
      for (const [name, pieces] of chunkings(wire)) expect(decodeAll(deflateCodec(6).decoder, pieces), name).toEqual(compressible);
    }
  });

  test("a corrupt stream, and anything after a final block, are refused", () => {
    expect(() => decodeAll(deflateCodec(6).decoder, [Uint8Array.of(0xff, 0xff, 0xff, 0xff)])).toThrow(CodecError);
    const ended = deflateRawSync(compressible);
    expect(() => decodeAll(deflateCodec(6).decoder, [ended])).toThrow(new CodecError("flate: stream ended"));
  });

  test("a compression bomb is inflated a step at a time: a reader that pauses holds one step's output", () => {
    const bomb = new Uint8Array(deflateRawSync(new Uint8Array(64 * 1024 * 1024), { finishFlush: constants.Z_SYNC_FLUSH }));
    let held = 0;
    const d = deflateCodec(6).decoder;
    const used = d.decode(bomb, (b) => {
      held += b.length;
      return false;
    });
    expect(used).toBeLessThan(bomb.length);
    expect(held).toBeLessThanOrEqual(4096 * 1032 + 64 * 1024);
  });
});
