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
  ["to-file", "nsq_to_file"],
  ["to-http", "nsq_to_http"],
  ["nsq-to-nsq", "nsq_to_nsq"],
  // Tools of `nsq bench` (`nsq bench writer`): the program name is the command too.
  ["bench_writer", "bench_writer"],
  ["bench_reader", "bench_reader"],
] as const;

export const CLI = [process.execPath, join(import.meta.dir, "../../cli/nsq.ts")];

export interface Spawned {
  proc: Subprocess<"ignore", "ignore", "pipe">;
  /** The TCP port. */
  port: number;
  /** The HTTP port; 0 when the daemon was started without an HTTP listener. */
  httpPort: number;
  stderr: () => string;
}

/**
 * `nsq <command>` as a user runs it; the ports come from its "TCP: listening on" (and "HTTP: listening on")
 * lines, raced against the process exiting so a failed start fails fast.
 */
async function spawnDaemon(command: string, args: string[], listeners: ("TCP" | "HTTP")[], timeoutMs: number): Promise<Spawned> {
  const proc = Bun.spawn([...CLI, command, ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let text = "";
  const reader = proc.stderr.getReader();
  const ports = await new Promise<number[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${text}`)), timeoutMs);
    proc.exited.then((code) => reject(new Error(`${command} exited ${code}:\n${text}`)));
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
        const found = listeners.map((l) => new RegExp(`${l}: listening on [^\\s]*:(\\d+)`).exec(text));
        if (found.every((m) => m !== null)) {
          clearTimeout(timer);
          resolve(found.map((m) => Number(m![1])));
        }
      }
    })();
  });
  return { proc, port: ports[0]!, httpPort: ports[1] ?? 0, stderr: () => text };
}

/** `nsq nsqd` on 127.0.0.1:0, without HTTP. */
export function spawnNsqd(args: string[], timeoutMs = 10_000): Promise<Spawned> {
  return spawnDaemon("nsqd", ["--tcp-address=127.0.0.1:0", "--http-address=", ...args], ["TCP"], timeoutMs);
}

/** `nsq lookupd` with TCP and HTTP on 127.0.0.1:0. */
export function spawnLookupd(args: string[], timeoutMs = 10_000): Promise<Spawned> {
  const addrs = ["--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"];
  return spawnDaemon("lookupd", [...addrs, ...args], ["TCP", "HTTP"], timeoutMs);
}

/** `nsq nsqd` with TCP and HTTP on 127.0.0.1:0, as a cluster member is run. */
export function spawnNsqdWithHttp(args: string[], timeoutMs = 10_000): Promise<Spawned> {
  return spawnDaemon("nsqd", ["--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0", ...args], ["TCP", "HTTP"], timeoutMs);
}

/** `nsq admin` with HTTP on 127.0.0.1:0 (it has no TCP listener: `port` is 0). */
export async function spawnAdmin(args: string[], timeoutMs = 10_000): Promise<Spawned> {
  const p = await spawnDaemon("admin", ["--http-address=127.0.0.1:0", ...args], ["HTTP"], timeoutMs);
  return { ...p, port: 0, httpPort: p.port };
}
