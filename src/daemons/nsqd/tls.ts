/**
 * nsqd's TLS configuration (nsqd.go buildTLSConfig): the server side of the TCP upgrade and of HTTPS, from
 * --tls-cert, --tls-key, --tls-root-ca-file, --tls-client-auth-policy and --tls-min-version.
 * @module
 */
import { readFileSync } from "node:fs";
import type { ServerTlsOptions } from "../../core/listener.ts";
import { type NsqdOptions, TLS_VERSIONS } from "./options.ts";

export interface NsqdTls {
  /** For the TCP upgrade and the HTTPS listener. */
  server: ServerTlsOptions;
  /**
   * `--tls-client-auth-policy=require` (Go's RequireAnyClientCert): a certificate must be presented, but
   * need not verify; OpenSSL only asks for one, so the connection checks it got one.
   */
  requireAnyCert: boolean;
}

/**
 * Null without --tls-cert and --tls-key. Reads the files and checks that they make a TLS context, so a
 * bad certificate stops the start rather than the first client's handshake.
 * @throws Error `failed to build TLS config - <reason>`
 */
export async function loadTls(o: NsqdOptions): Promise<NsqdTls | null> {
  if (o.tlsCert === "" && o.tlsKey === "") return null;
  try {
    const policy = o.tlsClientAuthPolicy;
    const server: ServerTlsOptions = {
      key: readFileSync(o.tlsKey, "utf8"),
      cert: readFileSync(o.tlsCert, "utf8"),
      ...(o.tlsRootCaFile === "" ? {} : { ca: readFileSync(o.tlsRootCaFile, "utf8") }),
      requestCert: policy !== "",
      rejectUnauthorized: policy === "require-verify",
      minVersion: TLS_VERSIONS[o.tlsMinVersion],
    };
    // loaded only here: node:tls costs idle memory an nsqd without TLS should not pay
    const { createSecureContext } = await import("node:tls");
    createSecureContext({ key: server.key as string, cert: server.cert as string, ca: server.ca as string | undefined });
    return { server, requireAnyCert: policy === "require" };
  } catch (e) {
    throw new Error(`failed to build TLS config - ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The CA nsqd trusts as a client (of an HTTPS auth server): --tls-root-ca-file, or the system's.
 * @throws Error `failed to read TLS root CA file - <reason>`
 */
export function clientCa(o: NsqdOptions): string | undefined {
  if (o.tlsRootCaFile === "") return undefined;
  try {
    return readFileSync(o.tlsRootCaFile, "utf8");
  } catch (e) {
    throw new Error(`failed to read TLS root CA file - ${(e as Error).message}`, { cause: e });
  }
}
