import { ascii, type ByteWriter } from "./bytes.ts";
import { encodeMpubBody } from "./mpub.ts";

/**
 * Client → server command encoders (go-nsq command.go): `NAME params\n` plus an optional
 * `[4-byte size][body]`.
 */
export function encodeCommand(name: string, params: (string | number)[] = [], body?: Uint8Array): Uint8Array {
  const line = ascii(params.length ? `${name} ${params.join(" ")}\n` : `${name}\n`);
  if (!body) return line;
  const out = new Uint8Array(line.length + 4 + body.length);
  out.set(line);
  new DataView(out.buffer).setUint32(line.length, body.length);
  out.set(body, line.length + 4);
  return out;
}

const json = (v: unknown) => ascii(JSON.stringify(v));
const bytesOf = (b: Uint8Array | string) => (typeof b === "string" ? ascii(b) : b);

export const Command = {
  identify: (data: Record<string, unknown>) => encodeCommand("IDENTIFY", [], json(data)),
  auth: (secret: string | Uint8Array) => encodeCommand("AUTH", [], bytesOf(secret)),
  sub: (topic: string, channel: string) => encodeCommand("SUB", [topic, channel]),
  pub: (topic: string, body: Uint8Array | string) => encodeCommand("PUB", [topic], bytesOf(body)),
  dpub: (topic: string, deferMs: number, body: Uint8Array | string) =>
    encodeCommand("DPUB", [topic, deferMs], bytesOf(body)),
  mpub: (topic: string, bodies: (Uint8Array | string)[]) =>
    encodeCommand("MPUB", [topic], encodeMpubBody(bodies.map(bytesOf))),
  rdy: (count: number) => encodeCommand("RDY", [count]),
  fin: (id: string) => encodeCommand("FIN", [id]),
  req: (id: string, delayMs: number) => encodeCommand("REQ", [id, delayMs]),
  touch: (id: string) => encodeCommand("TOUCH", [id]),
  cls: () => encodeCommand("CLS"),
  nop: () => encodeCommand("NOP"),
} as const;

/**
 * Appends a command to `w` in place: the client's hot path (FIN per message, PUB/MPUB per batch) writes
 * into its connection's output buffer without a temporary array per command. Params are ASCII.
 */
export function writeCommand(w: ByteWriter, name: string, params: readonly (string | number)[] = [], body?: Uint8Array): void {
  writeAscii(w, name);
  for (const p of params) {
    w.ensure(1);
    w.buf[w.length++] = 0x20;
    writeAscii(w, typeof p === "number" ? String(p) : p);
  }
  w.ensure(1);
  w.buf[w.length++] = 0x0a;
  if (body) {
    w.u32(body.length);
    w.bytes(body);
  }
}

/** `MPUB <topic>\n[4-byte body size][4-byte num msgs]([4-byte msg size][msg])*`, encoded straight into `w`. */
export function writeMpubCommand(w: ByteWriter, topic: string, bodies: readonly Uint8Array[]): void {
  let size = 4;
  for (const b of bodies) size += 4 + b.length;
  writeAscii(w, "MPUB ");
  writeAscii(w, topic);
  w.ensure(9 + size);
  w.buf[w.length++] = 0x0a;
  w.u32(size);
  w.u32(bodies.length);
  for (const b of bodies) {
    w.u32(b.length);
    w.bytes(b);
  }
}

function writeAscii(w: ByteWriter, s: string): void {
  w.ensure(s.length);
  const buf = w.buf;
  let at = w.length;
  for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
  w.length = at;
}
