import type { Subprocess } from "bun";
import { join } from "node:path";

/** Each subcommand and the NSQ program name it also answers to. */
export const PROGRAMS = [
  ["nsqd", "nsqd"],
  ["lookupd", "nsqlookupd"],
  ["admin", "nsqadmin"],
  ["tail", "nsq_tail"],
  ["to-nsq", "to_nsq"],
  ["stat", "nsq_stat"],
] as const;

export const CLI = [process.execPath, join(import.meta.dir, "../../cli/nsq.ts")];

export interface Spawned {
  proc: Subprocess<"ignore", "ignore", "pipe">;
  port: number;
  stderr: () => string;
}

/**
 * `nsq nsqd` as a user runs it, on 127.0.0.1:0; the port comes from its "TCP: listening on" line, raced
 * against the process exiting so a failed start fails fast.
 */
export async function spawnNsqd(args: string[], timeoutMs = 10_000): Promise<Spawned> {
  const proc = Bun.spawn([...CLI, "nsqd", "--tcp-address=127.0.0.1:0", "--http-address=", ...args], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  let text = "";
  const reader = proc.stderr.getReader();
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nsqd did not start:\n${text}`)), timeoutMs);
    proc.exited.then((code) => reject(new Error(`nsqd exited ${code}:\n${text}`)));
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
        const m = /TCP: listening on [^\s]*:(\d+)/.exec(text);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      }
    })();
  });
  return { proc, port, stderr: () => text };
}
