/**
 * `/stats` memory figures are measurements (issue 13): JSC's live-object count and free heap, the heap in
 * use, and the collections seen; Go runtime fields JSC has nothing like are left out rather than 0.
 */
import { describe, expect, test } from "bun:test";
import { until } from "../helpers/client.ts";
import { testScope } from "../helpers/nsqd.ts";

const { nsqd } = testScope();

interface Memory {
  heap_objects: number;
  heap_idle_bytes: number;
  heap_in_use_bytes: number;
  gc_total_runs: number;
}

describe("/stats memory", () => {
  test("reports JSC's live objects, free and used heap and the collections seen, which change as the heap does", async () => {
    const d = await nsqd();
    const memory = async (): Promise<Memory> => ((await (await d.http("/stats?format=json")).json()) as { memory: Memory }).memory;
    const first = await memory();
    expect(Object.keys(first)).toEqual(["heap_objects", "heap_idle_bytes", "heap_in_use_bytes", "gc_total_runs"]);
    expect(first.heap_objects).toBeGreaterThan(1000);
    expect(first.heap_in_use_bytes).toBeGreaterThan(1_000_000);
    expect(first.heap_idle_bytes).toBeGreaterThanOrEqual(0);
    expect(first.gc_total_runs).toBeGreaterThanOrEqual(0);

    // 300k more live objects and full collections: a later count differs, and the collections are counted
    // (counts are kept a while, longer on a big heap: the test process holds every test's heap)
    const held = Array.from({ length: 300_000 }, (_, i) => ({ i }));
    let now = first;
    await until(
      async () => {
        Bun.gc(true);
        now = await memory();
        return now.heap_objects !== first.heap_objects && now.gc_total_runs > first.gc_total_runs;
      },
      "a new count of the objects",
      30_000,
    );
    expect(now.heap_objects).toBeGreaterThan(held.length);

    const text = await (await d.http("/stats")).text();
    expect(Number(/\n {3}heap_objects {13}\t(\d+)\n/.exec(text)?.[1])).toBeGreaterThan(held.length);
    expect(text).toMatch(/\n {3}gc_total_runs {12}\t\d+\n/);
    expect(text).not.toContain("next_gc_bytes");
  });
});
