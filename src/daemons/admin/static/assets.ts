/**
 * The admin's static assets, imported as text so `bun build --compile` embeds them in the binary: our
 * stylesheet and client script, and uPlot (MIT) for the charts.
 * @module
 */
import css from "./app.css" with { type: "text" };
import js from "./app.js" with { type: "text" };
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "text" };

/** By file name, as `GET <base>/static/:asset` serves them. */
export const ASSETS: Record<string, { body: string; type: string }> = {
  "app.css": { body: css, type: "text/css; charset=utf-8" },
  "app.js": { body: js, type: "text/javascript; charset=utf-8" },
  "uPlot.iife.min.js": { body: uplotJs, type: "text/javascript; charset=utf-8" },
  "uPlot.min.css": { body: uplotCss, type: "text/css; charset=utf-8" },
};
