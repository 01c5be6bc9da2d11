/**
 * Loaded into a server under test (`node --import tsx --import bench/allocation-sampler.ts …`)
 * by bench/allocations.ts: the first SIGUSR2 starts V8's sampling heap profiler, keeping the
 * objects that garbage collection has since freed (what a scavenge has to deal with is every byte
 * allocated, not only what stays), and the second stops it and writes the profile to
 * `<tmpdir>/opsguard-allocations-<pid>.json`.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { tmpdir } from "node:os";
import { join } from "node:path";

const session = new Session();
session.connect();
let sampling = false;

process.on("SIGUSR2", () => {
  if (!sampling) {
    sampling = true;
    session.post("HeapProfiler.startSampling", {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    return;
  }
  sampling = false;
  session.post("HeapProfiler.stopSampling", (error, result) => {
    if (error) throw error;
    writeFileSync(join(tmpdir(), `opsguard-allocations-${process.pid}.json`), JSON.stringify(result.profile));
  });
});
