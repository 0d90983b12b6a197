/** @jsxImportSource hono/jsx */
/** The counter page: messages processed by every channel of the cluster, live, and their rate over time. */
import type { FC } from "hono/jsx";
import type { History } from "../history.ts";
import { commafy, rateText } from "./format.ts";
import { type PageCtx, RateChart } from "./layout.tsx";

export const CounterPage: FC<{ ctx: PageCtx; total: number; history: History }> = ({ total, history }) => {
  const series = history.totalSeries();
  return (
    <>
      <h1>Messages Processed</h1>
      <div class="counter">
        <span class="big" id="counter-total" data-total={String(total)}>
          {commafy(total)}
        </span>
        <span class="muted">{rateText(series.rate.at(-1))}</span>
      </div>
      <p class="muted">Every message each channel of the cluster has had, summed over all nsqd.</p>
      <div class="charts">
        <RateChart title="Messages per second, all channels" series={series} color="#27ae60" />
      </div>
    </>
  );
};
