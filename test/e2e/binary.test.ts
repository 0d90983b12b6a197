import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NSQ_VERSION, VERSION } from "../../src/core/version.ts";
import { PROGRAMS } from "../helpers/spawn.ts";

const ROOT = join(import.meta.dir, "../..");
const BIN = join(ROOT, "dist/nsq");
const dir = mkdtempSync(join(tmpdir(), "nsq-bin-"));
setDefaultTimeout(15_000);


function newestSource(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newestSource(join(path, name))));
}

beforeAll(() => {
  const built = (() => {
    try {
      return statSync(BIN).mtimeMs;
    } catch {
      return 0;
    }
  })();
  const sources = Math.max(...["cli", "src", "package.json", "scripts/build-binary.ts"].map((p) => newestSource(join(ROOT, p))));
  if (built < sources) {
    const r = Bun.spawnSync([process.execPath, "scripts/build-binary.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`build failed:\n${r.stderr.toString()}`);
  }
  for (const [, program] of PROGRAMS) symlinkSync(BIN, join(dir, program));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(bin: string, args: string[]) {
  const r = Bun.spawnSync([bin, ...args], { cwd: dir, stdout: "pipe", stderr: "pipe", timeout: 10_000 });
  return { stdout: r.stdout.toString(), stderr: r.stderr.toString(), code: r.exitCode };
}

const version = (program: string) => `${program} v${NSQ_VERSION} (nsq ${VERSION}, bun ${Bun.version})\n`;

describe("dist/nsq", () => {
  test("--help lists the subcommands; --version", () => {
    const help = run(BIN, ["--help"]);
    expect(help.code).toBe(0);
    for (const line of ["lookupd, nsqlookupd", "admin, nsqadmin", "tail, nsq_tail", "to-nsq, to_nsq", "stat, nsq_stat"]) {
      expect(help.stdout).toContain(line);
    }
    expect(run(BIN, ["--version"])).toEqual({ stdout: version("nsq"), stderr: "", code: 0 });
  });

  test.each(PROGRAMS)("nsq %s: --version and --help", (command, program) => {
    expect(run(BIN, [command, "--version"])).toEqual({ stdout: version(program), stderr: "", code: 0 });
    const help = run(BIN, [command, "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toStartWith(`Usage of ${program}:\n`);
  });

  test.each(PROGRAMS)("a symlink named %s runs that program", (_, program) => {
    const link = join(dir, program);
    expect(run(link, ["--version"])).toEqual({ stdout: version(program), stderr: "", code: 0 });
    expect(run(link, ["-h"]).stdout).toStartWith(`Usage of ${program}:\n`);
    const bad = run(link, ["--no-such-flag"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toStartWith(`flag provided but not defined: -no-such-flag\nUsage of ${program}:\n`);
  });

  test("nsqd starts from the binary and stops on SIGTERM", async () => {
    const proc = Bun.spawn(
      [join(dir, "nsqd"), "--tcp-address=127.0.0.1:0", "--http-address=", `--data-path=${join(dir, "data")}`],
      { cwd: dir, stdout: "ignore", stderr: "pipe" },
    );
    const reader = proc.stderr.getReader();
    let text = "";
    while (!/TCP: listening on 127\.0\.0\.1:\d+/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`nsqd exited early:\n${text}`);
      text += new TextDecoder().decode(value);
    }
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  });

  test("nsqadmin serves its pages and the assets embedded in the binary", async () => {
    const proc = Bun.spawn([join(dir, "nsqadmin"), "--http-address=127.0.0.1:0", "--nsqd-http-address=127.0.0.1:1"], {
      cwd: dir,
      stdout: "ignore",
      stderr: "pipe",
    });
    const reader = proc.stderr.getReader();
    let text = "";
    let m: RegExpExecArray | null = null;
    while ((m = /HTTP: listening on 127\.0\.0\.1:(\d+)/.exec(text)) === null) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`nsqadmin exited early:\n${text}`);
      text += new TextDecoder().decode(value);
    }
    const base = `http://127.0.0.1:${m[1]}`;
    const uplot = await fetch(`${base}/static/uPlot.iife.min.js`);
    expect(uplot.headers.get("content-type")).toStartWith("text/javascript");
    expect(await uplot.text()).toContain("uPlot");
    expect((await fetch(`${base}/static/app.css`)).status).toBe(200);
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(502);
    expect(await page.text()).toContain("nsqd at 127.0.0.1:1 unreachable: connection refused");
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
  });
});
