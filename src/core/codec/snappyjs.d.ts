declare module "snappyjs" {
  /** Snappy block format (not framed). */
  export function compress(uncompressed: Uint8Array): Uint8Array;
  /** @throws Error on an invalid block, or one that declares more than `maxLength` bytes */
  export function uncompress(compressed: Uint8Array, maxLength?: number): Uint8Array;
}
