/**
 * Finds the event loop's long busy stretches in a V8 `.cpuprofile` and says what ran in each: a
 * stretch is a run of samples with no `(idle)` sample between them, so under an open-loop load
 * (where the loop idles between requests) a stretch longer than a few milliseconds is a stall
 * that requests queued behind. For each stretch it lists the functions with the most time in it
 * (self plus callees, counted once per sample) below the event loop's own frames, and over all
 * stretches which functions account for the stalled time.
 *
 * Usage: `tsx bench/profile-stalls.ts <file.cpuprofile> [minimum ms, 10] [stretches shown, 15]`.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { CpuProfile } from "./profile-top.js";
import { nameOf } from "./profile-top.js";

/** One long busy stretch. */
export interface Stall {
  /** Milliseconds from the profile's start. */
  atMs: number;
  ms: number;
  /** Functions by time within the stretch (total, each sample counted once per function). */
  top: { name: string; ms: number }[];
}

/** Frames that are on every stack and say nothing about what ran. */
const ROOTS = new Set(["(root)", "(program)", "processTicksAndRejections", "listOnTimeout", "processTimers"]);

/** The busy stretches of at least `minimumMs`, in order, with what ran in each. */
export function findStalls(profile: CpuProfile, minimumMs: number): Stall[] {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const names = new Map(profile.nodes.map((node) => [node.id, nameOf(node)]));
  const stalls: Stall[] = [];
  let at = 0;
  let start = 0;
  let stretch: number[] = [];
  let weights: number[] = [];
  const close = (): void => {
    const us = weights.reduce((sum, w) => sum + w, 0);
    if (us >= minimumMs * 1000)
      stalls.push({ atMs: start / 1000, ms: us / 1000, top: topOf(stretch, weights) });
    stretch = [];
    weights = [];
  };
  const topOf = (samples: number[], sampleUs: number[]): { name: string; ms: number }[] => {
    const total = new Map<string, number>();
    samples.forEach((id, i) => {
      const seen = new Set<string>();
      for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
        const name = names.get(node)!;
        if (ROOTS.has(name.split(" ")[0]!) || seen.has(name)) continue;
        seen.add(name);
        total.set(name, (total.get(name) ?? 0) + sampleUs[i]!);
      }
    });
    return [...total]
      .map(([name, us]) => ({ name, ms: us / 1000 }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 8);
  };
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (names.get(id)!.startsWith("(idle)")) {
      close();
      return;
    }
    if (stretch.length === 0) start = at - us;
    stretch.push(id);
    weights.push(us);
  });
  close();
  return stalls;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, minimum = "10", shown = "15"] = process.argv.slice(2);
  if (!file) throw new Error("usage: tsx bench/profile-stalls.ts <file.cpuprofile> [minimum ms] [shown]");
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const stalls = findStalls(profile, Number(minimum));
  const overall = new Map<string, number>();
  for (const stall of stalls)
    for (const { name, ms } of stall.top) overall.set(name, (overall.get(name) ?? 0) + ms);
  const stalledMs = stalls.reduce((sum, stall) => sum + stall.ms, 0);
  console.log(`${stalls.length} busy stretches of ${minimum} ms or more, ${stalledMs.toFixed(0)} ms in all`);
  for (const stall of [...stalls].sort((a, b) => b.ms - a.ms).slice(0, Number(shown))) {
    console.log(`\n${stall.ms.toFixed(1)} ms at ${(stall.atMs / 1000).toFixed(3)} s`);
    for (const { name, ms } of stall.top) console.log(`  ${ms.toFixed(1).padStart(7)} ms  ${name}`);
  }
  console.log("\nover all stretches (time among each stretch's top functions)");
  for (const [name, ms] of [...overall].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${ms.toFixed(0).padStart(7)} ms  ${name}`);
  }
}
