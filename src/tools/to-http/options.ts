/**
 * nsq_to_http's flags (NSQ `apps/nsq_to_http/nsq_to_http.go`). No config file, as in NSQ. Durations are
 * milliseconds.
 * @module
 */
import { z } from "zod/mini";
import { defineOptions, flag, OptionsError } from "../../core/options.ts";
import { isValidChannelName, isValidTopicName } from "../../core/protocol/names.ts";
import { checkSources, consumerFlags } from "../consume.ts";

const CONTENT_TYPE = "application/octet-stream";
const positive = [z.gt(0, "should be positive")];

export const toHttpSpec = defineOptions(
  "nsq_to_http",
  {
    topic: flag.string("", "nsq topic"),
    channel: flag.string("nsq_to_http", "nsq channel"),
    ...consumerFlags(),
    n: flag.int(100, "number of concurrent publishers", { checks: [z.gt(0, "must be greater than 0")] }),
    mode: flag.string("hostpool", "the upstream request mode options: round-robin, hostpool (default), epsilon-greedy, all"),
    sample: flag.float(1.0, "% of messages to publish (float b/w 0 -> 1)"),
    "http-client-connect-timeout": flag.duration(2_000, "timeout for HTTP connect", { checks: positive }),
    "http-client-request-timeout": flag.duration(20_000, "timeout for HTTP request", { checks: positive }),
    "status-every": flag.int(250, "the # of requests between logging status (per handler), 0 disables", {
      checks: [z.minimum(0, "must not be negative")],
    }),
    "content-type": flag.string(CONTENT_TYPE, "the Content-Type used for POST requests"),
    get: flag.strings("HTTP address to make a GET request to. '%s' will be printf replaced with data (may be given multiple times)"),
    post: flag.strings("HTTP address to make a POST request to.  data will be in the body (may be given multiple times)"),
    header: flag.strings("Custom header for HTTP requests (may be given multiple times)"),
  },
  (o) => {
    if (o.topic === "" || o.channel === "") throw new OptionsError("--topic and --channel are required");
    if (!isValidTopicName(o.topic)) throw new OptionsError("--topic is invalid");
    if (!isValidChannelName(o.channel)) throw new OptionsError("--channel is invalid");
    if (o.contentType !== CONTENT_TYPE) {
      if (o.post.length === 0) throw new OptionsError("--content-type only used with --post");
      if (o.contentType === "") throw new OptionsError("--content-type requires a value when used");
    }
    checkSources(o);
    if (o.get.length === 0 && o.post.length === 0) throw new OptionsError("--get or --post required");
    if (o.get.length > 0 && o.post.length > 0) throw new OptionsError("use --get or --post not both");
    for (const g of o.get) if (g.split("%s").length !== 2) throw new OptionsError("invalid GET address - must be a printf string");
    for (const a of [...o.get, ...o.post]) {
      if (!isHttpUrl(a.replace("%s", ""))) throw new OptionsError(`invalid address ${JSON.stringify(a)} - must be an http:// or https:// URL`);
    }
    if (!(o.sample >= 0 && o.sample <= 1)) throw new OptionsError("--sample must be between 0.0 and 1.0");
    parseHeaders(o.header);
    return o;
  },
);

function isHttpUrl(a: string): boolean {
  try {
    const u = new URL(a);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

export type ToHttpOptions = ReturnType<typeof toHttpSpec.validate>;

/**
 * `--header` values, `Key: Value` (NSQ's parseCustomHeaders: split at the first `:`, both sides trimmed and
 * non-empty).
 * @throws OptionsError naming the bad value
 * @example parseHeaders(["X-Source: nsq"]) // { "X-Source": "nsq" }
 */
export function parseHeaders(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const v of values) {
    const colon = v.indexOf(":");
    const key = colon === -1 ? "" : v.slice(0, colon).trim();
    const value = colon === -1 ? "" : v.slice(colon + 1).trim();
    if (key === "" || value === "") throw new OptionsError(`--header ${JSON.stringify(v)} is invalid: want "Key: Value"`);
    headers[key] = value;
  }
  return headers;
}
