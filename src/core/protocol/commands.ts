import { ascii } from "./bytes.ts";
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
