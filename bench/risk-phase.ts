import { Bench } from "tinybench";
import { Config } from "../src/config/schema.js";
import { parseFixed } from "../src/platform/fixed-point.js";
import { evaluateRisk, type RiskRequest, type RiskUsage } from "../src/risk/evaluate.js";
import { buildLimits } from "../src/risk/limits.js";
import { round } from "./stats.js";

/** Decisions per timed call: one decision is too short for the timer to see. */
const BATCH = 100;

export interface RiskResult {
  /** Nanoseconds per decision, mean over tinybench's samples. */
  acceptedFixedNs: number;
  acceptedAutoNs: number;
  rejectedNs: number;
  /** 99th percentile of a batch, per decision. */
  acceptedFixedP99Ns: number;
  samples: number;
}

/** Decisions of each kind counted here, so the optimizer cannot drop the calls. */
let failuresSeen = 0;

/**
 * Phase 5: one pre-trade decision (`evaluateRisk`), in-process, against the default limits and a
 * usage snapshot from the middle of a busy day (1,234 operations, exposure on every instrument, a
 * realized loss, equity below its peak, tokens left in the bucket). Three kinds: a fixed size that
 * passes, an automatic size that passes, and a request that breaks three limits (every failure is
 * written out with its limit and observed value).
 */
export async function measureRisk(timeMs: number): Promise<RiskResult> {
  const limits = buildLimits(Config.parse({}));
  const money = (text: string): bigint => parseFixed(text, limits.moneyScale);
  const now = Date.UTC(2026, 0, 5, 14, 30);
  const usage: RiskUsage = {
    now,
    tradingState: "active",
    dailyOperations: 1234,
    dailyOperationsOfStrategy: 410,
    exposureTotal: money("84250.40"),
    exposureOfInstrument: money("40120.15"),
    lastOperationAt: now - 4_200,
    withinRate: true,
    submitTokens: 12.5,
    dailyLoss: money("1200.35"),
    equity: money("101520.10"),
    peakEquity: money("103100.00"),
    cooldownUntil: 0,
  };
  const btc = (text: string): bigint => parseFixed(text, 2);
  const fixed: RiskRequest = {
    strategy: "trend-follow",
    instrument: "BTC-USD",
    pattern: "double-bottom",
    side: "buy",
    size: parseFixed("0.1", 4),
    stopLoss: btc("64000"),
    takeProfit: btc("66500"),
    price: btc("65012.40"),
  };
  const auto: RiskRequest = { ...fixed, size: "auto" };
  const rejected: RiskRequest = { ...fixed, size: parseFixed("1.5", 4), stopLoss: btc("65500") };
  const decide = (request: RiskRequest) => (): void => {
    for (let i = 0; i < BATCH; i++) failuresSeen += evaluateRisk(request, usage, limits).failures.length;
  };
  if (evaluateRisk(fixed, usage, limits).failures.length + evaluateRisk(auto, usage, limits).failures.length)
    throw new Error("the accepted requests of the risk benchmark are rejected");
  if (evaluateRisk(rejected, usage, limits).failures.length < 3)
    throw new Error("the rejected request of the risk benchmark breaks fewer than three limits");

  const bench = new Bench({ time: timeMs, warmupTime: Math.min(500, timeMs), throws: true });
  bench.add("accepted, fixed size", decide(fixed));
  bench.add("accepted, auto size", decide(auto));
  bench.add("rejected, three failures", decide(rejected));
  await bench.run();
  const stats = bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== "completed") throw new Error(`risk benchmark ${task.name}: ${result.state}`);
    return result;
  });
  const ns = (ms: number): number => round((ms * 1e6) / BATCH, 1);
  const [first, second, third] = stats as [(typeof stats)[0], (typeof stats)[0], (typeof stats)[0]];
  if (failuresSeen === 0) throw new Error("no decision was evaluated");
  return {
    acceptedFixedNs: ns(first.latency.mean),
    acceptedAutoNs: ns(second.latency.mean),
    rejectedNs: ns(third.latency.mean),
    acceptedFixedP99Ns: ns(first.latency.p99),
    samples: first.latency.samplesCount,
  };
}
