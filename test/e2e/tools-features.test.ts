import { afterEach, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { makeCerts } from "../helpers/certs.ts";
import { tmpDir } from "../helpers/nsqd.ts";
import { CLI, type Spawned, spawnNsqd } from "../helpers/spawn.ts";

const certs = makeCerts();
let nsqd: Spawned | null = null;
const dataPath = tmpDir();
afterEach(async () => {
  nsqd?.proc.kill();
  await nsqd?.proc.exited;
  nsqd = null;
  rmSync(dataPath, { recursive: true, force: true });
});

async function run(args: string[], input = "") {
  const p = Bun.spawn([...CLI, ...args], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  p.stdin.write(input);
  await p.stdin.end();
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, code };
}

describe("nsq nsqd with TLS, and the tools through --producer-opt / --consumer-opt", () => {
  test("to-nsq publishes over TLS + snappy, tail reads over TLS + deflate, both with a client certificate", async () => {
    nsqd = await spawnNsqd([
      "--https-address=",
      `--data-path=${dataPath}`,
      `--tls-cert=${certs.serverCert}`,
      `--tls-key=${certs.serverKey}`,
      `--tls-root-ca-file=${certs.caFile}`,
      "--tls-client-auth-policy=require-verify",
      "--tls-min-version=tls1.2",
    ]);
    const addr = `--nsqd-tcp-address=127.0.0.1:${nsqd.port}`;
    const tls = (flag: string) => [
      `${flag}=tls_v1,true`,
      `${flag}=tls_root_ca_file,${certs.caFile}`,
      `${flag}=tls_cert,${certs.clientCert}`,
      `${flag}=tls_key,${certs.clientKey}`,
    ];
    const sent = await run(["to-nsq", "--topic=secure", addr, ...tls("--producer-opt"), "--producer-opt=snappy,true"], "one\ntwo\nthree\n");
    expect(sent).toMatchObject({ code: 0 });
    const got = await run(["tail", "--topic=secure", addr, "-n", "3", ...tls("--consumer-opt"), "--consumer-opt=deflate", "--consumer-opt=deflate_level,1"]);
    expect(got).toMatchObject({ code: 0, stdout: "one\ntwo\nthree\n" });
    // without a certificate nsqd refuses the handshake, and the tool says so
    const refused = await run(["to-nsq", "--topic=secure", addr, "--producer-opt=tls_v1", `--producer-opt=tls_root_ca_file,${certs.caFile}`], "x\n");
    expect(refused.code).not.toBe(0);
  });
});
