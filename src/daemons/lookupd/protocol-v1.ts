/**
 * nsqlookupd's V1 protocol, one function per verb (nsqlookupd/lookup_protocol_v1.go). A line is trimmed and
 * split on single spaces, as Go's IOLoop does; IDENTIFY is the one verb with a body. Responses are
 * `[4-byte size][data]`; every error is fatal, so the connection closes after it.
 * @module
 */
import os from "node:os";
import { formatDuration } from "../../core/duration.ts";
import { ascii } from "../../core/protocol/bytes.ts";
import { NO_BODY } from "../../core/protocol/command-parser.ts";
import { FatalClientError } from "../../core/protocol/errors.ts";
import { OK } from "../../core/protocol/frame.ts";
import { unmarshalStruct } from "../../core/protocol/go-json.ts";
import { isEphemeral, isValidChannelName, isValidTopicName } from "../../core/protocol/names.ts";
import { NSQ_VERSION } from "../../core/version.ts";
import type { ClientV1 } from "./connection.ts";
import { type PeerInfo, Producer, type Registration } from "./registration-db.ts";

/**
 * NSQ reads an IDENTIFY body of any announced size (up to 2 GiB, allocated before it arrives); nsqd sends a
 * few hundred bytes, so 1 MiB is ample and keeps a stray client from making us buffer gigabytes.
 */
export const MAX_IDENTIFY_BODY = 1 << 20;

/** PeerInfo's json fields as IDENTIFY decodes them (`remote_address` too: it decodes, then is overwritten). */
const PEER_INFO_FIELDS = {
  remote_address: "string",
  hostname: "string",
  broadcast_address: "string",
  tcp_port: "int",
  http_port: "int",
  version: "string",
  topology_zone: "string",
  topology_region: "string",
} as const;

const CLIENT: Registration = { category: "client", key: "", subKey: "" };

// strings.TrimSpace: unicode.IsSpace at either end
const SPACE = "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const TRIM_SPACE = new RegExp(`^${SPACE}+|${SPACE}+$`, "g");
const utf8 = new TextDecoder();

/** A command line: runs PING, REGISTER and UNREGISTER; for IDENTIFY returns its body limit. */
export function line(client: ClientV1, args: Uint8Array[]): number {
  const params = args
    .map((a) => utf8.decode(a))
    .join(" ")
    .replace(TRIM_SPACE, "")
    .split(" ");
  switch (params[0]) {
    case "PING":
      client.send(PING(client));
      return NO_BODY;
    case "IDENTIFY":
      if (client.peerInfo !== null) throw new FatalClientError("E_INVALID", "cannot IDENTIFY again");
      return MAX_IDENTIFY_BODY;
    case "REGISTER":
      client.send(REGISTER(client, params.slice(1)));
      return NO_BODY;
    case "UNREGISTER":
      client.send(UNREGISTER(client, params.slice(1)));
      return NO_BODY;
  }
  throw new FatalClientError("E_INVALID", `invalid command ${params[0]}`);
}

/** The error for an IDENTIFY body size outside 1..MAX_IDENTIFY_BODY. */
export function badBodySize(size: number): FatalClientError {
  // NSQ decodes an empty body (and panics on a negative size; we answer as nsqd does)
  if (size === 0) return new FatalClientError("E_BAD_BODY", "IDENTIFY failed to decode JSON body");
  if (size < 0) return new FatalClientError("E_BAD_BODY", `IDENTIFY invalid body size ${size}`);
  return new FatalClientError("E_BAD_BODY", `IDENTIFY body too big ${size} > ${MAX_IDENTIFY_BODY}`);
}

export function IDENTIFY(client: ClientV1, body: Uint8Array): Uint8Array {
  const d = unmarshalStruct(body, PEER_INFO_FIELDS);
  if (d === null) throw new FatalClientError("E_BAD_BODY", "IDENTIFY failed to decode JSON body");
  if (d.broadcast_address === "" || d.tcp_port === 0 || d.http_port === 0 || d.version === "") {
    throw new FatalClientError("E_BAD_BODY", "IDENTIFY missing fields");
  }
  const l = client.lookupd;
  const addr = client.remoteAddress;
  const peerInfo: PeerInfo = {
    id: addr,
    lastUpdate: l.now(),
    remoteAddress: addr,
    hostname: d.hostname,
    broadcastAddress: d.broadcast_address,
    tcpPort: d.tcp_port,
    httpPort: d.http_port,
    version: d.version,
    topologyZone: d.topology_zone,
    topologyRegion: d.topology_region,
  };
  l.log.info(
    `CLIENT(${addr}): IDENTIFY Address:${d.broadcast_address} TCP:${d.tcp_port} HTTP:${d.http_port} Version:${d.version}`,
  );
  client.peerInfo = peerInfo;
  if (l.db.addProducer(CLIENT, new Producer(peerInfo))) logDB(client, "REGISTER", CLIENT);
  // Go marshals a map: keys in sorted order
  return ascii(
    JSON.stringify({
      broadcast_address: l.opts.broadcastAddress,
      hostname: os.hostname(),
      http_port: l.httpPort(),
      tcp_port: l.tcpPort(),
      version: NSQ_VERSION,
    }),
  );
}

function PING(client: ClientV1): Uint8Array {
  const p = client.peerInfo;
  // a PING may come before IDENTIFY
  if (p !== null) {
    const now = client.lookupd.now();
    client.lookupd.log.info(`CLIENT(${p.id}): pinged (last ping ${formatDuration(now - p.lastUpdate)})`);
    p.lastUpdate = now;
  }
  return OK;
}

function REGISTER(client: ClientV1, params: string[]): Uint8Array {
  const peerInfo = identified(client);
  const { topic, channel } = topicChan("REGISTER", params);
  const db = client.lookupd.db;
  if (channel !== "") {
    const key = { category: "channel", key: topic, subKey: channel };
    if (db.addProducer(key, new Producer(peerInfo))) logDB(client, "REGISTER", key);
  }
  const key = { category: "topic", key: topic, subKey: "" };
  if (db.addProducer(key, new Producer(peerInfo))) logDB(client, "REGISTER", key);
  return OK;
}

function UNREGISTER(client: ClientV1, params: string[]): Uint8Array {
  const { id } = identified(client);
  const { topic, channel } = topicChan("UNREGISTER", params);
  const l = client.lookupd;
  if (channel !== "") {
    const key = { category: "channel", key: topic, subKey: channel };
    const { removed, left } = l.db.removeProducer(key, id);
    if (removed) logDB(client, "UNREGISTER", key);
    if (left === 0 && isEphemeral(channel)) l.db.removeRegistration(key);
    return OK;
  }
  // a topic's channels are normally unregistered one by one first, hence the warning
  for (const r of l.db.findRegistrations("channel", topic, "*")) {
    if (l.db.removeProducer(r, id).removed) {
      l.log.warn(`client(${client.remoteAddress}) unexpected UNREGISTER category:channel key:${topic} subkey:${r.subKey}`);
    }
  }
  const key = { category: "topic", key: topic, subKey: "" };
  const { removed, left } = l.db.removeProducer(key, id);
  if (removed) logDB(client, "UNREGISTER", key);
  if (left === 0 && isEphemeral(topic)) l.db.removeRegistration(key);
  return OK;
}

/**
 * The end of a connection (IOLoop's exit): its peer stops producing everything it registered. The
 * registrations stay, empty ones included, until deleted over HTTP.
 */
export function exitIOLoop(client: ClientV1): void {
  const l = client.lookupd;
  l.log.info(`PROTOCOL(V1): [${client.remoteAddress}] exiting ioloop`);
  const p = client.peerInfo;
  if (p === null) return;
  for (const r of l.db.lookupRegistrations(p.id)) {
    if (l.db.removeProducer(r, p.id).removed) logDB(client, "UNREGISTER", r);
  }
}

function identified(client: ClientV1): PeerInfo {
  if (client.peerInfo === null) throw new FatalClientError("E_INVALID", "client must IDENTIFY");
  return client.peerInfo;
}

function topicChan(command: string, params: string[]): { topic: string; channel: string } {
  if (params.length === 0) throw new FatalClientError("E_INVALID", `${command} insufficient number of params`);
  const topic = params[0]!;
  const channel = params[1] ?? "";
  if (!isValidTopicName(topic)) throw new FatalClientError("E_BAD_TOPIC", `${command} topic name '${topic}' is not valid`);
  if (channel !== "" && !isValidChannelName(channel)) {
    throw new FatalClientError("E_BAD_CHANNEL", `${command} channel name '${channel}' is not valid`);
  }
  return { topic, channel };
}

function logDB(client: ClientV1, verb: string, r: Registration): void {
  client.lookupd.log.info(`DB: client(${client.remoteAddress}) ${verb} category:${r.category} key:${r.key} subkey:${r.subKey}`);
}
