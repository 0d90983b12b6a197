import { expect, test } from "bun:test";
import { Recount } from "../../src/core/recount.ts";
import { until } from "../helpers/client.ts";

test("a recount is made on first use, kept while fresh, and made again once a second old", async () => {
  let counts = 0;
  const r = new Recount(() => ++counts);
  expect(r.get()).toBe(1);
  for (let i = 0; i < 1000; i++) expect(r.get()).toBe(1);
  await until(() => r.get() === 2, "a second count");
  expect(counts).toBe(2);
});
