/**
 * Lines up the event-loop gaps that bench/gap-probe.mjs noted with the `.cpuprofile` of the same
 * process, and says for each what ran in it and how much of it the process ran at all: a gap of
 * 20 ms with 20 samples is the loop held by work, one with 5 samples is mostly time the process
 * was not on a CPU (the profiler's sampling thread did not run either), waiting for a core.
 *
 * Usage: `tsx bench/profile-gaps.ts <file.cpuprofile> <gaps-<pid>.json> [minimum ms, 8] [shown, 30]`;
 * the longest gaps first (the first is the server's start, its modules loading).
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { nameOf, type CpuProfile } from "./profile-top.js";

/** Frames on every stack, or plumbing, that say nothing about what ran. */
const PLUMBING =
  /^(\(root\)|\(program\)|\(idle\)|processTicksAndRejections|runMicrotasks|runNextTicks|listOnTimeout|processTimers|processImmediate|emit |with |startActiveSpan|inSpanSync|dbWrite|sqliteTransaction|\(anonymous\) node:)/;

/** One gap: when it began (s from the profile's start), its length, samples in it, what ran. */
export interface Gap {
  atSec: number;
  ms: number;
  samples: number;
  top: { name: string; samples: number }[];
}

export function lineUp(
  profile: CpuProfile & { startTime: number },
  gaps: [number, number][],
  minimumMs: number,
): Gap[] {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const names = new Map(profile.nodes.map((node) => [node.id, nameOf(node)]));
  const times: number[] = [];
  let at = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((at += delta));
  return gaps
    .filter(([, us]) => us >= minimumMs * 1000)
    .map(([start, us]) => {
      const counts = new Map<string, number>();
      let samples = 0;
      times.forEach((time, i) => {
        if (time < start || time > start + us || names.get(profile.samples[i]!) === "(idle)") return;
        samples++;
        const seen = new Set<string>();
        for (let node: number | undefined = profile.samples[i]; node !== undefined; node = parent.get(node)) {
          const name = names.get(node)!;
          if (seen.has(name) || PLUMBING.test(name)) continue;
          seen.add(name);
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
      });
      const top = [...counts]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([name, count]) => ({ name, samples: count }));
      return { atSec: (start - profile.startTime) / 1e6, ms: us / 1000, samples, top };
    });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [profileFile, gapsFile, minimum = "8", shown = "30"] = process.argv.slice(2);
  if (!profileFile || !gapsFile)
    throw new Error("usage: tsx bench/profile-gaps.ts <file.cpuprofile> <gaps.json> [minimum ms] [shown]");
  const profile = JSON.parse(readFileSync(profileFile, "utf8")) as CpuProfile & { startTime: number };
  const gaps = lineUp(
    profile,
    JSON.parse(readFileSync(gapsFile, "utf8")) as [number, number][],
    Number(minimum),
  );
  const interval =
    profile.timeDeltas.length > 0
      ? profile.timeDeltas.reduce((a, b) => a + b, 0) / profile.timeDeltas.length / 1000
      : 1;
  const ran = gaps.reduce((sum, gap) => sum + gap.samples * interval, 0);
  const total = gaps.reduce((sum, gap) => sum + gap.ms, 0);
  console.log(
    `${gaps.length} gaps of ${minimum} ms or more, ${total.toFixed(0)} ms in all; the process ran about ${ran.toFixed(0)} ms of them`,
  );
  for (const gap of [...gaps].sort((a, b) => b.ms - a.ms).slice(0, Number(shown))) {
    const what = gap.top.map(
      ({ name, samples }) => `${samples} ${name.replace(/ (dist|node_modules|src)\/.*$/, "")}`,
    );
    console.log(
      `${gap.ms.toFixed(1).padStart(6)} ms at ${gap.atSec.toFixed(2)} s, ${gap.samples} samples: ${what.join(" | ")}`,
    );
  }
}
