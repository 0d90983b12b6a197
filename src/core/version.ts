/**
 * Version constants: the NSQ release we are compatible with (reported wherever NSQ reports its version:
 * `/info`, `/ping` headers, IDENTIFY) and this package's own version.
 * @module
 */
import pkg from "../../package.json" with { type: "json" };

/** The NSQ version we behave like; nsqadmin and clients parse it as semver. */
export const NSQ_VERSION = "1.3.0";

/** This implementation's version (package.json). */
export const VERSION: string = pkg.version;

/**
 * The `--version` line of a program, NSQ's `nsqd v1.3.0 (built w/go1.x)` with our build facts.
 * @example versionString("nsqd") // "nsqd v1.3.0 (nsq 0.1.0, bun 1.4.5)"
 */
export function versionString(program: string): string {
  return `${program} v${NSQ_VERSION} (nsq ${VERSION}, bun ${Bun.version})`;
}
