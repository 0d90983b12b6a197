/**
 * `nsq to-http` (NSQ's `nsq_to_http`): consume a topic and make an HTTP request per message: a POST of the
 * body, or a GET with the query-escaped body in place of the address's `%s`; to one destination chosen by
 * `--mode` or to all of them. A failed request or a non-2xx answer (non-200 for GET) is the handler's error, so
 * the message is requeued with backoff. `-n` requests run at a time; `--status-every` requests log latencies.
 * @module
 */
import { Consumer, type Message } from "../../core/client/index.ts";
import type { Logger } from "../../core/log.ts";
import { NSQ_VERSION } from "../../core/version.ts";
import { clientConfig, connectConsumer } from "../consume.ts";
import { chooserFor } from "../hostpool.ts";
import { HttpClient } from "../http-client.ts";
import { TimerMetrics } from "../timer-metrics.ts";
import { parseHeaders, type ToHttpOptions } from "./options.ts";

export interface ToHttpIo {
  log: Logger;
  /** Aborting stops cleanly: requests under way finish and their messages are answered (SIGINT, SIGTERM). */
  signal?: AbortSignal;
}

/**
 * Runs until `signal` aborts.
 * @throws NsqError when an nsqd cannot be connected to at start-up
 * @example await toHttp({ ...toHttpSpec.defaults(), topic: "t", post: ["http://127.0.0.1:8080/"], nsqdTcpAddress: ["127.0.0.1:4150"] }, { log })
 */
export async function toHttp(opts: ToHttpOptions, io: ToHttpIo): Promise<void> {
  const addresses = opts.post.length > 0 ? opts.post : opts.get;
  const chooser = chooserFor(opts.mode, addresses, "all", (msg) => io.log.warn(msg));
  const http = new HttpClient(opts.httpClientConnectTimeout, opts.httpClientRequestTimeout);
  const headers: Record<string, string> = { "User-Agent": `nsq_to_http v${NSQ_VERSION}` };
  if (opts.post.length > 0) headers["Content-Type"] = opts.contentType;
  Object.assign(headers, parseHeaders(opts.header));
  const perAddress = new Map(addresses.map((a) => [a, new TimerMetrics(addresses.length === 1 ? 0 : opts.statusEvery, `[${a}]:`, io.log)]));
  const aggregate = new TimerMetrics(opts.statusEvery, "[aggregate]:", io.log);

  const request = async (addr: string, body: Uint8Array): Promise<void> => {
    const post = opts.post.length > 0;
    const url = post ? addr : addr.replace("%s", queryEscape(body));
    const method = post ? "POST" : "GET";
    let res: Response;
    try {
      res = await http.fetch(url, { method, headers, body: post ? body : undefined });
      await res.arrayBuffer();
    } catch (e) {
      throw new Error(`${method} ${JSON.stringify(url)}: ${(e as Error).message}`, { cause: e });
    }
    if (post ? res.status < 200 || res.status >= 300 : res.status !== 200) {
      throw new Error(`${method} ${JSON.stringify(url)}: got status code ${res.status}`);
    }
  };

  const handle = async (m: Message): Promise<void> => {
    if (opts.sample < 1 && Math.random() > opts.sample) return;
    const started = performance.now();
    if (chooser === null) {
      for (const addr of addresses) {
        const t = performance.now();
        await request(addr, m.body);
        perAddress.get(addr)!.status(t);
      }
    } else {
      const choice = chooser.get();
      try {
        await request(choice.host, m.body);
      } catch (e) {
        choice.mark(true);
        throw e;
      }
      choice.mark(false);
      perAddress.get(choice.host)!.status(started);
    }
    aggregate.status(started);
  };

  const consumer = new Consumer(opts.topic, opts.channel, { ...clientConfig("nsq_to_http", opts.consumerOpt, opts.maxInFlight), logger: io.log });
  consumer.addHandler(handle, { concurrency: opts.n });
  const stopRequested = new Promise<void>((resolve) => {
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  try {
    if (!io.signal?.aborted) {
      await connectConsumer(consumer, opts, io.log);
      await stopRequested;
    }
  } finally {
    await consumer.stop();
  }
}

const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/**
 * Go's `url.QueryEscape` over the body's bytes: unreserved bytes as they are, space as `+`, the rest `%XX`.
 * @example queryEscape(new TextEncoder().encode("a b&c")) // "a+b%26c"
 */
export function queryEscape(body: Uint8Array): string {
  let out = "";
  for (const b of body) {
    const ch = String.fromCharCode(b);
    if (b < 0x80 && UNRESERVED.test(ch)) out += ch;
    else if (b === 0x20) out += "+";
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
