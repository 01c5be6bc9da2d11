import type { BenchOptions, Variant } from "./options.js";
import { sumOf } from "./prometheus.js";
import { startSink, type Sink } from "./sinks.js";
import { median, round } from "./stats.js";
import { startBare, startOpsguard, type Target } from "./targets.js";
import { runLoad } from "./wrk.js";

/** What each server is, for tables. */
export const VARIANT_NAMES: Record<Variant, string> = {
  bare: "bare Hono route (a)",
  durable: "bare route with opsguard's commits",
  full: "opsguard, traces and logs exported (b)",
  quiet: "opsguard, exporters off",
  traces: "opsguard, traces only",
  logs: "opsguard, logs only",
  unsampled: "opsguard, traces on, sample ratio 0",
  sampled10: "opsguard, traces and logs exported, 10% of traces sampled",
};

/** One measured run of one server. */
export interface RoundResult {
  round: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Answers of 400 or more, socket errors and timeouts, as wrk saw them. */
  failed: number;
  acceptedShare: number;
  /** CPU the server used during the run, in cores (1 = one core busy all the time). */
  serverCpuCores: number;
  /** opsguard only: answers to `POST /v1/operations` other than 201, counted by the server itself. */
  serverNon201?: number;
  /** full only: spans and log lines the sinks decoded, per operation submitted. */
  spansPerOperation?: number;
  logLinesPerOperation?: number;
  /** opsguard only: spans and log lines dropped (`opsguard_telemetry_dropped_total`). */
  droppedSpans?: number;
  droppedLogLines?: number;
}

/** Medians over the rounds of one server, and the worst accepted share. */
export interface VariantResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  acceptedShare: number;
  serverCpuCores: number;
  rounds: RoundResult[];
}

export interface SubmitResults {
  bare: VariantResult;
  full: VariantResult;
  quiet: VariantResult;
  /** The breakdown variants that were asked for. */
  more: Partial<Record<Exclude<Variant, "bare" | "full" | "quiet">, VariantResult>>;
  /** Median over rounds of full ÷ bare requests per second (each round pairs runs made minutes apart at most). */
  ratio: number;
  /** Median over rounds of 1 − full ÷ quiet: the share of throughput that exporting traces and logs costs. */
  telemetryCost: number;
}

/** The accepted share below which the benchmark fails: the load must be accepted, not rejected. */
export const MIN_ACCEPTED_SHARE = 0.999;

/**
 * Phases 1 and 2: the same wrk load against each server in turn, `rounds` times, the order
 * rotating each round so drifting noise hits every server alike. Each run gets a fresh process
 * and database, a warm-up that is discarded, then the measured run.
 */
export async function runSubmitPhase(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<SubmitResults> {
  const otlp = await startSink("otlp", "ok");
  const loki = await startSink("loki", "ok");
  const variants = [...new Set<Variant>(["bare", "full", "quiet", ...options.variants])];
  const results = Object.fromEntries(variants.map((v) => [v, [] as RoundResult[]])) as Record<
    Variant,
    RoundResult[]
  >;
  try {
    for (let r = 0; r < options.rounds; r++) {
      const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
      for (const variant of order) {
        const result = await measure(variant, r + 1, options, { otlp, loki });
        results[variant].push(result);
        log(
          `round ${r + 1} ${variant.padEnd(5)}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms} ms, ` +
            `p99 ${result.p99Ms} ms, accepted ${(result.acceptedShare * 100).toFixed(2)}%, ` +
            `server ${result.serverCpuCores.toFixed(2)} cores`,
        );
      }
    }
  } finally {
    await otlp.close();
    await loki.close();
  }
  for (const variant of variants) {
    const worst = Math.min(...results[variant].map((r) => r.acceptedShare));
    if (worst < MIN_ACCEPTED_SHARE)
      throw new Error(`${variant}: only ${(worst * 100).toFixed(2)}% of requests were accepted`);
  }
  const paired = (f: (i: number) => number): number => round(median(results.full.map((_, i) => f(i))), 4);
  return {
    bare: summarize(results.bare),
    full: summarize(results.full),
    quiet: summarize(results.quiet),
    more: Object.fromEntries(
      variants.filter((v) => !["bare", "full", "quiet"].includes(v)).map((v) => [v, summarize(results[v])]),
    ),
    ratio: paired((i) => results.full[i]!.rps / results.bare[i]!.rps),
    telemetryCost: paired((i) => 1 - results.full[i]!.rps / results.quiet[i]!.rps),
  };
}

async function measure(
  variant: Variant,
  roundNumber: number,
  options: BenchOptions,
  sinks: { otlp: Sink; loki: Sink },
): Promise<RoundResult> {
  const target = await start(variant, roundNumber, sinks);
  const before = { spans: sinks.otlp.items, lines: sinks.loki.items };
  try {
    const cpu = cpuMeter(target, options.warmupSec);
    const run = await runLoad({
      url: target.url,
      token: target.token,
      connections: options.connections,
      threads: options.threads,
      warmupSec: options.warmupSec,
      durationSec: options.durationSec,
      prefix: `r${roundNumber}`,
    });
    const result: RoundResult = {
      round: roundNumber,
      rps: round(run.rps, 1),
      p50Ms: run.latencyMs.p50,
      p99Ms: run.latencyMs.p99,
      requests: run.requests,
      failed: run.failed,
      acceptedShare: round(run.acceptedShare, 5),
      serverCpuCores: round(cpu.cores(), 3),
    };
    if (variant === "bare" || variant === "durable") return result;
    const samples = await target.metrics();
    const submits = { method: "POST", route: "/v1/operations" };
    result.serverNon201 =
      sumOf(samples, "opsguard_http_requests_total", submits) -
      sumOf(samples, "opsguard_http_requests_total", { ...submits, status: "201" });
    result.droppedSpans = sumOf(samples, "opsguard_telemetry_dropped_total", { signal: "traces" });
    result.droppedLogLines = sumOf(samples, "opsguard_telemetry_dropped_total", { signal: "logs" });
    if (result.serverNon201 > 0) result.acceptedShare = 0;
    if (variant !== "quiet") {
      const operations = sumOf(samples, "opsguard_operations_submitted_total");
      // Stopping flushes what is still queued, so the counts cover the whole life of the server.
      await target.stop();
      result.spansPerOperation = round((sinks.otlp.items - before.spans) / operations, 2);
      result.logLinesPerOperation = round((sinks.loki.items - before.lines) / operations, 2);
    }
    return result;
  } finally {
    await target.stop();
  }
}

/** CPU the target uses from `afterSec` from now until `cores()` is called, in cores. */
function cpuMeter(target: Target, afterSec: number): { cores(): number } {
  let from: { cpu: number; at: number } | undefined;
  const timer = setTimeout(
    () => (from = { cpu: target.cpuSeconds(), at: performance.now() }),
    afterSec * 1000,
  );
  return {
    cores() {
      clearTimeout(timer);
      if (!from) return Number.NaN;
      return (target.cpuSeconds() - from.cpu) / ((performance.now() - from.at) / 1000);
    },
  };
}

function start(variant: Variant, roundNumber: number, sinks: { otlp: Sink; loki: Sink }): Promise<Target> {
  return startVariant(variant, `${variant} (round ${roundNumber})`, sinks);
}

/** Starts the server of a variant: the bare route, or opsguard exporting what the variant says. */
export function startVariant(
  variant: Variant,
  name: string,
  sinks: { otlp: Sink; loki: Sink },
): Promise<Target> {
  if (variant === "bare" || variant === "durable") return startBare(name, variant === "durable");
  const endpoints = {
    full: { traces: sinks.otlp.url, loki: sinks.loki.url },
    quiet: {},
    traces: { traces: sinks.otlp.url },
    logs: { loki: sinks.loki.url },
    unsampled: { traces: sinks.otlp.url, sampleRatio: 0 },
    sampled10: { traces: sinks.otlp.url, loki: sinks.loki.url, sampleRatio: 0.1 },
  } as const;
  return startOpsguard(name, endpoints[variant]);
}

function summarize(rounds: RoundResult[]): VariantResult {
  const of = (f: (r: RoundResult) => number): number => median(rounds.map(f));
  return {
    rps: round(
      of((r) => r.rps),
      1,
    ),
    p50Ms: round(
      of((r) => r.p50Ms),
      3,
    ),
    p99Ms: round(
      of((r) => r.p99Ms),
      3,
    ),
    acceptedShare: Math.min(...rounds.map((r) => r.acceptedShare)),
    serverCpuCores: round(
      of((r) => r.serverCpuCores),
      3,
    ),
    rounds,
  };
}
