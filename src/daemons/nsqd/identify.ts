import { type GoStruct, unmarshalStruct } from "../../core/protocol/go-json.ts";

/**
 * nsqd's `identifyDataV2`, field by field: the IDENTIFY body is Go's encoding/json into this struct
 * (see {@link unmarshalStruct}), so keys match case-insensitively, unknown keys are ignored, null leaves a
 * field at its zero value and a value of the wrong type (`1.5`, `1.0` or `1e3` for an int) fails the body.
 */
// Go declares these fields int (64-bit) except sample_rate (int32): an out-of-range value then fails
// nsqd's own range check with its message, not the decoding.
const FIELDS = {
  client_id: "string",
  hostname: "string",
  user_agent: "string",
  feature_negotiation: "bool",
  heartbeat_interval: "int",
  output_buffer_size: "int",
  output_buffer_timeout: "int",
  tls_v1: "bool",
  snappy: "bool",
  deflate: "bool",
  deflate_level: "int",
  sample_rate: "int32",
  msg_timeout: "int",
  topology_region: "string",
  topology_zone: "string",
} as const;

export type IdentifyData = GoStruct<typeof FIELDS>;

/** Returns null when Go's json.Unmarshal would fail. */
export function decodeIdentify(body: Uint8Array): IdentifyData | null {
  return unmarshalStruct(body, FIELDS);
}

/**
 * The IDENTIFY data as nsqd logs it at debug level, Go's `%+v` of its identifyDataV2 (NSQ 1.3's fields, in
 * its order; the topology ones only when given):
 * `{ClientID:c Hostname:h HeartbeatInterval:30000 ... UserAgent:go-nsq/1.1.0 MsgTimeout:0}`.
 */
export function formatIdentify(d: IdentifyData): string {
  const topology = d.topology_region !== "" || d.topology_zone !== "" ? ` TopologyRegion:${d.topology_region} TopologyZone:${d.topology_zone}` : "";
  return (
    `{ClientID:${d.client_id} Hostname:${d.hostname} HeartbeatInterval:${d.heartbeat_interval} ` +
    `OutputBufferSize:${d.output_buffer_size} OutputBufferTimeout:${d.output_buffer_timeout} ` +
    `FeatureNegotiation:${d.feature_negotiation} TLSv1:${d.tls_v1} Deflate:${d.deflate} DeflateLevel:${d.deflate_level} ` +
    `Snappy:${d.snappy} SampleRate:${d.sample_rate} UserAgent:${d.user_agent} MsgTimeout:${d.msg_timeout}${topology}}`
  );
}
