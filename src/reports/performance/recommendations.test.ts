import { describe, expect, it } from "vitest";
import { recommend, type RuleInputs, type RuleThresholds } from "./recommendations.js";

const T: RuleThresholds = {
  minCloses: 30,
  confidenceMargin: 0.1,
  rejectionShare: 0.2,
  minSubmits: 50,
  cooldowns: 3,
  nearLimit: 0.8,
};

const QUIET: RuleInputs = {
  strategies: [],
  patterns: [],
  submits: 0,
  failedChecks: [],
  cooldowns: [],
  drawdown: { ratio: null, amount: "0.00", limit: 0.1 },
  worstDay: undefined,
};

const ids = (inputs: Partial<RuleInputs>) =>
  recommend({ ...QUIET, ...inputs }, T).map((r) => `${r.id} ${r.subject}`);

describe("the recommendation rules, at their thresholds", () => {
  it("recommends nothing for a quiet book", () => {
    expect(recommend(QUIET, T)).toEqual([]);
  });

  it("PERF-001: a pattern below its confidence by more than the margin, over enough closes", () => {
    const pattern = (withConfidence: number, hitRate: number) => ({
      pattern: "p",
      withConfidence,
      hitRate,
      meanConfidence: 0.7,
      brier: 0.3,
    });
    expect(ids({ patterns: [pattern(30, 0.59)] })).toEqual(["PERF-001 p"]);
    expect(ids({ patterns: [pattern(30, 0.6)] })).toEqual([]);
    expect(ids({ patterns: [pattern(29, 0.1)] })).toEqual([]);
  });

  it("PERF-002: a failed check at the share of submits, once there are enough submits", () => {
    const failedChecks = [{ code: "EXPOSURE_EXCEEDED", count: 10 }];
    expect(ids({ submits: 50, failedChecks })).toEqual(["PERF-002 EXPOSURE_EXCEEDED"]);
    expect(ids({ submits: 51, failedChecks })).toEqual([]);
    expect(ids({ submits: 49, failedChecks: [{ code: "EXPOSURE_EXCEEDED", count: 49 }] })).toEqual([]);
    const [r] = recommend({ ...QUIET, submits: 50, failedChecks }, T);
    expect(r!.recommendation).toMatch(/limit is too tight/);
  });

  it("PERF-003: a strategy with as many cooldowns as the threshold", () => {
    expect(ids({ cooldowns: [{ strategy: "s", count: 3 }] })).toEqual(["PERF-003 s"]);
    expect(ids({ cooldowns: [{ strategy: "s", count: 2 }] })).toEqual([]);
  });

  it("PERF-004 (high, first): the drawdown at the share of its limit", () => {
    const drawdown = (ratio: number) => ({ ratio, amount: "1.00", limit: 0.1 });
    const found = recommend(
      { ...QUIET, drawdown: drawdown(0.08), cooldowns: [{ strategy: "s", count: 9 }] },
      T,
    );
    expect(found.map((r) => [r.id, r.severity])).toEqual([
      ["PERF-004", "high"],
      ["PERF-003", "warning"],
    ]);
    expect(ids({ drawdown: drawdown(0.0799) })).toEqual([]);
  });

  it("PERF-005: a strategy that loses on average over enough closes", () => {
    const strategy = (closes: number, averagePnlValue: number) => ({
      strategy: "s",
      closes,
      averagePnl: String(averagePnlValue),
      averagePnlValue,
      profitFactor: 0.5,
    });
    expect(ids({ strategies: [strategy(30, -0.01)] })).toEqual(["PERF-005 s"]);
    expect(ids({ strategies: [strategy(30, 0)] })).toEqual([]);
    expect(ids({ strategies: [strategy(29, -5)] })).toEqual([]);
  });

  it("PERF-006: a day whose loss reached the share of the daily limit", () => {
    const worstDay = (low: number) => ({
      day: "2026-12-01",
      low,
      lowText: String(low),
      limit: 500_000,
      limitText: "5000.00",
    });
    expect(ids({ worstDay: worstDay(-400_000) })).toEqual(["PERF-006 book"]);
    expect(ids({ worstDay: worstDay(-399_999) })).toEqual([]);
  });
});
