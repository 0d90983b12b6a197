import { describe, expect, test } from "bun:test";
import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../../src/core/log.ts";
import { NSQD } from "../../src/daemons/nsqd/nsqd.ts";
import { type NsqdOptions, nsqdDefaults } from "../../src/daemons/nsqd/options.ts";
import { testScope, tmpDir } from "../helpers/nsqd.ts";

const { defer, nsqd } = testScope();

function dir(): string {
  const d = tmpDir();
  defer(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** An nsqd not started yet, and its log lines without timestamps. */
function create(over: Partial<NsqdOptions>) {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", write: (l) => lines.push(l.replace(/^[\d/: .]+ /, "").trimEnd()) });
  const opts = { ...nsqdDefaults(), tcpAddress: "127.0.0.1:0", httpAddress: "127.0.0.1:0", ...over };
  return { n: new NSQD(opts, log), lines };
}

describe("an unusable --data-path fails start-up in nsqd's words, naming the path and the OS's reason", () => {
  test("a file: nsqd.dat cannot be read there (not EEXIST from a mkdir)", async () => {
    const file = join(dir(), "a-file");
    writeFileSync(file, "not a directory");
    const { n } = create({ dataPath: file });
    const fn = join(file, "nsqd.dat");
    await expect(n.main()).rejects.toThrow(
      new Error(`failed to load metadata - failed to read metadata from ${fn} - open ${fn}: not a directory`),
    );
    // the lock on it was released: a second try fails the same way, not as "in use"
    await expect(create({ dataPath: file }).n.main()).rejects.toThrow("failed to load metadata");
  });

  test("a path below a file: the lock cannot open it", async () => {
    const file = join(dir(), "a-file");
    writeFileSync(file, "");
    const path = join(file, "data");
    await expect(create({ dataPath: path }).n.main()).rejects.toThrow(
      new Error(`failed to lock data-path: open ${path}: not a directory`),
    );
  });

  test("a missing directory is still created", async () => {
    const path = join(dir(), "new", "data");
    const d = await nsqd({ dataPath: path });
    expect(statSync(path).isDirectory()).toBe(true);
    expect(existsSync(join(d.dataPath, "nsqd.dat"))).toBe(true);
  });
});

test("a failed start closes the disk queues nsqd.dat opened, and unlocks the data directory", async () => {
  const dataPath = dir();
  const first = await nsqd({ dataPath });
  expect((await first.http("/topic/create?topic=t", { method: "POST" })).status).toBe(200);
  expect((await first.http("/channel/create?topic=t&channel=c", { method: "POST" })).status).toBe(200);
  await first.stop({ keepData: true });

  const busy = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  defer(() => busy.stop(true));
  const { n, lines } = create({ dataPath, httpAddress: `127.0.0.1:${busy.port}` });
  await expect(n.main()).rejects.toThrow(`listen (127.0.0.1:${busy.port}) failed`);
  expect(lines).toContain("INFO: DISKQUEUE(t): closing");
  expect(lines).toContain("INFO: DISKQUEUE(t:c): closing");
  expect(n.topics.size).toBe(0);

  const again = await nsqd({ dataPath });
  expect(again.nsqd.topics.get("t")?.channels.has("c")).toBe(true);
});

describe("flags NSQ has that do nothing here are accepted with a warning", () => {
  test("one WARNING per such flag given, after the version and ID lines", async () => {
    const { n, lines } = create({
      dataPath: dir(),
      queueScanWorkerPoolMax: 8,
      queueScanSelectionCount: 5,
      httpClientConnectTimeout: 1000,
      enableExperiment: ["topology-aware-consumption"],
    });
    defer(() => n.exit());
    await n.main();
    expect(lines[1]).toStartWith("INFO: ID: ");
    expect(lines.slice(2, 6)).toEqual([
      expect.stringMatching(/^WARNING: --queue-scan-worker-pool-max has no effect: /),
      expect.stringMatching(/^WARNING: --queue-scan-selection-count has no effect: /),
      expect.stringMatching(/^WARNING: --http-client-connect-timeout has no effect: /),
      expect.stringMatching(/^WARNING: --enable-experiment=topology-aware-consumption is not implemented: /),
    ]);
  });

  test("none with NSQ's defaults", async () => {
    const { n, lines } = create({ dataPath: dir() });
    defer(() => n.exit());
    await n.main();
    expect(lines.filter((l) => l.startsWith("WARNING:"))).toEqual([]);
  });
});
