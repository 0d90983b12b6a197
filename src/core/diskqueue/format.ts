import { join } from "node:path";

/**
 * A segment file is a plain run of records, with no file header and no checksum (go-diskqueue):
 *
 *   [x][x][x][x][x][x][x][x]...[x][x][x][x][x][x]...
 *   |  (int32)  ||   (binary)  ||  (int32)  ||
 *   |  4-byte   ||   N-byte    ||  4-byte   ||
 *   -------------------------------------------...
 *    N, big-      payload        next record
 *    endian
 */
export const RECORD_HEADER_SIZE = 4;

/** Writes one record at `at` and returns the offset just past it; the caller makes room. */
export function writeRecord(buf: Uint8Array, at: number, data: Uint8Array, tail?: Uint8Array): number {
  const n = data.length + (tail === undefined ? 0 : tail.length);
  buf[at] = n >>> 24;
  buf[at + 1] = n >>> 16;
  buf[at + 2] = n >>> 8;
  buf[at + 3] = n;
  buf.set(data, at + RECORD_HEADER_SIZE);
  if (tail !== undefined) buf.set(tail, at + RECORD_HEADER_SIZE + data.length);
  return at + RECORD_HEADER_SIZE + n;
}

/** The payload length stored at `at`, as Go's int32: a set high bit reads negative, hence invalid. */
export function readRecordLength(buf: Uint8Array, at: number): number {
  return (buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!;
}

export function segmentFileName(dataPath: string, name: string, fileNum: number): string {
  return join(dataPath, `${name}.diskqueue.${String(fileNum).padStart(6, "0")}.dat`);
}

export function metaDataFileName(dataPath: string, name: string): string {
  return join(dataPath, `${name}.diskqueue.meta.dat`);
}

/** Segment numbers of `name` found among directory entries, ascending. */
export function segmentNumbers(entries: readonly string[], name: string): number[] {
  const prefix = `${name}.diskqueue.`;
  const nums: number[] = [];
  for (const e of entries) {
    if (!e.startsWith(prefix)) continue;
    const m = /^(\d+)\.dat$/.exec(e.slice(prefix.length));
    if (m) nums.push(Number(m[1]));
  }
  return nums.sort((a, b) => a - b);
}

export interface MetaData {
  depth: number;
  readFileNum: number;
  readPos: number;
  writeFileNum: number;
  writePos: number;
}

/** go-diskqueue's `"%d\n%d,%d\n%d,%d\n"`. */
export function formatMetaData(m: MetaData): string {
  return `${m.depth}\n${m.readFileNum},${m.readPos}\n${m.writeFileNum},${m.writePos}\n`;
}

const META_RE = /^([+-]?\d+)\n([+-]?\d+),([+-]?\d+)\n([+-]?\d+),([+-]?\d+)(?:\n|$)/;

/** null when the text is not the metadata format or holds a negative file number or position. */
export function parseMetaData(text: string): MetaData | null {
  const m = META_RE.exec(text);
  if (!m) return null;
  const [depth, readFileNum, readPos, writeFileNum, writePos] = m.slice(1).map(Number) as [
    number, number, number, number, number,
  ];
  if (readFileNum < 0 || readPos < 0 || writeFileNum < 0 || writePos < 0) return null;
  if (![depth, readFileNum, readPos, writeFileNum, writePos].every(Number.isSafeInteger)) return null;
  return { depth, readFileNum, readPos, writeFileNum, writePos };
}
