import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "../../src/core/protocol/commands.ts";
import { until } from "../helpers/client.ts";
import { Wire } from "../helpers/nsqd.ts";
import { CLI, spawnAdmin, spawnNsqd } from "../helpers/spawn.ts";

const dir = mkdtempSync(join(tmpdir(), "nsq-startup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `nsq <args>` to its end. */
async function nsq(args: string[]) {
  const proc = Bun.spawn([...CLI, ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  return { stderr, code };
}

/** `nsq <args>` running, its stderr collected as it comes. */
function start(args: string[]) {
  const proc = Bun.spawn([...CLI, ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let text = "";
  void (async () => {
    for await (const chunk of proc.stderr) text += new TextDecoder().decode(chunk);
  })();
  return { proc, stderr: () => text };
}

const LINE = String.raw`\[nsqd\] \d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}`;

/** nsqd's whole log over one client's visit (`talk`, then its exit) and a clean SIGTERM. */
async function logOver(args: string[], talk: (w: Wire) => Promise<void>): Promise<string> {
  const p = await spawnNsqd(args);
  try {
    const w = await Wire.connect(p.port);
    await talk(w);
    w.close();
    await until(() => p.stderr().includes("exiting messagePump"), "the client's exit");
  } finally {
    p.proc.kill("SIGTERM");
    expect(await p.proc.exited).toBe(0);
  }
  return p.stderr();
}

describe("nsq nsqd with an unusable --data-path: one FATAL line naming the path and the OS's reason, exit 1", () => {
  test("a file", async () => {
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    const r = await nsq(["nsqd", "--tcp-address=127.0.0.1:0", "--http-address=", `--data-path=${file}`]);
    expect(r.code).toBe(1);
    const fn = join(file, "nsqd.dat");
    expect(r.stderr).toEndWith(`FATAL: failed to load metadata - failed to read metadata from ${fn} - open ${fn}: not a directory\n`);
    expect(r.stderr).not.toContain("EEXIST");
  });

  test("a path below a file", async () => {
    const file = join(dir, "another-file");
    writeFileSync(file, "");
    const r = await nsq(["nsqd", "--tcp-address=127.0.0.1:0", "--http-address=", `--data-path=${file}/data`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${LINE} FATAL: failed to lock data-path: open ${file}/data: not a directory\n$`));
  });
});

describe("nsq nsqd --log-level", () => {
  test("info (the default): the version and node ID first; no command lines", async () => {
    const out = await logOver([`--data-path=${join(dir, "info")}`, "--node-id=7"], async (w) => {
      expect(await w.pub("t", "x")).toBe("OK");
    });
    const lines = out.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^${LINE} INFO: nsqd v1\\.3\\.0 \\(`));
    expect(lines[1]).toMatch(new RegExp(`^${LINE} INFO: ID: 7$`));
    expect(out).not.toContain("DEBUG:");
  });

  test("debug adds every command", async () => {
    const out = await logOver([`--data-path=${join(dir, "debug")}`, "--log-level=debug"], async (w) => {
      expect(await w.identify({ client_id: "dbg" })).toBe("OK");
      w.send(Command.nop());
      expect(await w.pub("t", "x")).toBe("OK");
    });
    expect(out).toMatch(new RegExp(`${LINE} DEBUG: PROTOCOL\\(V2\\): \\[127\\.0\\.0\\.1:\\d+\\] \\[IDENTIFY\\]\n`));
    expect(out).toMatch(/DEBUG: PROTOCOL\(V2\): \[127\.0\.0\.1:\d+\] \{ClientID:dbg Hostname: /);
    expect(out).toMatch(/DEBUG: PROTOCOL\(V2\): \[127\.0\.0\.1:\d+\] \[NOP\]\n/);
    expect(out).toMatch(/DEBUG: PROTOCOL\(V2\): \[127\.0\.0\.1:\d+\] \[PUB t\]\n/);
  });

  test("warn leaves warnings only: no INFO at start, per client or at exit", async () => {
    const sock = join(dir, "warn.sock");
    const p = start(["nsqd", `--tcp-address=${sock}`, "--http-address=", `--data-path=${join(dir, "warn")}`, "--log-level=warn", "--queue-scan-selection-count=5"]);
    try {
      await until(() => existsSync(sock), "the listener");
      let got = "";
      let closed = false;
      const s = await Bun.connect({
        unix: sock,
        socket: { data: (_s, b) => void (got += new TextDecoder().decode(b)), close: () => void (closed = true) },
      });
      s.write("  V2");
      s.write(Command.pub("t", "x"));
      await until(() => got.endsWith("OK"), "PUB's OK");
      s.end();
      await until(() => closed, "the connection's end");
      p.proc.kill("SIGTERM");
      expect(await p.proc.exited).toBe(0);
    } finally {
      p.proc.kill("SIGKILL");
    }
    const lines = p.stderr().trimEnd().split("\n");
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^${LINE} WARNING: --queue-scan-selection-count has no effect: `))]);
  });
});

test("nsq admin warns about --dev-static-dir, which does nothing here", async () => {
  const p = await spawnAdmin(["--nsqd-http-address=127.0.0.1:1", "--dev-static-dir=/tmp"]);
  try {
    await until(() => p.stderr().includes("WARNING:"), "the warning");
  } finally {
    p.proc.kill("SIGTERM");
    await p.proc.exited;
  }
  expect(p.stderr()).toMatch(/ WARNING: --dev-static-dir has no effect: the static assets are embedded in the executable\n/);
});
