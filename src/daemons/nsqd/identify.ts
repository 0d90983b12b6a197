/**
 * The IDENTIFY body as nsqd's `identifyDataV2` decodes it: Go's encoding/json into a struct, so keys
 * match case-insensitively, unknown keys are ignored, null leaves a field at its zero value and a value
 * of the wrong type (or a fraction for an int) fails the whole body.
 */
export interface IdentifyData {
  client_id: string;
  hostname: string;
  user_agent: string;
  feature_negotiation: boolean;
  heartbeat_interval: number;
  output_buffer_size: number;
  output_buffer_timeout: number;
  tls_v1: boolean;
  snappy: boolean;
  deflate: boolean;
  deflate_level: number;
  sample_rate: number;
  msg_timeout: number;
  topology_region: string;
  topology_zone: string;
}

const FIELDS: Record<keyof IdentifyData, "string" | "bool" | "int"> = {
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
  sample_rate: "int",
  msg_timeout: "int",
  topology_region: "string",
  topology_zone: "string",
};

const ZERO = { string: "", bool: false, int: 0 } as const;
const INT32 = 2 ** 31;

/** Returns null when Go's json.Unmarshal would fail. */
export function decodeIdentify(body: Uint8Array): IdentifyData | null {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    return null;
  }
  const out = {} as Record<string, unknown>;
  for (const [k, t] of Object.entries(FIELDS)) out[k] = ZERO[t];
  if (raw === null) return out as unknown as IdentifyData;
  if (typeof raw !== "object" || Array.isArray(raw)) return null;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    // every field name is lower case, so Go's case-insensitive match is a lookup of the lowered key
    const field = key.toLowerCase() as keyof IdentifyData;
    if (!Object.hasOwn(FIELDS, field) || value === null) continue;
    const t = FIELDS[field];
    if (t === "string" && typeof value !== "string") return null;
    if (t === "bool" && typeof value !== "boolean") return null;
    if (t === "int" && !(typeof value === "number" && Number.isInteger(value) && value >= -INT32 && value < INT32)) {
      return null;
    }
    out[field] = value;
  }
  return out as unknown as IdentifyData;
}
