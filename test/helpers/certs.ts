import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "bun:test";

/** PEM files (paths) and their text, made once per test file by openssl. */
export interface TestCerts {
  dir: string;
  /** The CA that signed the server and client certificates. */
  caFile: string;
  serverCert: string;
  serverKey: string;
  /** CN=nsqclient, signed by the CA. */
  clientCert: string;
  clientKey: string;
  /** CN=stranger, self-signed: presented but not verifiable against the CA. */
  strangerCert: string;
  strangerKey: string;
  read(file: string): string;
}

function openssl(dir: string, ...args: string[]): void {
  const r = Bun.spawnSync(["openssl", ...args], { cwd: dir, stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr.toString()}`);
}

/** {@link writeCerts} into a directory removed after the file's tests. */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "nsq-certs-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return writeCerts(dir);
}

/**
 * A CA, a server certificate for localhost and 127.0.0.1, a client certificate it signed and a stranger's
 * self-signed one, written to `dir` by openssl.
 */
export function writeCerts(dir: string): TestCerts {
  const key = (name: string) => ["-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`];
  openssl(dir, "req", "-x509", ...key("ca"), "-out", "ca.pem", "-days", "2", "-subj", "/CN=nsq test CA");
  writeFileSync(join(dir, "server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  for (const [name, cn, ext] of [
    ["server", "localhost", ["-extfile", "server.ext"]],
    ["client", "nsqclient", []],
  ] as const) {
    openssl(dir, "req", ...key(name), "-out", `${name}.csr`, "-subj", `/CN=${cn}`);
    openssl(dir, "x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", ...ext);
  }
  openssl(dir, "req", "-x509", ...key("stranger"), "-out", "stranger.pem", "-days", "2", "-subj", "/CN=stranger");
  const f = (name: string) => join(dir, name);
  return {
    dir,
    caFile: f("ca.pem"),
    serverCert: f("server.pem"),
    serverKey: f("server.key"),
    clientCert: f("client.pem"),
    clientKey: f("client.key"),
    strangerCert: f("stranger.pem"),
    strangerKey: f("stranger.key"),
    read: (file) => readFileSync(file, "utf8"),
  };
}
