// nsqadmin in a real browser (Debian's chromium driven by playwright-core) over `nsq lookupd` and two `nsq nsqd`.
// NSQADMIN_DOCS_SCREENSHOT=docs/admin-topic.png also saves the topic page there, for the README.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type AdminCluster, startAdmin, startAdminCluster, type TestAdmin } from "../helpers/admin.ts";
import { until } from "../helpers/client.ts";
import type { Wire } from "../helpers/nsqd.ts";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const shots = mkdtempSync(join(tmpdir(), "nsqadmin-shots-"));

let c: AdminCluster;
let a: TestAdmin;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (.ci/run does), or set CHROMIUM_PATH`);
  c = await startAdminCluster(2);
  a = await startAdmin({ lookupdHttpAddress: [c.lookupdHttp] }, { sampleIntervalMs: 150, refreshMs: 300 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // as root, without a GPU, and with no network beyond loopback (see the machine notes)
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}, 60_000);

afterAll(async () => {
  for (const ctx of contexts) await ctx.close();
  await browser?.close();
  await a?.stop();
  await c?.stop();
  rmSync(shots, { recursive: true, force: true });
});

async function newPage(javaScriptEnabled = true): Promise<Page> {
  const ctx = await browser.newContext({ javaScriptEnabled, viewport: { width: 1280, height: 900 } });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  return page;
}

/** A topic with messages flowing on both nsqd and a consumer on one, sampled so the charts have a rate. */
async function busyTopic(topic: string, channels: string[]): Promise<Wire> {
  await c.prepare(topic, channels);
  await until(() => a.admin.history.series(topic).depth.some((d) => d !== null), "a sample of the topic");
  for (let round = 0; round < 3; round++) {
    const before = a.admin.history.lastAt();
    await c.publish(0, topic, 40 + round * 10);
    await c.publish(1, topic, 25);
    await until(() => a.admin.history.lastAt() > before, "a sample after publishing");
  }
  return c.consume(0, topic, channels[0]!, { user_agent: "nsq-ops/1.0 (docs)", hostname: "worker-1" }, 10);
}

describe("nsqadmin in a browser", () => {
  test("every page loads and draws, with no script errors", async () => {
    await busyTopic("clicks", ["archive", "metrics", "search"]);
    const page = await newPage();
    for (const [path, heading] of [
      ["/", "Streams"],
      ["/topics/clicks", "Topic clicks"],
      ["/topics/clicks/archive", "Channel archive of topic clicks"],
      ["/nodes", "NSQd Nodes (2)"],
      [`/nodes/${encodeURIComponent(c.nodes[0]!)}`, "Node"],
      ["/counter", "Messages Processed"],
      ["/lookup", "Lookup"],
    ] as const) {
      await page.goto(`${a.base}${path}`);
      await expect(page.locator("h1").first().textContent()).resolves.toContain(heading);
      await page.waitForSelector("body[data-js=on]");
      const file = join(shots, `${path === "/" ? "streams" : path.slice(1).replaceAll("/", "_")}.png`);
      await page.screenshot({ path: file, fullPage: true });
      expect(statSync(file).size).toBeGreaterThan(1000);
    }
    await page.goto(`${a.base}/topics/clicks`);
    // the charts come from the admin's own samples: uPlot draws them
    await page.waitForSelector("figure.chart .uplot");
    expect(await page.locator("figure.chart .uplot").count()).toBe(2);
    expect(await page.locator("#topic-nodes tbody tr").count()).toBe(3);
    expect(await page.locator("#channels tbody tr").count()).toBe(3);
    const target = process.env.NSQADMIN_DOCS_SCREENSHOT;
    if (target) {
      // traffic while the admin samples, so the picture has rates and depths over time
      for (let i = 0; i < 15; i++) {
        const before = a.admin.history.lastAt();
        await c.publish(i % 2, "clicks", 20 + ((i * 7) % 30));
        await until(() => a.admin.history.lastAt() > before, "a sample");
      }
      await page.reload();
      await page.waitForSelector("figure.chart .uplot");
      await page.screenshot({ path: join(shots, "topic.png"), fullPage: true });
      copyFileSync(join(shots, "topic.png"), target);
    }
    expect(pageErrors).toEqual([]);
  });

  test("pause and empty a channel through the confirmation dialog; the nsqd agree", async () => {
    await c.prepare("orders", ["billing"]);
    await c.publish(0, "orders", 7);
    await c.publish(1, "orders", 3);
    const page = await newPage();
    await page.goto(`${a.base}/topics/orders/billing`);
    await page.waitForSelector("body[data-js=on]");

    await page.getByRole("button", { name: "Pause Channel" }).click();
    const dialog = page.locator("dialog#confirm-dialog");
    await expect(dialog.locator(".question").textContent()).resolves.toBe("Are you sure you want to pause orders/billing?");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await page.waitForSelector("text=Paused orders/billing.");
    for (const i of [0, 1]) expect((await c.channelStats(i, "orders", "billing"))!.paused).toBe(true);
    await page.waitForSelector("button:has-text('UnPause Channel')");

    // cancelling does nothing
    await page.getByRole("button", { name: "Delete Channel" }).click();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    expect(await dialog.isVisible()).toBe(false);
    expect(await c.channelStats(0, "orders", "billing")).toBeDefined();

    await page.getByRole("button", { name: "Empty Queue" }).click();
    await expect(dialog.locator(".question").textContent()).resolves.toBe("Are you sure you want to empty orders/billing?");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await page.waitForSelector("text=Emptied orders/billing.");
    for (const i of [0, 1]) expect((await c.channelStats(i, "orders", "billing"))!.depth).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  test("pages refresh live", async () => {
    await c.prepare("live", ["ch"]);
    const page = await newPage();
    await page.goto(`${a.base}/topics/live`);
    const total = page.locator("#topic-nodes tr.total td").nth(7);
    expect(await total.textContent()).toBe("0");
    await c.publish(1, "live", 1234);
    await page.waitForFunction('document.querySelector("#topic-nodes tr.total td:nth-child(8)")?.textContent === "1,234"');
    expect(Number(await page.locator("body").getAttribute("data-refreshes"))).toBeGreaterThan(0);
  });

  test("with JavaScript off: the pages render and actions go through the confirmation page", async () => {
    await c.prepare("nojs", ["ch"]);
    const page = await newPage(false);
    await page.goto(`${a.base}/topics/nojs`);
    expect(await page.locator("#topic-nodes tbody tr").count()).toBe(3);
    expect(await page.locator("figure.chart noscript").count()).toBe(2);
    await page.getByRole("button", { name: "Pause Topic" }).click();
    await page.waitForSelector("text=Are you sure you want to pause topic nojs?");
    await page.getByRole("button", { name: "Yes, pause" }).click();
    await page.waitForSelector("text=Paused topic nojs.");
    const paused = (await (await c.nsqd(0, "/stats?format=json&topic=nojs")).json()) as { topics: { paused: boolean }[] };
    expect(paused.topics[0]!.paused).toBe(true);
    await page.screenshot({ path: join(shots, "nojs.png"), fullPage: true });
  });
});
