/**
 * nsq_to_file's flags (NSQ `apps/nsq_to_file/nsq_to_file.go` flagSet and options.go). No config file, as in NSQ.
 * Durations are milliseconds.
 * @module
 */
import { z } from "zod/mini";
import { isValidChannelName, isValidTopicName } from "../../core/protocol/names.ts";
import { defineOptions, flag, logFlags, OptionsError } from "../../core/options.ts";
import { checkSources, consumerFlags } from "../consume.ts";
import { filenameTemplate } from "./filename.ts";

const { verbose: _, ...log } = logFlags("nsq_to_file");
const positive = [z.gt(0, "should be positive")];

export const toFileSpec = defineOptions(
  "nsq_to_file",
  {
    ...log,
    topic: flag.strings("nsq topic (may be given multiple times)"),
    "topic-pattern": flag.string("", "only log topics matching the following pattern"),
    "topic-refresh": flag.duration(60_000, "how frequently the topic list should be refreshed", { checks: positive }),
    channel: flag.string("nsq_to_file", "nsq channel"),
    ...consumerFlags(),
    "output-dir": flag.string("/tmp", "directory to write output files to"),
    "work-dir": flag.string("", "directory for in-progress files before moving to output-dir"),
    "datetime-format": flag.string("%Y-%m-%d_%H", "strftime compatible format for <DATETIME> in filename format"),
    "filename-format": flag.string(
      "<TOPIC>.<HOST><REV>.<DATETIME>.log",
      "output filename format (<TOPIC>, <HOST>, <PID>, <DATETIME>, <REV> are replaced. <REV> is increased when file already exists)",
    ),
    "host-identifier": flag.string("", "value to output in log filename in place of hostname. <SHORT_HOST> and <HOSTNAME> are valid replacement tokens"),
    "gzip-level": flag.int(6, "gzip compression level (1-9, 1=BestSpeed, 9=BestCompression)"),
    gzip: flag.bool(false, "gzip output files."),
    "skip-empty-files": flag.bool(false, "skip writing empty files"),
    "rotate-size": flag.int(0, "rotate the file when it grows bigger than rotate-size bytes", {
      checks: [z.minimum(0, "must not be negative")],
    }),
    "rotate-interval": flag.duration(0, "rotate the file every duration", { checks: [z.minimum(0, "must not be negative")] }),
    "sync-interval": flag.duration(30_000, "sync file to disk every duration", { checks: positive }),
    "http-client-connect-timeout": flag.duration(2_000, "timeout for HTTP connect", { checks: positive }),
    "http-client-request-timeout": flag.duration(5_000, "timeout for HTTP request", { checks: positive }),
  },
  (o) => {
    if (o.channel === "") throw new OptionsError("--channel is required");
    if (!isValidChannelName(o.channel)) throw new OptionsError("--channel is invalid");
    for (const t of o.topic) if (!isValidTopicName(t)) throw new OptionsError(`--topic ${JSON.stringify(t)} is invalid`);
    checkSources(o, "--nsqd-tcp-address or --lookupd-http-address required.");
    if (o.gzipLevel < 1 || o.gzipLevel > 9) throw new OptionsError(`invalid --gzip-level value (${o.gzipLevel}), should be 1-9`);
    if (o.topic.length === 0 && o.topicPattern === "") throw new OptionsError("--topic or --topic-pattern required");
    if (o.topic.length === 0 && o.lookupdHttpAddress.length === 0) {
      throw new OptionsError("--lookupd-http-address must be specified when no --topic specified");
    }
    try {
      new RegExp(o.topicPattern);
    } catch (e) {
      throw new OptionsError(`--topic-pattern is invalid - ${(e as Error).message}`);
    }
    if (o.workDir === "") o.workDir = o.outputDir;
    // NSQ finds out only when a topic's logger is created, and then logs an error and writes nothing.
    try {
      filenameTemplate(o, "topic");
    } catch (e) {
      throw new OptionsError((e as Error).message);
    }
    return o;
  },
);

export type ToFileOptions = ReturnType<typeof toFileSpec.validate>;
