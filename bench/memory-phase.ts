import { setTimeout as sleep } from "node:timers/promises";
import type { TelemetryEndpoints } from "./config.js";
import type { BenchOptions } from "./options.js";
import { sumOf } from "./prometheus.js";
import { startSink, type Sink } from "./sinks.js";
import { round, slope } from "./stats.js";
import { freePort, startOpsguard, type Target } from "./targets.js";
import { runLoad } from "./wrk.js";

/** Operations of the memory phases close after this long (the supervisor times them out). */
const LIFETIME_SEC = 1;
const MB = 1024 * 1024;

/** One RSS reading, seconds after the warm-up ended. */
export interface RssSample {
  atSec: number;
  rssMb: number;
}

export interface OperationsMemory {
  /** Operations the server accepted (its own count; the load stops just past the target). */
  operations: number;
  seconds: number;
  rps: number;
  acceptedShare: number;
  /** RSS when the server was ready, when the last operation was accepted, and once all had closed. */
  rssReadyMb: number;
  rssAfterLoadMb: number;
  rssAfterCloseMb: number;
  rssPeakMb: number;
  /** V8 heap in use once all had closed (`nodejs_heap_size_used_bytes`). */
  heapUsedMb: number;
}

export interface OutageMemory {
  /** What the exporters were pointed at. */
  endpoints: "hanging" | "closed-port";
  seconds: number;
  rps: number;
  acceptedShare: number;
  samples: RssSample[];
  /**
   * Theil–Sen slope of RSS over every sample, MB per minute. The buffers are full within a second
   * of the outage, long before sampling starts, so the whole sampled time is the steady state.
   */
  slopeMbPerMin: number;
  /** What the server counted as dropped (`opsguard_telemetry_dropped_total`). */
  droppedSpans: number;
  droppedLogLines: number;
}

export interface MemoryResults {
  operations: OperationsMemory;
  outages: OutageMemory[];
}

/**
 * Phase 6, over HTTP against `opsguard serve` with everything on. First `operations` submits
 * (each operation closed by the supervisor a second after it opened, so the open set stays small
 * and what remains is what the service keeps per operation, if anything); then, for each kind of
 * outage, two minutes of the same load with both exporters pointed at a receiver that accepts and
 * never answers, and at a closed port, sampling RSS every few seconds after a warm-up under the
 * same conditions.
 */
export async function runMemoryPhase(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<MemoryResults> {
  const operations = await measureOperations(options);
  log(
    `memory: ${operations.operations} operations at ${operations.rps.toFixed(0)}/s, RSS ${operations.rssReadyMb} → ` +
      `${operations.rssAfterLoadMb} → ${operations.rssAfterCloseMb} MB (peak ${operations.rssPeakMb})`,
  );
  const outages: OutageMemory[] = [];
  for (const endpoints of ["hanging", "closed-port"] as const) {
    const outage = await measureOutage(endpoints, options);
    outages.push(outage);
    log(
      `memory, exporters ${endpoints}: RSS ${outage.samples.map((s) => s.rssMb).join(" ")} MB; ` +
        `slope ${outage.slopeMbPerMin} MB/min; dropped ${outage.droppedSpans} spans, ` +
        `${outage.droppedLogLines} lines`,
    );
  }
  return { operations, outages };
}

async function measureOperations(options: BenchOptions): Promise<OperationsMemory> {
  const otlp = await startSink("otlp", "ok");
  const loki = await startSink("loki", "ok");
  const target = await startOpsguard("memory", { traces: otlp.url, loki: loki.url });
  try {
    const rssReady = target.rssBytes();
    let peak = rssReady;
    const sampler = setInterval(() => (peak = Math.max(peak, target.rssBytes())), 1000);
    const accepted = async (): Promise<number> =>
      (await target.get<{ usage: { dailyOperations: number } }>("/v1/risk")).usage.dailyOperations;
    const load = await runLoad({
      ...loadOf(target, options),
      warmupSec: 0,
      // An upper bound: the run stops as soon as the server has accepted enough.
      durationSec: Math.ceil(options.operations / 100) + 60,
      prefix: "m",
      stopWhen: async () => (await accepted()) >= options.operations,
    });
    clearInterval(sampler);
    const rssAfterLoad = target.rssBytes();
    await waitUntil(
      async () =>
        (await target.get<{ usage: { openOperations: number } }>("/v1/risk")).usage.openOperations === 0,
      60_000,
    );
    await sleep(2000);
    const samples = await target.metrics();
    return {
      operations: await accepted(),
      seconds: round(load.seconds, 1),
      rps: round(load.rps, 1),
      acceptedShare: round(load.acceptedShare, 5),
      rssReadyMb: mb(rssReady),
      rssAfterLoadMb: mb(rssAfterLoad),
      rssAfterCloseMb: mb(target.rssBytes()),
      rssPeakMb: mb(Math.max(peak, rssAfterLoad)),
      heapUsedMb: mb(sumOf(samples, "nodejs_heap_size_used_bytes")),
    };
  } finally {
    await target.stop();
    await otlp.close();
    await loki.close();
  }
}

async function measureOutage(
  endpoints: OutageMemory["endpoints"],
  options: BenchOptions,
): Promise<OutageMemory> {
  const sinks: Sink[] = [];
  let telemetry: TelemetryEndpoints;
  if (endpoints === "hanging") {
    sinks.push(await startSink("otlp", "hang"), await startSink("loki", "hang"));
    telemetry = { traces: sinks[0]!.url, loki: sinks[1]!.url };
  } else {
    telemetry = {
      traces: `http://127.0.0.1:${await freePort()}/v1/traces`,
      loki: `http://127.0.0.1:${await freePort()}`,
    };
  }
  const target = await startOpsguard(`outage (${endpoints})`, telemetry);
  try {
    const rss: RssSample[] = [];
    let started = 0;
    const sample = (): void => {
      rss.push({ atSec: round((performance.now() - started) / 1000, 1), rssMb: mb(target.rssBytes()) });
    };
    let sampler: NodeJS.Timeout | undefined;
    // The sampling starts after the warm-up: a fresh process grows its heap to its working size
    // under load whether or not the exporters answer, and that growth is not the outage's.
    const warmed = setTimeout(() => {
      started = performance.now();
      sample();
      sampler = setInterval(sample, options.sampleEverySec * 1000);
    }, options.outageWarmupSec * 1000);
    const load = await runLoad({
      ...loadOf(target, options),
      warmupSec: options.outageWarmupSec,
      durationSec: options.outageSec,
      prefix: "o",
    });
    clearTimeout(warmed);
    clearInterval(sampler);
    sample();
    const metrics = await target.metrics();
    return {
      endpoints,
      seconds: round(load.seconds, 1),
      rps: round(load.rps, 1),
      acceptedShare: round(load.acceptedShare, 5),
      samples: rss,
      slopeMbPerMin: round(slope(rss.map((s) => ({ x: s.atSec / 60, y: s.rssMb }))), 2),
      droppedSpans: sumOf(metrics, "opsguard_telemetry_dropped_total", { signal: "traces" }),
      droppedLogLines: sumOf(metrics, "opsguard_telemetry_dropped_total", { signal: "logs" }),
    };
  } finally {
    await target.stop();
    for (const sink of sinks) await sink.close();
  }
}

function loadOf(target: Target, options: BenchOptions) {
  return {
    url: target.url,
    token: target.token,
    connections: options.connections,
    threads: options.threads,
    maxDurationSec: LIFETIME_SEC,
  };
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms`);
    await sleep(250);
  }
}

const mb = (bytes: number): number => round(bytes / MB, 1);
