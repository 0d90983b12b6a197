/**
 * Go's `net.ParseCIDR` and `IPNet.Contains` for `--allow-config-from-cidr`, enough of them for IPv4, IPv6 and
 * IPv4-mapped IPv6 peers (which Bun reports for IPv4 clients of a dual-stack listener).
 * @module
 */

/** An IP as 16 bytes (IPv4 mapped into IPv6, as Go stores it), or null when it does not parse. */
export function parseIp(s: string): Uint8Array | null {
  const v4 = parseIpv4(s);
  if (v4 !== null) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  if (!s.includes(":")) return null;
  let tail: number[] = [];
  let head = s;
  const lastColon = s.lastIndexOf(":");
  const dotted = parseIpv4(s.slice(lastColon + 1));
  if (dotted !== null) {
    head = `${s.slice(0, lastColon + 1)}0:0`;
    tail = dotted;
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i]!)) return null;
    const n = Number.parseInt(all[i]!, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  }
  if (tail.length === 4) out.set(tail, 12);
  return out;
}

function parseIpv4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

/** A parsed CIDR: its network bytes and how many leading bits must match. */
export interface Cidr {
  ip: Uint8Array;
  bits: number;
}

/**
 * Go's net.ParseCIDR.
 * @throws Error `invalid CIDR address: <s>`
 */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf("/");
  const ip = slash < 0 ? null : parseIp(s.slice(0, slash));
  const prefix = s.slice(slash + 1);
  const isV4 = slash >= 0 && parseIpv4(s.slice(0, slash)) !== null;
  const max = isV4 ? 32 : 128;
  if (ip === null || !/^\d{1,3}$/.test(prefix) || Number(prefix) > max) throw new Error(`invalid CIDR address: ${s}`);
  return { ip, bits: Number(prefix) + (isV4 ? 96 : 0) };
}

/** IPNet.Contains. */
export function cidrContains(net: Cidr, ip: Uint8Array): boolean {
  for (let bit = 0; bit < net.bits; bit++) {
    const mask = 0x80 >> bit % 8;
    if ((net.ip[bit >> 3]! & mask) !== (ip[bit >> 3]! & mask)) return false;
  }
  return true;
}
