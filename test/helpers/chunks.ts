/** Every way the codec tests feed bytes: whole, byte by byte, and split in two at every boundary. */
export function* chunkings(data: Uint8Array): Generator<[string, Uint8Array[]]> {
  yield ["one chunk", [data]];
  yield ["byte by byte", Array.from(data, (_, i) => data.subarray(i, i + 1))];
  for (let i = 1; i < data.length; i++) yield [`split at ${i}`, [data.subarray(0, i), data.subarray(i)]];
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const text = (b: Uint8Array) => new TextDecoder().decode(b);
