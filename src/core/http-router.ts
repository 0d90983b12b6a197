/**
 * NSQ's HTTP API plumbing on Hono, shared by the daemons: julienschmidt/httprouter as NSQ configures it
 * (RouteTable's redirects, OPTIONS, 405 and 404) and internal/http_api's decorators — a handler's answer goes
 * out through `V1` or `PlainText`, an {@link ApiError} as its status and `{"message"}`, each request is logged
 * (`http_api.Log`), and an exception is the PanicHandler's 500 INTERNAL_ERROR.
 * @module
 */
import type { Server } from "bun";
import type { Context, Hono } from "hono";
import { formatDuration } from "./duration.ts";
import { ApiError, plainText, respondV1, RouteTable, type RouteSpec, type V1Data, v1Error } from "./http.ts";
import type { Logger } from "./log.ts";
import { formatAddress } from "./net.ts";

/** The bindings `app.fetch(req, { server })` passes: the server, for the client address in the request log. */
export type ApiEnv = { Bindings: { server?: Server<undefined> } };

/** A handler's answer: V1 data, or a complete Response for routes that are not NSQ's. */
export type ApiHandler = (c: Context<ApiEnv>) => V1Data | Response | Promise<V1Data | Response>;

/** A route as NSQ registers it: `router.Handle(method, path, http_api.Decorate(handler, log, V1))`. */
export interface ApiRoute extends RouteSpec {
  /** `plain`: the PlainText decorator (`/ping`: text, no X-NSQ-Content-Type); `v1`: V1. */
  kind: "v1" | "plain";
  /** Decorated with http_api.Log (nsqd leaves it off /pub and /mpub). */
  log: boolean;
  handler: ApiHandler;
}

/**
 * Registers `routes` on `app`, with httprouter's answers for everything else. HEAD goes to those answers
 * too: httprouter has no HEAD routes, where Hono would answer HEAD with the GET route. Middleware the
 * daemon registered before this call runs first.
 * @example
 * const app = new Hono<ApiEnv>();
 * mountRoutes(app, [{ method: "GET", path: "/ping", kind: "plain", log: true, handler: () => "OK" }], log);
 */
export function mountRoutes(app: Hono<ApiEnv>, routes: readonly ApiRoute[], log: Logger): void {
  const table = new RouteTable(routes);
  const logRequest = (c: Context<ApiEnv>, status: number, start: number): void => {
    if (!log.enabled("info")) return;
    const url = c.req.url;
    const uri = url.slice(url.indexOf("/", url.indexOf("//") + 2));
    const ip = c.env?.server?.requestIP(c.req.raw);
    const remote = ip ? formatAddress(ip.address, ip.port) : "";
    log.info(`${status} ${c.req.method} ${uri} (${remote}) ${formatDuration(performance.now() - start)}`);
  };
  const fallback = (c: Context<ApiEnv>): Response => {
    const start = performance.now();
    return table.fallback(c.req.raw, (status) => {
      logRequest(c, status, start);
      return respondV1(status, status === 404 ? "NOT_FOUND" : "METHOD_NOT_ALLOWED");
    });
  };
  const wrap =
    (r: ApiRoute) =>
    async (c: Context<ApiEnv>): Promise<Response> => {
      const start = performance.now();
      let status = 200;
      let res: Response;
      try {
        const data = await r.handler(c);
        if (data instanceof Response) res = data;
        else res = r.kind === "plain" ? plainText(200, data as string) : respondV1(200, data);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        status = e.status;
        res = r.kind === "plain" ? plainText(e.status, e.text) : v1Error(e);
      }
      if (r.log) logRequest(c, status, start);
      return res;
    };

  app.use("*", async (c, next) => {
    if (c.req.method === "HEAD") return fallback(c);
    await next();
  });
  for (const r of routes) app.on(r.method, r.path, wrap(r));
  app.notFound(fallback);
  app.onError((err, c) => {
    log.error(`panic in HTTP handler - ${err.stack ?? err}`);
    logRequest(c, 500, performance.now());
    return respondV1(500, "INTERNAL_ERROR");
  });
}
