import { lstatSync, unlinkSync } from "node:fs";

/** A listen address as NSQ takes it: `host:port` (IPv6 in brackets), or anything else as a unix socket path. */
export type ListenAddress = { hostname: string; port: number } | { unix: string };

export function parseListenAddress(addr: string): ListenAddress {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  if (m === null || Number(m[3]) > 65535) return { unix: addr };
  return { hostname: m[1] ?? m[2] ?? "", port: Number(m[3]) };
}

export function formatAddress(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/**
 * A unix socket file left by a process that died makes listen fail with EADDRINUSE (Go's net package
 * removes it itself). Only a socket is removed: a regular file at that path is the user's, not ours.
 */
export function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {}
}
