import type { Subprocess } from "bun";
import { Producer } from "../../src/core/client/index.ts";
import { until } from "./client.ts";
import { addrOf, type TestNsqd } from "./nsqd.ts";
import { CLI } from "./spawn.ts";

/** Publishes `bodies` to `d` in MPUBs of 500. */
export async function publish(d: TestNsqd, topic: string, bodies: string[]): Promise<void> {
  const p = new Producer(addrOf(d));
  for (let i = 0; i < bodies.length; i += 500) await p.multiPublish(topic, bodies.slice(i, i + 500));
  await p.stop();
}

/** At least `n` messages reached the channel and every one of them was finished (none queued, in flight or deferred). */
export function allFinished(d: TestNsqd, topic: string, channel: string, n: number): boolean {
  const ch = d.nsqd.topics.get(topic)?.channels.get(channel);
  return ch !== undefined && ch.messageCount >= n && ch.depth === 0 && ch.inFlight.size === 0 && ch.deferredById.size === 0;
}

export interface Tool {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** stderr so far. */
  stderr(): string;
  /** Resolves once stderr matches `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM (or `signal`), then the exit code and all of stderr. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number; stderr: string }>;
  /** The exit code and all of stderr, once it exits by itself. */
  finished(): Promise<{ code: number; stderr: string }>;
}

/** `bun cli/nsq.ts <args>` as a user runs it; `defer` registers its SIGKILL if a test leaves it running. */
export function spawnTool(args: string[], defer: (fn: () => unknown) => void): Tool {
  const proc = Bun.spawn([...CLI, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  defer(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
  });
  let text = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) text += decoder.decode(chunk, { stream: true });
  })();
  const finished = async () => {
    const code = await proc.exited;
    await reading;
    return { code, stderr: text };
  };
  return {
    proc,
    stderr: () => text,
    waitFor: (re, timeoutMs = 5000) => until(() => re.test(text), `${re} in stderr:\n${text}`, timeoutMs),
    stop: (signal = "SIGTERM") => {
      proc.kill(signal);
      return finished();
    },
    finished,
  };
}
