#!/usr/bin/env bun
/**
 * `nsq`: NSQ's programs in one executable. `nsq <command> [flags]`, or run it through a link named after
 * an NSQ program (`nsqd`, `nsqlookupd`, `nsqadmin`, `nsq_tail`, `to_nsq`, `nsq_stat`, `nsq_to_file`,
 * `nsq_to_http`, `nsq_to_nsq`, `bench_writer`, `bench_reader`) to be that program.
 * Each command parses its own flags exactly like NSQ's Go binaries; citty only renders the top-level help.
 * @module
 */
import { basename } from "node:path";
import { VERSION, versionString } from "../src/core/version.ts";

type Main = (argv: readonly string[]) => Promise<void>;

interface Command {
  /** NSQ's executable name: an alias, and the link name that runs this command directly. */
  readonly program: string;
  readonly description: string;
  readonly load: () => Promise<{ default: Main }>;
}

const COMMANDS: Record<string, Command> = {
  nsqd: {
    program: "nsqd",
    description: "the daemon that receives, queues and delivers messages",
    load: () => import("./commands/nsqd.ts"),
  },
  lookupd: {
    program: "nsqlookupd",
    description: "the daemon that manages topology information",
    load: () => import("./commands/lookupd.ts"),
  },
  admin: {
    program: "nsqadmin",
    description: "web UI to view aggregated cluster stats and perform administrative tasks",
    load: () => import("./commands/admin.ts"),
  },
  tail: {
    program: "nsq_tail",
    description: "consume a topic and write messages to stdout",
    load: () => import("./commands/tail.ts"),
  },
  "to-nsq": {
    program: "to_nsq",
    description: "publish stdin, split on a delimiter, to nsqd",
    load: () => import("./commands/to-nsq.ts"),
  },
  stat: {
    program: "nsq_stat",
    description: "poll /stats of a topic/channel's producers and print aggregate stats",
    load: () => import("./commands/stat.ts"),
  },
  "to-file": {
    program: "nsq_to_file",
    description: "consume topics and write them to files, rotated, optionally gzipped",
    load: () => import("./commands/to-file.ts"),
  },
  "to-http": {
    program: "nsq_to_http",
    description: "consume a topic and make an HTTP request (GET or POST) per message",
    load: () => import("./commands/to-http.ts"),
  },
  "nsq-to-nsq": {
    program: "nsq_to_nsq",
    description: "consume topics and re-publish their messages to other nsqd",
    load: () => import("./commands/nsq-to-nsq.ts"),
  },
  bench: {
    program: "bench",
    description: "NSQ's bench tools: writer (bench_writer), reader (bench_reader), latency",
    load: () => import("./commands/bench.ts"),
  },
};

/** NSQ programs that are one tool of a command: the name, and the command line it stands for. */
const TOOL_PROGRAMS: Record<string, readonly [command: string, ...args: string[]]> = {
  bench_writer: ["bench", "writer"],
  bench_reader: ["bench", "reader"],
};

/** A program name (`nsqd`, `bench_writer`) as the command and the arguments that go before the user's. */
function program(name: string): [Command, string[]] | undefined {
  const tool = Object.hasOwn(TOOL_PROGRAMS, name) ? TOOL_PROGRAMS[name] : undefined;
  if (tool) return [COMMANDS[tool[0]]!, tool.slice(1)];
  const command = Object.values(COMMANDS).find((c) => c.program === name);
  return command && [command, []];
}

function find(name: string): [Command, string[]] | undefined {
  return Object.hasOwn(COMMANDS, name) ? [COMMANDS[name]!, []] : program(name);
}

/** The program a link was named after. Compiled, argv0 is the link's name; under `bun cli/nsq.ts`, argv0 set with `exec -a` or a copy of the script named after the program. */
function invokedAs(): [Command, string[]] | undefined {
  for (const path of [process.argv0, process.argv[1] ?? ""]) {
    const found = program(basename(path).replace(/\.(exe|ts|js)$/, ""));
    if (found) return found;
  }
  return undefined;
}

async function start(command: Command, argv: readonly string[]): Promise<void> {
  const { default: main } = await command.load();
  await main(argv);
}

async function root(argv: string[]): Promise<void> {
  if (argv.length === 1 && ["--version", "-version", "-v"].includes(argv[0]!)) {
    console.log(versionString("nsq"));
    return;
  }
  // citty decides on colours when it loads; keep escape codes out of pipes and files.
  if (!process.stdout.isTTY || !process.stderr.isTTY) process.env.NO_COLOR ??= "1";
  const { defineCommand, runMain } = await import("citty");
  const main = defineCommand({
    meta: { name: "nsq", version: VERSION, description: "NSQ 1.3 realtime distributed messaging, one executable" },
    subCommands: Object.fromEntries(
      Object.entries(COMMANDS).map(([name, c]) => [
        name,
        defineCommand({
          meta: { name, alias: c.program === name ? [] : [c.program], description: c.description },
          run: ({ rawArgs }) => start(c, rawArgs),
        }),
      ]),
    ),
  });
  await runMain(main, {
    // Go-style single-dash help too.
    rawArgs: argv.map((a) => (a === "-help" ? "--help" : a)),
  });
}

const argv = process.argv.slice(2);
const direct = invokedAs();
const named = argv[0] === undefined ? undefined : find(argv[0]);
if (direct) await start(direct[0], [...direct[1], ...argv]);
else if (named) await start(named[0], [...named[1], ...argv.slice(1)]);
else await root(argv);
