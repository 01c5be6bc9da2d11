/**
 * Loaded into a server under test (`node --import tsx --import bench/allocation-sampler.ts …`)
 * by bench/allocations.ts, which drives it with SIGUSR2: each signal does what the driver last
 * wrote to `<tmpdir>/opsguard-allocations-<pid>.mode` (`{"action": …}`), and writes a profile,
 * when there is one, to `<tmpdir>/opsguard-allocations-<pid>.json`.
 *
 * - `start` starts V8's sampling heap profiler. By default it counts every object allocated, the
 *   ones garbage collection has since freed too (what starts a scavenge is every byte allocated,
 *   not only what stays); with `"live": true`, only the objects still alive when it is read.
 * - `read` writes the profile so far and keeps sampling; `stop` writes it and stops.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Mode {
  action: "start" | "read" | "stop";
  live?: boolean;
  interval?: number;
}

const session = new Session();
session.connect();
const base = join(tmpdir(), `opsguard-allocations-${process.pid}`);

process.on("SIGUSR2", () => {
  const mode = JSON.parse(readFileSync(`${base}.mode`, "utf8")) as Mode;
  if (mode.action === "start") {
    session.post("HeapProfiler.startSampling", {
      samplingInterval: mode.interval ?? 4096,
      includeObjectsCollectedByMajorGC: !mode.live,
      includeObjectsCollectedByMinorGC: !mode.live,
    });
    return;
  }
  const method = mode.action === "read" ? "HeapProfiler.getSamplingProfile" : "HeapProfiler.stopSampling";
  session.post(method, (error, result) => {
    if (error) throw error;
    writeFileSync(`${base}.json`, JSON.stringify((result as { profile: unknown }).profile));
  });
});
