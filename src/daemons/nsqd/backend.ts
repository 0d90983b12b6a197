/**
 * Where a topic or channel puts what its memory queue cannot hold: the disk queue, or for
 * `#ephemeral` names a sink that drops (as nsqd's dummy backend does).
 */
export interface BackendQueue {
  /** One record: `data` then `tail`. */
  put(data: Uint8Array, tail?: Uint8Array): void;
  /** Writes what `put` buffered (no fsync); throws when the disk refuses it. */
  commit(): void;
  /** The next record, given to `decode` in place (`buf[start, end)`, valid during the call only). */
  readNextWith<T>(decode: (buf: Uint8Array, start: number, end: number) => T): T | null;
  depth(): number;
  empty(): void;
  close(): void;
  delete(): void;
}

export class DropBackend implements BackendQueue {
  put(): void {}
  commit(): void {}
  readNextWith(): null {
    return null;
  }
  depth(): number {
    return 0;
  }
  empty(): void {}
  close(): void {}
  delete(): void {}
}
