/**
 * A preload for a server under a benchmark (`--node-flags="--import tsx --import <this file>"`): a
 * timer every millisecond notes each gap of more than 8 ms between two of its runs (the event loop held, or
 * the process not running), and at exit writes them to `$TMPDIR/gaps-<pid>.json` as
 * `[start, length]` pairs in microseconds of the monotonic clock a `.cpuprofile` uses, for
 * bench/profile-gaps.ts to line up with the profile.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const GAP_US = 8_000;
const gaps: [number, number][] = [];
let last = process.hrtime.bigint();
setInterval(() => {
  const now = process.hrtime.bigint();
  const gapUs = Number(now - last) / 1_000;
  if (gapUs > GAP_US) gaps.push([Number(last / 1_000n), gapUs]);
  last = now;
}, 1).unref();
const write = () => writeFileSync(join(tmpdir(), `gaps-${process.pid}.json`), JSON.stringify(gaps));
process.on("exit", write);
for (const signal of ["SIGTERM", "SIGINT"] as const) process.prependListener(signal, write);
