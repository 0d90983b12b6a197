import { lstatSync, readdirSync, readFileSync, unlinkSync } from "node:fs";

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

/** What the OS says for the bind errors a daemon meets (Bun's own messages omit the reason). */
const BIND_REASONS: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EACCES: "permission denied",
  EADDRNOTAVAIL: "cannot assign requested address",
};

/** NSQ's fatal start-up error for a listener: `listen (0.0.0.0:4151) failed - listen tcp 0.0.0.0:4151: bind: address already in use`. */
export function listenError(where: string, e: unknown, network: "tcp" | "unix"): Error {
  const code = (e as { code?: string }).code ?? "";
  const reason = BIND_REASONS[code];
  const detail = reason ? `listen ${network} ${where}: bind: ${reason}` : (e as Error).message;
  return new Error(`listen (${where}) failed - ${detail}`, { cause: e });
}

/** The soft RLIMIT_NOFILE (Linux: /proc/self/limits); Infinity when unlimited or unknown. */
export function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(readFileSync("/proc/self/limits", "latin1"));
    return m === null || m[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m[1]);
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** The file descriptors this process has open (Linux: /proc/self/fd, less the one listing it); -1 when unknown. */
export function openFileCount(): number {
  try {
    return readdirSync("/proc/self/fd").length - 1;
  } catch {
    return -1;
  }
}
