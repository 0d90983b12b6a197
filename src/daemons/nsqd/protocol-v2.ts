import { ascii, latin1, parseBase10 } from "../../core/protocol/bytes.ts";
import { NO_BODY } from "../../core/protocol/command-parser.ts";
import { ClientError, FatalClientError } from "../../core/protocol/errors.ts";
import { CLOSE_WAIT, FrameType, OK } from "../../core/protocol/frame.ts";
import { idString, MSG_ID_LENGTH } from "../../core/protocol/message.ts";
import { parseMpubBody } from "../../core/protocol/mpub.ts";
import { isValidChannelName, isValidTopicName } from "../../core/protocol/names.ts";
import { NSQ_VERSION } from "../../core/version.ts";
import type { Client } from "./client.ts";
import { ClientState } from "./client-state.ts";
import { decodeIdentify, formatIdentify } from "./identify.ts";
import type { Message } from "./message.ts";
import { TLSRequired } from "./options.ts";
import { publish } from "./publish.ts";

/**
 * nsqd's V2 protocol, one function per verb (nsqd/protocol_v2.go). A command line arrives in `line`:
 * verbs without a body run there; verbs with one check their parameters first and return the body
 * limit, and finish in `body`. Errors are thrown as ClientError/FatalClientError with nsqd's texts.
 */

/** The output buffer size IDENTIFY's output_buffer_size -1 sets, as nsqd does (a 1-byte bufio.Writer). */
export const UNBUFFERED = 1;

/** nsqd's verbs, most frequent first. */
const VERBS = ["FIN", "PUB", "RDY", "MPUB", "REQ", "TOUCH", "NOP", "DPUB", "SUB", "CLS", "AUTH", "IDENTIFY"];

/** A command's verb: a known one is one of the strings above, so dispatching a command allocates nothing. */
function verb(args: Uint8Array[]): string {
  const a = args[0]!;
  next: for (const v of VERBS) {
    if (v.length !== a.length) continue;
    for (let i = 0; i < a.length; i++) if (a[i] !== v.charCodeAt(i)) continue next;
    return v;
  }
  return latin1(a);
}
const utf8 = new TextDecoder();
/** A command's words as Go's `%s` prints nsqd's `[][]byte` params: `[SUB topic channel]`. */
const formatParams = (args: Uint8Array[]) => `[${args.map((a) => utf8.decode(a)).join(" ")}]`;
const quote = (s: string) => JSON.stringify(s);

export function line(client: Client, args: Uint8Array[]): number {
  const log = client.nsqd.log;
  if (log.enabled("debug")) log.debug(`PROTOCOL(V2): [${client.remoteAddress}] ${formatParams(args)}`);
  const name = verb(args);
  if (name === "IDENTIFY") return identifyLimit(client);
  // enforceTLSPolicy: until the upgrade, IDENTIFY is all a client may do
  if (client.nsqd.opts.tlsRequired !== TLSRequired.No && !client.tls) {
    throw new FatalClientError("E_INVALID", `cannot ${name} in current state (TLS required)`);
  }
  switch (name) {
    case "FIN":
      return FIN(client, args);
    case "RDY":
      return RDY(client, args);
    case "REQ":
      return REQ(client, args);
    case "PUB":
      return pubLimit(client, args, "PUB", 2);
    case "MPUB":
      return mpubLimit(client, args);
    case "DPUB":
      return dpubLimit(client, args);
    case "NOP":
      return NO_BODY;
    case "TOUCH":
      return TOUCH(client, args);
    case "SUB":
      return SUB(client, args);
    case "CLS":
      return CLS(client);
    case "AUTH":
      return authLimit(client, args);
  }
  throw new FatalClientError("E_INVALID", `invalid command ${name}`);
}

export function body(client: Client, args: Uint8Array[], data: Uint8Array): void {
  switch (verb(args)) {
    case "IDENTIFY":
      return IDENTIFY(client, data);
    case "PUB":
      return PUB(client, args, data);
    case "MPUB":
      return MPUB(client, args, data);
    case "DPUB":
      return DPUB(client, args, data);
    case "AUTH":
      return AUTH(client, data);
  }
}

/** The error for a body size outside 1..limit, in the order and words nsqd checks them. */
export function badBodySize(client: Client, args: Uint8Array[], size: number): ClientError {
  const o = client.nsqd.opts;
  const name = verb(args);
  switch (name) {
    case "IDENTIFY":
    case "AUTH":
      return size > o.maxBodySize
        ? new FatalClientError("E_BAD_BODY", `${name} body too big ${size} > ${o.maxBodySize}`)
        : new FatalClientError("E_BAD_BODY", `${name} invalid body size ${size}`);
    case "MPUB":
      return size <= 0
        ? new FatalClientError("E_BAD_BODY", `MPUB invalid body size ${size}`)
        : new FatalClientError("E_BAD_BODY", `MPUB body too big ${size} > ${o.maxBodySize}`);
    default:
      return size <= 0
        ? new FatalClientError("E_BAD_MESSAGE", `${name} invalid message body size ${size}`)
        : new FatalClientError("E_BAD_MESSAGE", `${name} message too big ${size} > ${o.maxMsgSize}`);
  }
}

// --- IDENTIFY / AUTH ---

function identifyLimit(client: Client): number {
  if (client.state !== ClientState.Connected) {
    throw new FatalClientError("E_INVALID", "cannot IDENTIFY in current state");
  }
  return client.nsqd.opts.maxBodySize;
}

function IDENTIFY(client: Client, data: Uint8Array): void {
  const o = client.nsqd.opts;
  const d = decodeIdentify(data);
  if (d === null) throw new FatalClientError("E_BAD_BODY", "IDENTIFY failed to decode JSON body");
  const log = client.nsqd.log;
  if (log.enabled("debug")) log.debug(`PROTOCOL(V2): [${client.remoteAddress}] ${formatIdentify(d)}`);
  const bad = (what: string, v: number) => new FatalClientError("E_BAD_BODY", `IDENTIFY ${what} (${v}) is invalid`);

  let heartbeat = client.heartbeatInterval;
  const hb = d.heartbeat_interval;
  if (hb === -1) heartbeat = 0;
  else if (hb !== 0) {
    if (hb < 1000 || hb > o.maxHeartbeatInterval) throw bad("heartbeat interval", hb);
    heartbeat = hb;
  }
  let bufTimeout = client.outputBufferTimeout;
  const bt = d.output_buffer_timeout;
  if (bt === -1) bufTimeout = 0;
  else if (bt !== 0) {
    if (bt < o.minOutputBufferTimeout || bt > o.maxOutputBufferTimeout) throw bad("output buffer timeout", bt);
    bufTimeout = bt;
  }
  let bufSize = client.outputBufferSize;
  const bs = d.output_buffer_size;
  if (bs === -1) {
    bufSize = UNBUFFERED;
    bufTimeout = 0;
  } else if (bs !== 0) {
    if (bs < 64 || bs > o.maxOutputBufferSize) throw bad("output buffer size", bs);
    bufSize = bs;
  }
  if (d.sample_rate < 0 || d.sample_rate > 99) throw bad("sample rate", d.sample_rate);
  let msgTimeout = client.msgTimeout;
  if (d.msg_timeout !== 0) {
    if (d.msg_timeout < 1000 || d.msg_timeout > o.maxMsgTimeout) throw bad("msg timeout", d.msg_timeout);
    msgTimeout = d.msg_timeout;
  }

  client.clientId = d.client_id;
  client.hostname = d.hostname;
  client.userAgent = d.user_agent;
  client.topologyRegion = d.topology_region;
  client.topologyZone = d.topology_zone;
  client.sampleRate = d.sample_rate;
  client.msgTimeout = msgTimeout;
  client.outputBufferSize = bufSize;
  client.outputBufferTimeout = bufTimeout;
  // Only the first IDENTIFY reconfigures the message pump in nsqd; the heartbeat follows it.
  if (!client.identified) {
    client.heartbeatInterval = heartbeat;
    client.armHeartbeat();
  }
  client.identified = true;

  if (!d.feature_negotiation) {
    client.sendResponse(FrameType.Response, OK);
    return;
  }
  // a repeated IDENTIFY does not upgrade again what is already upgraded
  const compressed = client.snappy || client.deflate;
  const tls = client.nsqd.tls !== null && d.tls_v1 && !client.tls;
  const deflate = o.deflate && d.deflate && !compressed;
  let deflateLevel = deflate && d.deflate_level > 0 ? d.deflate_level : 6;
  if (o.maxDeflateLevel < deflateLevel) deflateLevel = o.maxDeflateLevel;
  const snappy = o.snappy && d.snappy && !compressed;
  if (deflate && snappy) throw new FatalClientError("E_IDENTIFY_FAILED", "cannot enable both deflate and snappy compression");
  const resp = {
    max_rdy_count: o.maxRdyCount,
    version: NSQ_VERSION,
    max_msg_timeout: o.maxMsgTimeout,
    msg_timeout: client.msgTimeout,
    tls_v1: tls,
    deflate,
    deflate_level: deflateLevel,
    max_deflate_level: o.maxDeflateLevel,
    snappy,
    sample_rate: client.sampleRate,
    auth_required: client.nsqd.auth !== null,
    output_buffer_size: client.outputBufferSize,
    output_buffer_timeout: client.outputBufferTimeout,
    topology_region: o.topologyRegion,
    topology_zone: o.topologyZone,
  };
  client.sendResponse(FrameType.Response, ascii(JSON.stringify(resp)));
  if (tls || snappy || deflate) client.upgrade(tls, snappy ? "snappy" : deflate ? "deflate" : null, deflateLevel);
}

function authLimit(client: Client, args: Uint8Array[]): number {
  if (client.state !== ClientState.Connected) throw new FatalClientError("E_INVALID", "cannot AUTH in current state");
  if (args.length !== 1) throw new FatalClientError("E_INVALID", "AUTH invalid number of parameters");
  return client.nsqd.opts.maxBodySize;
}

function AUTH(client: Client, data: Uint8Array): void {
  if (client.authed) throw new FatalClientError("E_INVALID", "AUTH already set");
  if (client.nsqd.auth === null) throw new FatalClientError("E_AUTH_DISABLED", "AUTH disabled");
  client.authSecret = new TextDecoder().decode(data);
  client.suspend(
    client.queryAuth().then(
      () => {
        if (!client.authed) throw new FatalClientError("E_UNAUTHORIZED", "AUTH no authorizations found");
        const a = client.authState!;
        const resp = { identity: a.identity, identity_url: a.identityUrl, permission_count: a.permissionCount };
        client.sendResponse(FrameType.Response, ascii(JSON.stringify(resp)));
      },
      (e: unknown) => {
        throw authFailed(client, e);
      },
    ),
  );
}

/** Why the auth server failed is logged, never told to the client. */
function authFailed(client: Client, e: unknown): FatalClientError {
  client.nsqd.log.warn(`PROTOCOL(V2): [${client.remoteAddress}] AUTH failed ${(e as Error).message}`);
  return new FatalClientError("E_AUTH_FAILED", "AUTH failed");
}

/**
 * nsqd's CheckAuth for SUB, PUB, MPUB and DPUB when auth is enabled: `then` runs at once when the cached
 * authorizations allow the command, or once a refresh of expired ones (held input waits) does.
 */
function authorized(client: Client, cmd: string, topic: string, channel: string, then: () => void): void {
  if (!client.authed) throw new FatalClientError("E_AUTH_FIRST", `AUTH required before ${cmd}`);
  const check = () => {
    if (!client.authState!.isAllowed(topic, channel)) {
      throw new FatalClientError("E_UNAUTHORIZED", `AUTH failed for ${cmd} on ${quote(topic)} ${quote(channel)}`);
    }
    then();
  };
  if (!client.authState!.isExpired()) return check();
  client.suspend(
    client.queryAuth().then(check, (e: unknown) => {
      throw authFailed(client, e);
    }),
  );
}

// --- SUB / RDY / CLS ---

function SUB(client: Client, args: Uint8Array[]): number {
  if (client.state !== ClientState.Connected) throw new FatalClientError("E_INVALID", "cannot SUB in current state");
  if (client.heartbeatInterval <= 0) throw new FatalClientError("E_INVALID", "cannot SUB with heartbeats disabled");
  if (args.length < 3) throw new FatalClientError("E_INVALID", "SUB insufficient number of parameters");
  const topicName = latin1(args[1]!);
  if (!isValidTopicName(topicName)) {
    throw new FatalClientError("E_BAD_TOPIC", `SUB topic name ${quote(topicName)} is not valid`);
  }
  const channelName = latin1(args[2]!);
  if (!isValidChannelName(channelName)) {
    throw new FatalClientError("E_BAD_CHANNEL", `SUB channel name ${quote(channelName)} is not valid`);
  }
  if (client.nsqd.auth !== null) authorized(client, "SUB", topicName, channelName, () => subscribe(client, topicName, channelName));
  else subscribe(client, topicName, channelName);
  return NO_BODY;
}

function subscribe(client: Client, topicName: string, channelName: string): void {
  const topic = client.nsqd.getTopic(topicName);
  if (topic.exiting) throw new FatalClientError("E_SUB_FAILED", "SUB failed to deleted topic/channel");
  const channel = topic.getChannel(channelName);
  if (channel.exiting) throw new FatalClientError("E_SUB_FAILED", "SUB failed to deleted topic/channel");
  try {
    channel.addClient(client);
  } catch (e) {
    throw new FatalClientError("E_SUB_FAILED", `SUB failed ${(e as Error).message}`);
  }
  client.state = ClientState.Subscribed;
  client.channel = channel;
  client.sendResponse(FrameType.Response, OK);
}

function RDY(client: Client, args: Uint8Array[]): number {
  if (client.state === ClientState.Closing) return NO_BODY; // nsqd ignores RDY after CLS
  if (client.state !== ClientState.Subscribed) throw new FatalClientError("E_INVALID", "cannot RDY in current state");
  let count = 1;
  if (args.length > 1) {
    count = parseBase10(args[1]!);
    if (count < 0) throw new FatalClientError("E_INVALID", `RDY could not parse count ${latin1(args[1]!)}`);
  }
  const max = client.nsqd.opts.maxRdyCount;
  // fatal on purpose: a client that thinks it has a larger window than it has would stall
  if (count > max) throw new FatalClientError("E_INVALID", `RDY count ${count} out of range 0-${max}`);
  client.setReadyCount(count);
  return NO_BODY;
}

function CLS(client: Client): number {
  if (client.state !== ClientState.Subscribed) throw new FatalClientError("E_INVALID", "cannot CLS in current state");
  client.state = ClientState.Closing;
  client.setReadyCount(0);
  client.sendResponse(FrameType.Response, CLOSE_WAIT);
  return NO_BODY;
}

// --- FIN / REQ / TOUCH ---

/** The 16 ID bytes of a FIN, REQ or TOUCH (looked up as bytes: see MessageIndex); errors quote them. */
function inFlightCommand(client: Client, args: Uint8Array[], name: string, params: number): Uint8Array {
  if (client.state !== ClientState.Subscribed && client.state !== ClientState.Closing) {
    throw new FatalClientError("E_INVALID", `cannot ${name} in current state`);
  }
  if (args.length < params) throw new FatalClientError("E_INVALID", `${name} insufficient number of params`);
  const id = args[1]!;
  if (id.length !== MSG_ID_LENGTH) throw new FatalClientError("E_INVALID", "invalid message ID");
  return id;
}

function FIN(client: Client, args: Uint8Array[]): number {
  const id = inFlightCommand(client, args, "FIN", 2);
  try {
    client.channel!.finish(client, id);
  } catch (e) {
    throw new ClientError("E_FIN_FAILED", `FIN ${idString(id)} failed ${(e as Error).message}`);
  }
  client.finished();
  return NO_BODY;
}

function REQ(client: Client, args: Uint8Array[]): number {
  const id = inFlightCommand(client, args, "REQ", 3);
  const ms = parseBase10(args[2]!);
  if (ms < 0) throw new FatalClientError("E_INVALID", `REQ could not parse timeout ${latin1(args[2]!)}`);
  const max = client.nsqd.opts.maxReqTimeout;
  const delay = Math.min(ms, max);
  if (delay !== ms) client.nsqd.log.info(`[${client.remoteAddress}] REQ timeout ${ms}ms clamped to ${delay}ms`);
  try {
    client.channel!.requeue(client, id, delay);
  } catch (e) {
    throw new ClientError("E_REQ_FAILED", `REQ ${idString(id)} failed ${(e as Error).message}`);
  }
  client.requeued();
  return NO_BODY;
}

function TOUCH(client: Client, args: Uint8Array[]): number {
  const id = inFlightCommand(client, args, "TOUCH", 2);
  try {
    client.channel!.touch(client, id, client.msgTimeout);
  } catch (e) {
    throw new ClientError("E_TOUCH_FAILED", `TOUCH ${idString(id)} failed ${(e as Error).message}`);
  }
  return NO_BODY;
}

// --- PUB / MPUB / DPUB ---

function topicParam(args: Uint8Array[], name: string, params: number, quirk = ""): string {
  if (args.length < params) throw new FatalClientError("E_INVALID", `${name} insufficient number of parameters`);
  const topic = latin1(args[1]!);
  if (!isValidTopicName(topic)) {
    throw new FatalClientError("E_BAD_TOPIC", `${quirk}${name} topic name ${quote(topic)} is not valid`);
  }
  return topic;
}

function pubLimit(client: Client, args: Uint8Array[], name: string, params: number): number {
  topicParam(args, name, params);
  return client.nsqd.opts.maxMsgSize;
}

/**
 * Bodies arrive as views into the socket's read chunk (up to 512 KiB). A queued message keeps its whole
 * chunk alive, so a command that is a small part of its chunk is copied out (MPUB's messages share that one
 * copy); one that fills at least half of it keeps the view, which bounds what a message pins to twice its
 * command and saves copying the bulk of MPUB traffic.
 */
function own(data: Uint8Array): Uint8Array {
  return data.byteLength * 2 >= data.buffer.byteLength ? data : data.slice();
}

/** Publishes and answers OK; a failed put is fatal: `E_PUB_FAILED PUB failed <error>` and the like. */
function publishCommand(
  client: Client,
  topicName: string,
  msgs: Message[],
  code: "E_PUB_FAILED" | "E_MPUB_FAILED" | "E_DPUB_FAILED",
  name: string,
): void {
  const topic = client.nsqd.getTopic(topicName);
  try {
    publish(client.nsqd, topic, msgs);
  } catch (e) {
    throw new FatalClientError(code, `${name} failed ${(e as Error).message}`);
  }
  client.pubCounts.set(topicName, (client.pubCounts.get(topicName) ?? 0) + msgs.length);
  client.sendResponse(FrameType.Response, OK);
}

function PUB(client: Client, args: Uint8Array[], data: Uint8Array): void {
  const topicName = latin1(args[1]!);
  if (client.nsqd.auth !== null) authorized(client, "PUB", topicName, "", () => pub(client, topicName, data));
  else pub(client, topicName, data);
}

function pub(client: Client, topicName: string, data: Uint8Array): void {
  const topic = client.nsqd.getTopic(topicName);
  publishCommand(client, topicName, [topic.newMessage(own(data))], "E_PUB_FAILED", "PUB");
}

function mpubLimit(client: Client, args: Uint8Array[]): number {
  const topicName = topicParam(args, "MPUB", 2, "E_BAD_TOPIC ");
  // nsqd checks MPUB's authorization before it reads the body, and then gets the topic
  if (client.nsqd.auth !== null) authorized(client, "MPUB", topicName, "", () => client.nsqd.getTopic(topicName));
  else client.nsqd.getTopic(topicName);
  return client.nsqd.opts.maxBodySize;
}

function MPUB(client: Client, args: Uint8Array[], data: Uint8Array): void {
  const o = client.nsqd.opts;
  const bodies = parseMpubBody(own(data), o.maxMsgSize, o.maxBodySize);
  const topicName = latin1(args[1]!);
  const topic = client.nsqd.getTopic(topicName);
  const now = Date.now();
  const msgs = new Array<Message>(bodies.length);
  for (let i = 0; i < bodies.length; i++) msgs[i] = topic.newMessage(bodies[i]!, now);
  publishCommand(client, topicName, msgs, "E_MPUB_FAILED", "MPUB");
}

function dpubLimit(client: Client, args: Uint8Array[]): number {
  topicParam(args, "DPUB", 3);
  const ms = parseBase10(args[2]!);
  if (ms < 0) throw new FatalClientError("E_INVALID", `DPUB could not parse timeout ${latin1(args[2]!)}`);
  const max = client.nsqd.opts.maxReqTimeout;
  if (ms > max) throw new FatalClientError("E_INVALID", `DPUB timeout ${ms} out of range 0-${max}`);
  return client.nsqd.opts.maxMsgSize;
}

function DPUB(client: Client, args: Uint8Array[], data: Uint8Array): void {
  const topicName = latin1(args[1]!);
  if (client.nsqd.auth !== null) authorized(client, "DPUB", topicName, "", () => dpub(client, args, topicName, data));
  else dpub(client, args, topicName, data);
}

function dpub(client: Client, args: Uint8Array[], topicName: string, data: Uint8Array): void {
  const topic = client.nsqd.getTopic(topicName);
  const m = topic.newMessage(own(data));
  m.deferred = parseBase10(args[2]!);
  publishCommand(client, topicName, [m], "E_DPUB_FAILED", "DPUB");
}
