import { setTimeout as sleep } from "node:timers/promises";
import { markCpu, readLoopDelay, type CpuMark, type LoopDelay } from "./backup-api.js";
import type { BenchOptions } from "./options.js";
import { median, round } from "./stats.js";
import { MIN_ACCEPTED_SHARE } from "./submit-phase.js";
import type { Target } from "./targets.js";
import { runLoad, type LoadResult } from "./wrk.js";

/** One window of saturating submit load, beside whatever a phase runs in it. */
export interface LoadWindow {
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** The slowest request: a stall of the event loop shows here whatever the percentiles say. */
  maxMs: number;
  requests: number;
  acceptedShare: number;
  serverCpuCores: number;
  /** The part of it on the event loop's thread: the rest is worker threads, libuv's and V8's. */
  mainThreadCores: number;
  loop: LoopDelay;
}

/** Medians over the rounds of one condition. */
export interface WindowSummary {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverCpuCores: number;
  mainThreadCores: number;
  loopMaxMs: number;
  loopP99Ms: number;
}

/**
 * One window of the submit load of the submit phase (wrk, closed loop, saturating) against
 * `target`: `onStart` runs when the warm-up ends, when the CPU and the event loop's delay start to
 * be counted, and the window ends early once `stopWhen` says so (polled every 200 ms).
 */
export async function loadWindow(
  target: Target,
  options: BenchOptions,
  durationSec: number,
  prefix: string,
  onStart: () => Promise<void> = () => Promise.resolve(),
  stopWhen?: () => Promise<boolean>,
): Promise<LoadWindow> {
  let from: CpuMark | undefined;
  const started = (async () => {
    await sleep(options.warmupSec * 1000);
    await readLoopDelay(target);
    from = markCpu(target);
    await onStart();
  })();
  // Awaited once the load is over; a failure before then must not count as unhandled.
  started.catch(() => undefined);
  const load = await runLoad({
    url: target.url,
    token: target.token,
    connections: options.connections,
    threads: options.threads,
    warmupSec: options.warmupSec,
    durationSec,
    prefix,
    stopWhen,
  });
  await started;
  const to = markCpu(target);
  return windowOf(load, from!, to, await readLoopDelay(target));
}

function windowOf(load: LoadResult, from: CpuMark, to: CpuMark, loop: LoopDelay): LoadWindow {
  const seconds = (to.at - from.at) / 1000;
  return {
    seconds: round(load.seconds, 2),
    rps: round(load.rps, 1),
    p50Ms: load.latencyMs.p50,
    p99Ms: load.latencyMs.p99,
    maxMs: load.latencyMs.max,
    requests: load.requests,
    acceptedShare: round(load.acceptedShare, 5),
    serverCpuCores: round((to.server - from.server) / seconds, 3),
    mainThreadCores: round((to.mainThread - from.mainThread) / seconds, 3),
    loop,
  };
}

/** Medians over the windows of one condition. */
export function summarizeWindows(windows: LoadWindow[]): WindowSummary {
  const of = (f: (w: LoadWindow) => number, digits: number): number => round(median(windows.map(f)), digits);
  return {
    rps: of((w) => w.rps, 1),
    p50Ms: of((w) => w.p50Ms, 3),
    p99Ms: of((w) => w.p99Ms, 3),
    maxMs: of((w) => w.maxMs, 3),
    serverCpuCores: of((w) => w.serverCpuCores, 3),
    mainThreadCores: of((w) => w.mainThreadCores, 3),
    loopMaxMs: of((w) => w.loop.maxMs, 1),
    loopP99Ms: of((w) => w.loop.p99Ms, 1),
  };
}

/** One line for the log: throughput, latency, CPU and the event loop's worst delay. */
export function describeWindow(w: LoadWindow): string {
  return (
    `${w.rps.toFixed(0)} req/s over ${w.seconds.toFixed(1)} s, p50 ${w.p50Ms} ms, p99 ${w.p99Ms} ms, max ${w.maxMs} ms, ` +
    `server ${w.serverCpuCores.toFixed(2)} cores (main thread ${w.mainThreadCores.toFixed(2)}), event loop max ${w.loop.maxMs} ms`
  );
}

/**
 * Throws unless every window had at least {@link MIN_ACCEPTED_SHARE} of its requests accepted: a
 * window of refusals would measure the refusals.
 */
export function requireAccepted(phase: string, windows: readonly LoadWindow[]): void {
  for (const window of windows) {
    if (window.acceptedShare < MIN_ACCEPTED_SHARE)
      throw new Error(`${phase}: only ${(window.acceptedShare * 100).toFixed(2)}% of requests were accepted`);
  }
}
