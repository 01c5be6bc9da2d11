import { join } from "node:path";
import type { Config } from "../config/schema.js";

/**
 * The demo's market and limits: a livelier paper market and tighter limits than the defaults, so
 * that within a minute every kind of close, several kinds of rejection and an automatic halt
 * happen, and reports with recommendations every two minutes. Data goes to `<dataDir>/demo`,
 * apart from real state.
 */
export function demoConfig(config: Config): Config {
  return {
    ...config,
    dataDir: join(config.dataDir, "demo"),
    instruments: Object.fromEntries(
      Object.entries(config.instruments).map(([name, i]) => [
        name,
        { ...i, volatility: Math.min(0.01, i.volatility * 4) },
      ]),
    ),
    risk: {
      ...config.risk,
      minOperationIntervalMs: 400,
      maxSubmitRate: { perSecond: 3, burst: 5 },
      maxNotionalPerOperation: "60000",
      maxExposure: { total: "200000", perInstrument: "90000" },
      maxDailyLoss: "1500",
      maxDrawdown: 0.02,
      lossStreak: { maxConsecutive: 4, cooldownSec: 15 },
      riskPerOperation: 0.002,
    },
    executor: {
      ...config.executor,
      type: "paper",
      // Some answers are lost, so unconfirmed executions and their reconciliation show too.
      reconcileAfterMs: 3_000,
      paper: {
        ...config.executor.paper,
        latencyMs: 15,
        slippageBps: 3,
        failureRate: 0.01,
        lostAnswerRate: 0.02,
        stepMs: 100,
      },
    },
    supervisor: { monitorIntervalMs: 200 },
    // Reports of today every two minutes, so that their recommendations (and the Performance
    // dashboard's table of them) show within minutes rather than after midnight.
    reports: {
      ...config.reports,
      schedule: "*/2 * * * *",
      covers: "today",
      performance: {
        ...config.reports.performance,
        rules: { ...config.reports.performance.rules, minCloses: 20 },
      },
    },
  };
}
