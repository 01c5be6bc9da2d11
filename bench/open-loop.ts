import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { readLoopDelay, type LoopDelay } from "./backup-api.js";
import { sumOf } from "./prometheus.js";
import type { BenchOptions, Variant } from "./options.js";
import { startSink } from "./sinks.js";
import { percentile, round } from "./stats.js";
import { startVariant } from "./submit-phase.js";
import { ROOT, type Target } from "./targets.js";

/** One load of the open-loop phase: one request at a time, or a fixed rate. */
export interface OpenLoad {
  name: string;
  mode: "lone" | "rate";
  rate: number;
}

/** Latency of one run, from each request's due time to the end of its answer. */
export interface OpenRun {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Share of answers that were 201. */
  acceptedShare: number;
  /** How late the generator sent its most late request: above a millisecond or two, it was the limit. */
  sendLagMaxMs: number;
  /** The server's event-loop delay over the run (opsguard only; prom-client's 10 ms resolution). */
  loop?: LoopDelay;
  /** Garbage-collection pauses over the run (opsguard only), from its `nodejs_gc_duration_seconds`. */
  gc?: GcPauses;
  /**
   * The server's CPU over the run, warm-up included (from `/proc`): its main thread's share of the
   * wall time (how busy the event loop was; the closer to 1, the longer every queue behind a
   * stall), and the whole process's, in cores (with GC helpers, SQLite's checkpoint thread, …).
   */
  cpu?: { mainThread: number; process: number };
}

/** Garbage-collection pauses, counted by the server itself. */
export interface GcCount {
  count: number;
  totalMs: number;
  /** Pauses longer than 10 ms (the histogram's bucket), each a stall of every request behind it. */
  over10Ms: number;
}

/** Pauses of all kinds, and of each kind V8 names (`minor` scavenges, `major` mark-compacts, …). */
export interface GcPauses extends GcCount {
  kinds: Record<string, GcCount>;
}

/** The server's garbage-collection pauses so far (cumulative: subtract two readings). */
async function readGc(target: Target): Promise<GcPauses> {
  const samples = await target.metrics();
  const countOf = (match: Record<string, string>): GcCount => {
    const count = sumOf(samples, "nodejs_gc_duration_seconds_count", match);
    return {
      count,
      totalMs: sumOf(samples, "nodejs_gc_duration_seconds_sum", match) * 1000,
      over10Ms: count - sumOf(samples, "nodejs_gc_duration_seconds_bucket", { ...match, le: "0.01" }),
    };
  };
  const kinds = new Set(
    samples.filter((s) => s.name === "nodejs_gc_duration_seconds_count").map((s) => s.labels.kind!),
  );
  return { ...countOf({}), kinds: Object.fromEntries([...kinds].map((kind) => [kind, countOf({ kind })])) };
}

/** What happened between two readings of {@link readGc}. */
function gcBetween(before: GcPauses, after: GcPauses): GcPauses {
  const diff = (a: GcCount, b: GcCount | undefined): GcCount => ({
    count: a.count - (b?.count ?? 0),
    totalMs: round(a.totalMs - (b?.totalMs ?? 0), 1),
    over10Ms: a.over10Ms - (b?.over10Ms ?? 0),
  });
  const kinds = Object.entries(after.kinds)
    .map(([kind, count]) => [kind, diff(count, before.kinds[kind])] as const)
    .filter(([, count]) => count.count > 0);
  return { ...diff(after, before), kinds: Object.fromEntries(kinds) };
}

export interface OpenLoopResult {
  load: OpenLoad;
  bare: OpenRun;
  /** opsguard with everything on. */
  opsguard: OpenRun;
  /** The other variants asked for (`--variants`): what each telemetry signal costs the tail. */
  more: Partial<Record<Variant, OpenRun>>;
}

interface ClientOutput {
  latenciesMs: number[];
  statuses: Record<string, number>;
  sendLagMaxMs: number;
}

/** Runs bench/open-loop-client.ts against `target` and summarizes what it measured. */
export async function runClient(
  target: Target,
  load: OpenLoad,
  options: BenchOptions,
  prefix: string,
): Promise<OpenRun> {
  const job = {
    url: target.url,
    token: target.token,
    mode: load.mode,
    rate: load.rate,
    gapMs: 2,
    durationSec: options.openDurationSec,
    warmupSec: options.warmupSec,
    connections: 64,
    prefix,
  };
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "bench", "open-loop-client.ts"), JSON.stringify(job)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`the open-loop client exited with ${String(code)}`);
  const out = JSON.parse(stdout.trim().split("\n").at(-1)!) as ClientOutput;
  const sorted = [...out.latenciesMs].sort((a, b) => a - b);
  const requests = sorted.length;
  return {
    requests,
    p50Ms: round(percentile(sorted, 50), 3),
    p99Ms: round(percentile(sorted, 99), 3),
    p999Ms: round(percentile(sorted, 99.9), 3),
    maxMs: round(sorted.at(-1) ?? 0, 3),
    acceptedShare: requests === 0 ? 0 : round((out.statuses["201"] ?? 0) / requests, 5),
    sendLagMaxMs: round(out.sendLagMaxMs, 3),
  };
}

/**
 * Phase 10: latency at the load a strategy sends, not at saturation. Each load (one request at a
 * time 2 ms apart; 500 and 1,000 req/s) is sent on a schedule by an open-loop client in a process
 * of its own, against the bare Hono route (the floor), the same route with the commits an
 * operation's durability asks for (`bench/durable-target.ts`) and against opsguard with everything on
 * (traces, 100% sampled, and logs to local sinks that answer at once), each on a fresh server;
 * and against each other variant of `--variants` (quiet, traces, logs, unsampled, sampled10).
 */
export async function runOpenLoopPhase(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<OpenLoopResult[]> {
  const otlp = await startSink("otlp", "ok");
  const loki = await startSink("loki", "ok");
  const loads: OpenLoad[] = [
    { name: "one at a time, 2 ms apart", mode: "lone", rate: 0 },
    ...options.openRates.map((rate) => ({ name: `${rate} req/s`, mode: "rate" as const, rate })),
  ];
  const results: OpenLoopResult[] = [];
  try {
    const variants: Variant[] = [
      "bare",
      "durable",
      "full",
      ...options.variants.filter((v) => v !== "bare" && v !== "durable" && v !== "full"),
    ];
    for (const [i, load] of loads.entries()) {
      const runs: Partial<Record<Variant, OpenRun>> = {};
      for (const variant of variants) {
        const target = await startVariant(variant, `${variant} (open loop)`, { otlp, loki });
        try {
          const opsguard = variant !== "bare" && variant !== "durable";
          if (opsguard) await readLoopDelay(target); // resets the histogram: what follows is the run's
          const gcBefore = opsguard ? await readGc(target) : undefined;
          const cpuBefore = {
            main: target.mainThreadCpuSeconds(),
            all: target.cpuSeconds(),
            at: performance.now(),
          };
          const run = await runClient(target, load, options, `${variant}-${i}`);
          const wallSec = (performance.now() - cpuBefore.at) / 1000;
          run.cpu = {
            mainThread: round((target.mainThreadCpuSeconds() - cpuBefore.main) / wallSec, 3),
            process: round((target.cpuSeconds() - cpuBefore.all) / wallSec, 3),
          };
          if (opsguard) run.loop = await readLoopDelay(target);
          if (gcBefore) run.gc = gcBetween(gcBefore, await readGc(target));
          runs[variant] = run;
        } finally {
          await target.stop();
        }
      }
      const { bare, full, ...more } = runs;
      results.push({ load, bare: bare!, opsguard: full!, more });
      for (const [variant, run] of Object.entries(runs))
        log(
          `open loop, ${load.name}, ${variant}: p50 ${run.p50Ms} / p99 ${run.p99Ms} / p99.9 ${run.p999Ms} ms` +
            (run.loop ? ` (event loop max ${run.loop.maxMs} ms)` : "") +
            (run.cpu
              ? `, main thread busy ${Math.round(run.cpu.mainThread * 100)}%, ${run.cpu.process} cores`
              : "") +
            (run.gc
              ? `, GC ${run.gc.count} pauses, ${run.gc.totalMs} ms, ${run.gc.over10Ms} over 10 ms (` +
                Object.entries(run.gc.kinds)
                  .map(([kind, k]) => `${kind}: ${k.count}, ${k.totalMs} ms, ${k.over10Ms} over 10 ms`)
                  .join("; ") +
                ")"
              : ""),
        );
    }
  } finally {
    await otlp.close();
    await loki.close();
  }
  return results;
}
