import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { Command } from "../../src/core/protocol/commands.ts";
import { until } from "../helpers/client.ts";
import { testScope, tmpDir, Wire } from "../helpers/nsqd.ts";
import { CLI, spawnNsqdWithHttp } from "../helpers/spawn.ts";

const { defer, nsqd, track } = testScope();

describe("daemon lifecycle", () => {
  test("SIGTERM while producers publish: exit 0, and every acknowledged message is there after a restart", async () => {
    const data = tmpDir();
    defer(() => rmSync(data, { recursive: true, force: true }));
    const first = await spawnNsqdWithHttp([`--data-path=${data}`]);
    defer(() => {
      if (first.proc.exitCode === null) first.proc.kill("SIGKILL");
    });
    const w = await Wire.connect(first.port);
    let acked = 0;
    const publishing = (async () => {
      for (;;) {
        try {
          if ((await w.pub("t", `m${acked}`)) !== "OK") return;
        } catch {
          return;
        }
        acked++;
      }
    })();
    await until(() => acked >= 200, "some publishes acknowledged");
    first.proc.kill("SIGTERM");
    expect(await first.proc.exited).toBe(0);
    await publishing;

    const second = await spawnNsqdWithHttp([`--data-path=${data}`]);
    defer(async () => {
      second.proc.kill("SIGTERM");
      await second.proc.exited;
    });
    const stats = (await (await fetch(`http://127.0.0.1:${second.httpPort}/stats?format=json&topic=t`)).json()) as {
      topics: { depth: number }[];
    };
    expect(stats.topics[0]!.depth).toBeGreaterThanOrEqual(acked);
  });

  test("a daemon whose stderr reader went away still stops cleanly on SIGTERM", async () => {
    const p = Bun.spawn([...CLI, "lookupd", "--tcp-address=127.0.0.1:0", "--http-address=127.0.0.1:0"], { stdout: "ignore", stderr: "pipe" });
    defer(() => {
      if (p.exitCode === null) p.kill("SIGKILL");
    });
    const r = p.stderr.getReader();
    let text = "";
    while (!text.includes("HTTP: listening")) text += new TextDecoder().decode((await r.read()).value);
    await r.cancel();
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });

  test("a topic deleted while consumers are attached closes their connections; others carry on", async () => {
    const d = await nsqd();
    const a = track(await Wire.connect(d.port));
    expect(await a.sub("doomed", "c")).toBe("OK");
    a.send(Command.rdy(10));
    const b = track(await Wire.connect(d.port));
    expect(await b.sub("kept", "c")).toBe("OK");
    b.send(Command.rdy(10));
    expect((await d.http("/topic/delete?topic=doomed", { method: "POST" })).status).toBe(200);
    await a.closed();
    expect(d.nsqd.topics.has("doomed")).toBe(false);
    expect(await track(await Wire.connect(d.port)).pub("kept", "still")).toBe("OK");
    expect((await b.message()).text).toBe("still");
  });
});
