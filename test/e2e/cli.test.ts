import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NSQ_VERSION, VERSION } from "../../src/core/version.ts";
import { connectV1, PEER, V1 } from "../helpers/lookupd.ts";
import { PROGRAMS, spawnAdmin, spawnLookupd, spawnNsqd } from "../helpers/spawn.ts";

const CLI = join(import.meta.dir, "../../cli/nsq.ts");
const dir = mkdtempSync(join(tmpdir(), "nsq-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `bun cli/nsq.ts ...args` as a user would; `argv0` names the program like a link would. */
async function nsq(args: string[], argv0?: string) {
  const proc = Bun.spawn({
    cmd: [process.execPath, CLI, ...args],
    argv0,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { stdout, stderr, code };
}


const version = (program: string) => `${program} v${NSQ_VERSION} (nsq ${VERSION}, bun ${Bun.version})\n`;

describe.concurrent("nsq", () => {
  test("--help lists every subcommand and its NSQ alias", async () => {
    const r = await nsq(["--help"]);
    expect(r.code).toBe(0);
    for (const line of ["nsqd ", "lookupd, nsqlookupd", "admin, nsqadmin", "tail, nsq_tail", "to-nsq, to_nsq", "stat, nsq_stat"]) {
      expect(r.stdout).toContain(line);
    }
    expect(r.stdout).not.toContain("\x1b[");
  });

  test("-h and no arguments show the same help", async () => {
    const help = (await nsq(["--help"])).stdout;
    expect((await nsq(["-h"])).stdout).toBe(help);
    const bare = await nsq([]);
    expect(bare.stdout).toBe(help);
  });

  test("--version", async () => {
    expect(await nsq(["--version"])).toEqual({ stdout: version("nsq"), stderr: "", code: 0 });
  });

  test("unknown command exits non-zero", async () => {
    const r = await nsq(["bogus"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Unknown command bogus");
  });

  test.each(PROGRAMS)("%s --version, and through its alias %s", async (command, program) => {
    expect(await nsq([command, "--version"])).toEqual({ stdout: version(program), stderr: "", code: 0 });
    expect(await nsq([program, "-version"])).toEqual({ stdout: version(program), stderr: "", code: 0 });
  });

  test.each(PROGRAMS)("%s --help shows NSQ's flags (Go usage)", async (command, program) => {
    const r = await nsq([command, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(`Usage of ${program}:\n`);
    expect(r.stdout).toContain("  -version\n    \tprint version string\n");
  });

  test("nsqd --help shows flags with defaults", async () => {
    const r = await nsq(["nsqd", "-help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  -tcp-address string\n    \t<addr>:<port> to listen on for TCP clients (default "0.0.0.0:4150")\n');
    expect(r.stdout).toContain("  -mem-queue-size int\n    \tnumber of messages to keep in memory (per topic/channel) (default 10000)\n");
    expect(r.stdout).toContain("  -msg-timeout duration\n    \tdefault duration to wait before auto-requeing a message (default 1m0s)\n");
    expect(r.stdout).toContain("  -lookupd-tcp-address value\n");
    expect(r.stdout).toContain("  -config string\n");
  });

  test("a link named after a program runs that program (argv0)", async () => {
    for (const [, program] of PROGRAMS) {
      expect(await nsq(["--version"], program)).toEqual({ stdout: version(program), stderr: "", code: 0 });
    }
    const r = await nsq(["--help"], "nsqlookupd");
    expect(r.stdout).toStartWith("Usage of nsqlookupd:\n");
  });

  test("unknown flag: Go's message and usage on stderr, exit 2", async () => {
    const r = await nsq(["nsqd", "--tcp-address=127.0.0.1:0", "-x"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toStartWith("flag provided but not defined: -x\nUsage of nsqd:\n");
    const tail = await nsq(["-nope"], "nsq_tail");
    expect(tail.code).toBe(2);
    expect(tail.stderr).toStartWith("flag provided but not defined: -nope\nUsage of nsq_tail:\n");
  });

  test("bad values: one line naming the flag or key, exit 1, no stack", async () => {
    let r = await nsq(["nsqd", "--max-deflate-level=10"]);
    expect(r).toEqual({ stdout: "", stderr: "nsqd: --max-deflate-level must be [1,9]\n", code: 1 });
    const cfg = join(dir, "bad.cfg");
    writeFileSync(cfg, 'msg_timeout = "soon"\n');
    r = await nsq(["nsqd", `--config=${cfg}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('nsqd: config key msg_timeout = "soon": time: invalid duration "soon"\n');
    r = await nsq(["to-nsq", "--nsqd-tcp-address=127.0.0.1:4150"]);
    expect(r).toEqual({ stdout: "", stderr: "to_nsq: --topic required\n", code: 1 });
  });

  test("admin: exactly one of --lookupd-http-address and --nsqd-http-address, as NSQ says", async () => {
    expect(await nsq(["admin"])).toEqual({ stdout: "", stderr: "nsqadmin: --nsqd-http-address or --lookupd-http-address required\n", code: 1 });
    const both = await nsq(["admin", "--lookupd-http-address=127.0.0.1:4161", "--nsqd-http-address=127.0.0.1:4151"]);
    expect(both).toEqual({ stdout: "", stderr: "nsqadmin: use --nsqd-http-address or --lookupd-http-address not both\n", code: 1 });
  });
});

describe("nsq admin process", () => {
  test("serves its pages and API over the lookupds it is given, stops on SIGTERM", async () => {
    const lookupd = await spawnLookupd([]);
    const admin = await spawnAdmin([`--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`, "--lookupd-http-address=127.0.0.1:1", "--base-path=/ops"]);
    try {
      const base = `http://127.0.0.1:${admin.httpPort}/ops`;
      expect(await (await fetch(`${base}/ping`)).text()).toBe("OK");
      const topics = (await (await fetch(`${base}/api/topics`)).json()) as { topics: string[]; message: string };
      expect(topics.topics).toEqual([]);
      expect(topics.message).toStartWith("WARNING: GET http://127.0.0.1:1/topics - connection refused");
      const page = await (await fetch(`${base}/nodes`)).text();
      expect(page).toContain('href="/ops/static/app.css"');
      expect(page).toContain("nsqlookupd at 127.0.0.1:1 unreachable: connection refused");
    } finally {
      admin.proc.kill("SIGTERM");
      lookupd.proc.kill("SIGTERM");
      expect(await admin.proc.exited).toBe(0);
      await lookupd.proc.exited;
    }
    expect(admin.stderr()).toMatch(/^\[nsqadmin\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: nsqadmin v1\.3\.0/);
  });
});

describe("nsq nsqd process", () => {
  test("SIGTERM shuts down cleanly with exit 0", async () => {
    const data = join(dir, "sigterm");
    const p = await spawnNsqd([`--data-path=${data}`]);
    p.proc.kill("SIGTERM");
    expect(await p.proc.exited).toBe(0);
    expect(p.stderr()).toMatch(/^\[nsqd\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: nsqd v\S+ /);
    expect(p.stderr()).toMatch(/\n\[nsqd\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: TCP: listening on 127\.0\.0\.1:\d+\n/);
  });

  test("a start-up failure is one FATAL line and exit 1", async () => {
    const data = join(dir, "locked");
    const first = await spawnNsqd([`--data-path=${data}`]);
    try {
      const r = await nsq(["nsqd", "--tcp-address=127.0.0.1:0", "--http-address=", `--data-path=${data}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^\[nsqd\] [\d/: .]+ FATAL: --data-path=\S+ in use \(possibly by another instance of nsqd\)\n$/);
    } finally {
      first.proc.kill("SIGTERM");
      await first.proc.exited;
    }
  });
});

describe("nsq lookupd process", () => {
  test("serves nsqd registrations and lookups; SIGTERM closes everything and exits 0", async () => {
    const p = await spawnLookupd(["--broadcast-address=lookupd.test"]);
    try {
      const w = await connectV1(p.port);
      w.send(V1.identify(PEER));
      expect(JSON.parse(await w.response())).toMatchObject({ broadcast_address: "lookupd.test", tcp_port: p.port, http_port: p.httpPort });
      w.send(V1.register("t", "c"));
      expect(await w.response()).toBe("OK");
      const lookup = await (await fetch(`http://127.0.0.1:${p.httpPort}/lookup?topic=t`)).json();
      expect(lookup).toMatchObject({ channels: ["c"], producers: [{ broadcast_address: "ip.address", tcp_port: 5000 }] });
      p.proc.kill("SIGTERM");
      expect(await p.proc.exited).toBe(0);
      await w.closed();
    } finally {
      p.proc.kill("SIGKILL");
    }
    const lines = p.stderr().split("\n");
    const prefix = String.raw`^\[nsqlookupd\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6} INFO: `;
    expect(lines[0]).toMatch(new RegExp(`${prefix}nsqlookupd v${NSQ_VERSION} \\(nsq ${VERSION}, bun ${Bun.version}\\)$`));
    expect(lines[1]).toMatch(new RegExp(`${prefix}TCP: listening on 127\\.0\\.0\\.1:${p.port}$`));
    expect(lines[2]).toMatch(new RegExp(`${prefix}HTTP: listening on 127\\.0\\.0\\.1:${p.httpPort}$`));
    expect(p.stderr()).toMatch(/INFO: DB: client\(127\.0\.0\.1:\d+\) UNREGISTER category:topic key:t subkey:\n/);
  });

  test("a port in use is one FATAL line and exit 1", async () => {
    const first = await spawnLookupd([]);
    try {
      const r = await nsq(["lookupd", `--tcp-address=127.0.0.1:${first.port}`, "--http-address=127.0.0.1:0"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`FATAL: listen \\(127\\.0\\.0\\.1:${first.port}\\) failed - .+\n$`));
    } finally {
      first.proc.kill("SIGTERM");
      await first.proc.exited;
    }
  });
});
