import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { strftime } from "../../src/tools/to-file/filename.ts";
import { until } from "../helpers/client.ts";
import { addrOf, testScope, tmpDir } from "../helpers/nsqd.ts";
import { allFinished, publish, spawnTool } from "../helpers/tool.ts";

const { defer, nsqd } = testScope();

function dir(): string {
  const d = tmpDir();
  defer(() => rmSync(d, { recursive: true, force: true }));
  return d;
}



/** The gzip members of a file, each decompressed: a truncated or corrupt file throws. */
function gzipMembers(file: string): string[] {
  const buf = readFileSync(file);
  const members: string[] = [];
  for (let at = 0; at < buf.length; ) {
    expect([buf[at], buf[at + 1]]).toEqual([0x1f, 0x8b]);
    const r = inflateRawSync(buf.subarray(at + 10), { info: true } as object) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    members.push(r.buffer.toString());
    at += 10 + r.engine.bytesWritten + 8;
  }
  return members;
}

const files = (d: string) => readdirSync(d).sort();
const bodies = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i} ${"x".repeat(i % 37)} <&>`);

describe("nsq to-file", () => {
  test("plain: one file per topic named by NSQ's tokens, byte for byte the bodies and newlines", async () => {
    const d = await nsqd();
    const out = dir();
    const [a, b] = [bodies("a", 300), bodies("b", 5)];
    await publish(d, "ta", a);
    await publish(d, "tb", b);
    const t = spawnTool(
      [
        "to-file",
        "--topic=ta",
        "--topic=tb",
        `--nsqd-tcp-address=${addrOf(d)}`,
        `--output-dir=${out}`,
        "--filename-format=<TOPIC>/<HOST>-<PID>-<DATETIME><REV>.log",
        "--host-identifier=box-<SHORT_HOST>",
        "--datetime-format=%Y%%",
        // NSQ finishes the tail of a burst (below 85% of RDY in flight) at the next sync
        "--sync-interval=100ms",
      ],
      defer,
    );
    await until(() => allFinished(d, "ta", "nsq_to_file", 300) && allFinished(d, "tb", "nsq_to_file", 5), "all finished");
    const r = await t.stop();
    expect(r.code).toBe(0);
    const host = (await import("node:os")).hostname().split(".")[0];
    const name = `box-${host}-${t.proc.pid}-${strftime("%Y", new Date())}%.log`;
    expect(files(join(out, "ta"))).toEqual([name]);
    expect(readFileSync(join(out, "ta", name), "utf8")).toBe(`${a.join("\n")}\n`);
    expect(readFileSync(join(out, "tb", name), "utf8")).toBe(`${b.join("\n")}\n`);
    expect(r.stderr).toMatch(/^\[nsq_to_file\] \d{4}\/\d\d\/\d\d [\d:.]+ INFO: /);
    expect(r.stderr).toContain("[ta/nsq_to_file] syncing ");
  });

  test("SIGTERM with messages written but not yet synced: synced, finished and on disk before exit 0", async () => {
    const d = await nsqd();
    const out = dir();
    await publish(d, "t", ["held-1", "held-2", "held-3"]);
    // NSQ's default --sync-interval (30 s): these would wait for it
    const t = spawnTool(["to-file", "--topic=t", `--nsqd-tcp-address=${addrOf(d)}`, `--output-dir=${out}`, "--filename-format=t.log"], defer);
    const ch = () => d.nsqd.topics.get("t")?.channels.get("nsq_to_file");
    // the first is synced as it opens the file; the other two are held
    await until(() => ch()?.depth === 0 && ch()!.inFlight.size >= 2, "two held");
    expect((await t.stop()).code).toBe(0);
    expect(readFileSync(join(out, "t.log"), "utf8")).toBe("held-1\nheld-2\nheld-3\n");
    expect(allFinished(d, "t", "nsq_to_file", 3)).toBe(true);
  });

  test("gzip, --rotate-size and --work-dir: revisions moved into the output dir, a gzip member per sync", async () => {
    const d = await nsqd();
    const [work, out] = [dir(), dir()];
    const all = bodies("m", 400);
    await publish(d, "t", all);
    const t = spawnTool(
      ["to-file", "--topic=t", `--nsqd-tcp-address=${addrOf(d)}`, `--work-dir=${work}`, `--output-dir=${out}`, "--gzip", "--rotate-size=2000", "--max-in-flight=25", "--sync-interval=100ms"],
      defer,
    );
    await until(() => allFinished(d, "t", "nsq_to_file", 400), "all finished");
    expect((await t.stop()).code).toBe(0);
    expect(files(work)).toEqual([]);
    const names = files(out);
    expect(names.length).toBeGreaterThan(3);
    names.forEach((n, i) => expect(n).toMatch(new RegExp(`^t\\.[^.]+-${String(i).padStart(6, "0")}\\.\\d{4}-\\d\\d-\\d\\d_\\d\\d\\.log\\.gz$`)));
    const members = names.map((n) => gzipMembers(join(out, n)));
    expect(members.flat().join("")).toBe(`${all.join("\n")}\n`);
    // 25 messages per sync: several members per file, none bigger than one sync
    expect(members.every((m) => m.length >= 1)).toBe(true);
    expect(Math.max(...members.flat().map((m) => m.split("\n").length - 1))).toBeLessThanOrEqual(25);
  });

  test("SIGHUP closes and moves the file; the next messages go to the next revision", async () => {
    const d = await nsqd();
    const [work, out] = [dir(), dir()];
    const t = spawnTool(["to-file", "--topic=t", `--nsqd-tcp-address=${addrOf(d)}`, `--work-dir=${work}`, `--output-dir=${out}`, "--sync-interval=50ms"], defer);
    await t.waitFor(/connecting to nsqd/);
    await until(() => d.nsqd.topics.get("t")?.channels.has("nsq_to_file") === true, "the subscription");
    await publish(d, "t", ["before-1", "before-2"]);
    await until(() => allFinished(d, "t", "nsq_to_file", 2), "the first two");
    t.proc.kill("SIGHUP");
    await until(() => files(out).length === 1, "the file moved on SIGHUP");
    await publish(d, "t", ["after"]);
    await until(() => allFinished(d, "t", "nsq_to_file", 3), "the third");
    expect((await t.stop()).code).toBe(0);
    const names = files(out);
    expect(names).toHaveLength(2);
    expect(names[0]).toContain("-000000.");
    expect(names[1]).toContain("-000001.");
    expect(readFileSync(join(out, names[0]!), "utf8")).toBe("before-1\nbefore-2\n");
    expect(readFileSync(join(out, names[1]!), "utf8")).toBe("after\n");
  });

  test("killed mid-stream: what it left is a readable gzip file, and with the next run every message is on disk", async () => {
    // nsqd gives a dead client's messages in flight back after --msg-timeout
    const d = await nsqd({ msgTimeout: 1000 });
    const [work, out] = [dir(), dir()];
    const all = bodies("k", 3000);
    await publish(d, "t", all);
    const args = ["to-file", "--topic=t", `--nsqd-tcp-address=${addrOf(d)}`, `--work-dir=${work}`, `--output-dir=${out}`, "--gzip", "--max-in-flight=50", "--sync-interval=100ms"];
    const first = spawnTool(args, defer);
    const ch = () => d.nsqd.topics.get("t")?.channels.get("nsq_to_file");
    const written = () => files(work).reduce((n, f) => n + statSync(join(work, f)).size, 0);
    await until(() => written() > 2000, "some members written");
    first.proc.kill("SIGKILL");
    await first.proc.exited;
    const [killed] = files(work);
    const before = gzipMembers(join(work, killed!)).join("");
    expect(before.length).toBeGreaterThan(0);
    expect(before.endsWith("\n")).toBe(true);
    // nsqd requeues what was in flight; the next run writes the next revision
    const second = spawnTool(args, defer);
    await until(() => allFinished(d, "t", "nsq_to_file", 3000) && ch()!.clients.size === 1, "the rest", 10_000);
    expect((await second.stop()).code).toBe(0);
    const [moved] = files(out);
    expect(moved).toContain("-000001.");
    const lines = [...before.split("\n"), ...gzipMembers(join(out, moved!)).join("").split("\n")].filter((l) => l !== "");
    expect(new Set(lines)).toEqual(new Set(all));
    // at least once: only what was synced and not yet finished at the kill comes twice
    expect(lines.length - all.length).toBeLessThanOrEqual(50);
  }, 30_000);

  test("--topic-pattern: every matching topic lookupd knows, new ones found at the next --topic-refresh", async () => {
    const d = await nsqd();
    const out = dir();
    const topics = ["logs_a", "other"];
    const lookupd = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const url = new URL(req.url);
        if (url.pathname === "/topics") return Response.json({ topics });
        return Response.json({ channels: [], producers: [{ broadcast_address: "127.0.0.1", tcp_port: d.port, http_port: 0 }] });
      },
    });
    defer(() => lookupd.stop(true));
    await publish(d, "logs_a", ["a1"]);
    await publish(d, "other", ["o1"]);
    const t = spawnTool(
      ["to-file", "--topic-pattern=^logs_", `--lookupd-http-address=127.0.0.1:${lookupd.port}`, `--output-dir=${out}`, "--topic-refresh=100ms", "--filename-format=<TOPIC>.log", "--sync-interval=50ms"],
      defer,
    );
    await until(() => allFinished(d, "logs_a", "nsq_to_file", 1), "logs_a");
    await t.waitFor(/WARNING: skipping topic other \(doesn't match pattern \^logs_\)/);
    await publish(d, "logs_b", ["b1", "b2"]);
    topics.push("logs_b");
    await until(() => allFinished(d, "logs_b", "nsq_to_file", 2), "logs_b, found later");
    expect((await t.stop()).code).toBe(0);
    expect(files(out)).toEqual(["logs_a.log", "logs_b.log"]);
    expect(readFileSync(join(out, "logs_b.log"), "utf8")).toBe("b1\nb2\n");
    expect(d.nsqd.topics.get("other")!.channels.size).toBe(0);
  });

  test("bad flags and an unreachable nsqd: one clear line, exit 1", async () => {
    const run = (args: string[]) => spawnTool(["to-file", ...args], defer).finished();
    const cases: [string[], string][] = [
      [["--nsqd-tcp-address=127.0.0.1:1"], "--topic or --topic-pattern required"],
      [["--topic=t"], "--nsqd-tcp-address or --lookupd-http-address required."],
      [["--topic=t", "--nsqd-tcp-address=a:1", "--gzip-level=10"], "invalid --gzip-level value (10), should be 1-9"],
      [["--topic-pattern=x", "--nsqd-tcp-address=a:1"], "--lookupd-http-address must be specified when no --topic specified"],
      [["--topic-pattern=(", "--lookupd-http-address=a:1"], "--topic-pattern is invalid - "],
      [["--topic=t", "--nsqd-tcp-address=a:1", "--gzip", "--filename-format=<TOPIC>.log"], "missing <REV> in --filename-format when gzip, rotation, or work dir enabled"],
      [["--topic=t", "--nsqd-tcp-address=a:1", "--consumer-opt=max_attempts,lots"], "--consumer-opt E_INVALID_CONFIG option max_attempts (lots): expected an integer"],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    for (const [i, [, msg]] of cases.entries()) {
      expect(results[i]!.code).toBe(1);
      expect(results[i]!.stderr).toStartWith(`nsq_to_file: ${msg}`);
    }
    const out = dir();
    const down = await run(["--topic=t", "--nsqd-tcp-address=127.0.0.1:1", `--output-dir=${out}`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("FATAL: E_CONNECT_FAILED dial tcp 127.0.0.1:1: connect: connection refused\n");
  });

  test("a file error is fatal, as in NSQ: one line naming the topic and the OS's reason, exit 1", async () => {
    const d = await nsqd();
    const notADir = join(dir(), "not-a-dir");
    writeFileSync(notADir, "");
    await publish(d, "t", ["x"]);
    const r = await spawnTool(["to-file", "--topic=t", `--nsqd-tcp-address=${addrOf(d)}`, `--output-dir=${notADir}`], defer).finished();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FATAL: \[t\/nsq_to_file\] unable to create dir: EEXIST: file already exists, mkdir '\S+not-a-dir'\n$/);
  });
});
