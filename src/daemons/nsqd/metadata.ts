import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { NSQ_VERSION } from "../../core/version.ts";

/** nsqd.dat: `{"topics":[{"name","paused","channels":[{"name","paused"}]}],"version"}`. */
export interface Metadata {
  topics: { name: string; paused: boolean; channels: { name: string; paused: boolean }[] | null }[] | null;
  version: string;
}

export const metadataPath = (dataPath: string) => join(dataPath, "nsqd.dat");

export function readMetadata(dataPath: string): Metadata | null {
  let text: string;
  try {
    text = readFileSync(metadataPath(dataPath), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  try {
    return JSON.parse(text) as Metadata;
  } catch (e) {
    throw new Error(`failed to parse metadata in ${metadataPath(dataPath)} - ${(e as Error).message}`);
  }
}

/** tmp + fsync + rename, as nsqd writes it, so a crash leaves the old file or the new one. */
export function writeMetadata(dataPath: string, topics: Metadata["topics"]): void {
  const path = metadataPath(dataPath);
  const tmp = `${path}.${Math.floor(Math.random() * 2 ** 31)}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, JSON.stringify({ topics, version: NSQ_VERSION } satisfies Metadata));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
