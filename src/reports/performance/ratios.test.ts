import { describe, expect, it } from "vitest";
import { annualGrowth, calmar, mean, sampleDeviation, sharpe, sortino } from "./ratios.js";

const VECTOR = [0.01, -0.02, 0.015, -0.005, 0.025];

describe("the ratios of daily returns", () => {
  it("gives the published Sharpe ratio of the reference vector at 252 periods", () => {
    expect(sharpe(VECTOR, 252)).toBeCloseTo(4.48998886412873, 12);
  });

  it("computes mean and sample deviation by hand", () => {
    // mean 0.025 / 5; squared deviations 2.5e-5, 6.25e-4, 1e-4, 1e-4, 4e-4 sum to 1.25e-3; ÷ 4.
    expect(mean(VECTOR)).toBeCloseTo(0.005, 15);
    expect(sampleDeviation(VECTOR)).toBeCloseTo(Math.sqrt(3.125e-4), 15);
  });

  it("gives the Sortino ratio over the downside deviation of every period", () => {
    // Downside: √((0.02² + 0.005²) / 5) = √(4.25e-4 / 5).
    expect(sortino(VECTOR, 252)).toBeCloseTo((0.005 / Math.sqrt(4.25e-4 / 5)) * Math.sqrt(252), 12);
  });

  it("is null where a ratio is undefined: too few periods, no deviation, no losing period", () => {
    expect(sharpe([0.01], 365)).toBeNull();
    expect(sharpe([0.01, 0.01, 0.01], 365)).toBeNull();
    expect(sortino([0.01, 0.02], 365)).toBeNull();
    expect(mean([])).toBeNull();
    expect(calmar(0.2, 0)).toBeNull();
  });

  it("compounds growth to a year, and divides it by the drawdown for Calmar", () => {
    // 100 → 110 over 73 of 365 periods: 1.1^5 − 1.
    expect(annualGrowth(100, 110, 73, 365)).toBeCloseTo(1.1 ** 5 - 1, 12);
    expect(calmar(0.61051, 0.1)).toBeCloseTo(6.1051, 12);
    expect(annualGrowth(0, 110, 73, 365)).toBeNull();
    // One day is not annualized: no growth, so no Calmar either.
    expect(annualGrowth(100_000, 99_500, 1, 365)).toBeNull();
    expect(calmar(annualGrowth(100_000, 99_500, 1, 365), 0.005)).toBeNull();
  });
});
