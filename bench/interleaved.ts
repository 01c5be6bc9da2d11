/**
 * Compares two builds of opsguard under the open-loop load, in windows that alternate between
 * them while both servers stay up: build A for a few seconds, then B, then B, then A, and so on.
 * The machine's speed drifts over minutes (two whole runs of phase 10 minutes apart differ by two
 * or three times in p99), and each window of one build here has a window of the other beside it,
 * in the same minute.
 *
 * Both run with everything on (traces 100% sampled and log lines to local sinks that answer at
 * once), each with a fresh data folder; the one not measured idles meanwhile. Each window reports
 * its latency and its server's main-thread busy share (the work per request, at a fixed rate).
 * The first pair of windows warms both up and is left out of the medians.
 *
 * Usage: `tsx bench/interleaved.ts <dist A> <dist B> [windows, 16] [req/s, 500] [seconds, 5]`,
 * each dist a build (`tsc -p tsconfig.build.json --outDir …`; see BENCHMARKS.md).
 */
import { pathToFileURL } from "node:url";
import { runClient, type OpenRun } from "./open-loop.js";
import { readOptions } from "./options.js";
import { startSink } from "./sinks.js";
import { median, round } from "./stats.js";
import { startOpsguard, useBuild, type Target } from "./targets.js";

/** One window of one build: its latency, and its main thread's share of the window's wall time. */
export interface Window extends OpenRun {
  mainThreadBusy: number;
}

/** What the comparison found: each build's windows, and how often B's p99 was the lower. */
export interface Interleaved {
  a: Window[];
  b: Window[];
  /** Windows (after the first) in which B's p99 was below A's. */
  bLower: number;
}

/** Runs `windows` pairs of windows of `seconds` at `rate` against builds `distA` and `distB`. */
export async function interleave(
  distA: string,
  distB: string,
  { windows, rate, seconds }: { windows: number; rate: number; seconds: number },
  log: (line: string) => void,
): Promise<Interleaved> {
  const otlp = await startSink("otlp", "ok");
  const loki = await startSink("loki", "ok");
  const servers: Target[] = [];
  try {
    const telemetry = { traces: otlp.url, loki: loki.url };
    useBuild(distA);
    servers.push(await startOpsguard("A", telemetry));
    useBuild(distB);
    servers.push(await startOpsguard("B", telemetry));
    const options = { ...readOptions([], {}), openDurationSec: seconds, warmupSec: 1 };
    const load = { name: `${rate} req/s`, mode: "rate" as const, rate };
    const runs: [Window[], Window[]] = [[], []];
    for (let window = 0; window < windows; window++) {
      const order = window % 2 === 0 ? [0, 1] : [1, 0];
      for (const which of order) {
        const server = servers[which]!;
        const cpuBefore = server.mainThreadCpuSeconds();
        const started = performance.now();
        const run = await runClient(server, load, options, `${"AB"[which]}${window}`);
        const mainThreadBusy = round(
          (server.mainThreadCpuSeconds() - cpuBefore) / ((performance.now() - started) / 1000),
          3,
        );
        runs[which]!.push({ ...run, mainThreadBusy });
        log(
          `window ${window} ${"AB"[which]}: p50 ${run.p50Ms} / p99 ${run.p99Ms} / p99.9 ${run.p999Ms} ms, ` +
            `main thread busy ${Math.round(mainThreadBusy * 100)}%`,
        );
      }
    }
    const [a, b] = runs.map((r) => r.slice(1));
    return { a: a!, b: b!, bLower: a!.filter((run, i) => b![i]!.p99Ms < run.p99Ms).length };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await Promise.all([otlp.close(), loki.close()]);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const [distA, distB, windows = "16", rate = "500", seconds = "5"] = process.argv.slice(2);
  if (!distA || !distB) {
    console.error("usage: tsx bench/interleaved.ts <dist A> <dist B> [windows] [req/s] [seconds]");
    process.exit(2);
  }
  const result = await interleave(
    distA,
    distB,
    { windows: Number(windows), rate: Number(rate), seconds: Number(seconds) },
    (line) => console.log(line),
  );
  for (const [name, runs] of [
    ["A", result.a],
    ["B", result.b],
  ] as const) {
    const of = (f: (run: Window) => number) => median(runs.map(f));
    console.log(
      `${name}: median of ${runs.length} windows p50 ${of((r) => r.p50Ms)} / p99 ${of((r) => r.p99Ms)} / p99.9 ${of((r) => r.p999Ms)} ms, ` +
        `main thread busy ${Math.round(of((r) => r.mainThreadBusy) * 100)}%`,
    );
  }
  console.log(`B's p99 below A's in ${result.bLower} of ${result.a.length} windows`);
}
