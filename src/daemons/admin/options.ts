/**
 * nsqadmin's flags, config keys, defaults and validation (NSQ `apps/nsqadmin/main.go`, `nsqadmin/options.go`,
 * `nsqadmin.New`). Durations are milliseconds.
 * @module
 */
import { z } from "zod/mini";
import { defineOptions, flag, logFlags, OptionsError } from "../../core/options.ts";

export const adminSpec = defineOptions(
  "nsqadmin",
  {
    ...logFlags("nsqadmin"),
    "http-address": flag.string("0.0.0.0:4171", "<addr>:<port> to listen on for HTTP clients"),
    "base-path": flag.string("/", "URL base path"),
    "dev-static-dir": flag.string("", "(development use only)"),

    "graphite-url": flag.string("", "graphite HTTP address"),
    "proxy-graphite": flag.bool(false, "proxy HTTP requests to graphite"),

    "statsd-counter-format": flag.string(
      "stats.counters.%s.count",
      "The counter stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.",
    ),
    "statsd-gauge-format": flag.string(
      "stats.gauges.%s",
      "The gauge stats key formatting applied by the implementation of statsd. If no formatting is desired, set this to an empty string.",
    ),
    "statsd-prefix": flag.string("nsq.%s", "prefix used for keys sent to statsd (%s for host replacement, must match nsqd)"),
    "statsd-interval": flag.duration(60_000, "time interval nsqd is configured to push to statsd (must match nsqd)", {
      checks: [z.gt(0, "must be greater than 0")],
    }),

    "notification-http-endpoint": flag.string(
      "",
      "HTTP endpoint (fully qualified) to which POST notifications of admin actions will be sent",
    ),

    "http-client-connect-timeout": flag.duration(2_000, "timeout for HTTP connect"),
    "http-client-request-timeout": flag.duration(5_000, "timeout for HTTP request"),
    "http-client-tls-insecure-skip-verify": flag.bool(false, "configure the HTTP client to skip verification of TLS certificates"),
    "http-client-tls-root-ca-file": flag.string("", "path to CA file for the HTTP client"),
    "http-client-tls-cert": flag.string("", "path to certificate file for the HTTP client"),
    "http-client-tls-key": flag.string("", "path to key file for the HTTP client"),

    "allow-config-from-cidr": flag.string("127.0.0.1/8", "A CIDR from which to allow HTTP requests to the /config endpoint"),
    "acl-http-header": flag.string("X-Forwarded-User", "HTTP header to check for authenticated admin users"),

    "lookupd-http-address": flag.strings("lookupd HTTP address (may be given multiple times)", {
      cfg: "nsqlookupd_http_addresses",
    }),
    "nsqd-http-address": flag.strings("nsqd HTTP address (may be given multiple times)", { cfg: "nsqd_http_addresses" }),
    "admin-user": flag.strings(
      "admin user (may be given multiple times; if specified, only these users will be able to perform privileged actions; acl-http-header is used to determine the authenticated user)",
      { cfg: "admin_users" },
    ),
  },
  (o) => {
    if (o.nsqdHttpAddress.length === 0 && o.lookupdHttpAddress.length === 0) {
      throw new OptionsError("--nsqd-http-address or --lookupd-http-address required");
    }
    if (o.nsqdHttpAddress.length > 0 && o.lookupdHttpAddress.length > 0) {
      throw new OptionsError("use --nsqd-http-address or --lookupd-http-address not both");
    }
    if (o.httpClientTlsCert !== "" && o.httpClientTlsKey === "") {
      throw new OptionsError("--http-client-tls-key must be specified with --http-client-tls-cert");
    }
    if (o.httpClientTlsKey !== "" && o.httpClientTlsCert === "") {
      throw new OptionsError("--http-client-tls-cert must be specified with --http-client-tls-key");
    }
    return o;
  },
);

export type AdminOptions = ReturnType<typeof adminSpec.validate>;
