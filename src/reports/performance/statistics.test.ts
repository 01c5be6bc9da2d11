import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { patternStats, tradeStats, type PerformanceRow } from "./statistics.js";

/** One row per close, as the aggregates would hold a single close. */
function close(pnl: number, extra: Partial<PerformanceRow> = {}): PerformanceRow {
  return {
    strategy: "s",
    instrument: "BTC-USD",
    pattern: "",
    side: "buy",
    confidenceBucket: -1,
    closes: 1,
    wins: pnl > 0 ? 1 : 0,
    losses: pnl < 0 ? 1 : 0,
    grossProfit: BigInt(Math.max(pnl, 0)),
    grossLoss: BigInt(Math.min(pnl, 0)),
    pnlSquares: pnl * pnl,
    durationMs: 60_000,
    risked: 0,
    rSum: 0,
    confidenceSum: 0,
    brierSum: 0,
    ...extra,
  };
}

describe("tradeStats", () => {
  // P&L in cents: +300, −100, +150, 0, −200 → 2 wins, 2 losses, 1 flat.
  const rows = [close(300), close(-100, { side: "sell" }), close(150), close(0), close(-200)];

  it("matches the hand-computed fixture", () => {
    const s = tradeStats(rows);
    expect(s).toMatchObject({
      closes: 5,
      wins: 2,
      losses: 2,
      flats: 1,
      pnl: 150n,
      grossProfit: 450n,
      grossLoss: -300n,
    });
    expect(s.winRate).toBe(0.4);
    expect(s.averagePnl).toBe(30n);
    expect(s.averageWin).toBe(225n);
    expect(s.averageLoss).toBe(-150n);
    expect(s.payoffRatio).toBe(1.5);
    expect(s.profitFactor).toBe(1.5);
    expect(s.expectancyRatio).toBeCloseTo((1 + 1.5) * 0.4 - 1, 15);
    // Mean 30; squares 90000 + 10000 + 22500 + 0 + 40000 = 162500; variance (162500 − 5·900) / 4.
    expect(s.sqn).toBeCloseTo((Math.sqrt(5) * 30) / Math.sqrt(39_500), 12);
    expect(s.averageDurationMs).toBe(60_000);
    expect(s.longShare).toBe(0.8);
  });

  it("rounds an average of money half to even, never silently otherwise", () => {
    expect(tradeStats([close(1), close(2)]).averagePnl).toBe(2n); // 1.5 → 2
    expect(tradeStats([close(1), close(0), close(0), close(0)]).averagePnl).toBe(0n); // 0.25 → 0
    expect(tradeStats([close(5), close(0)]).averagePnl).toBe(2n); // 2.5 → 2
  });

  it("leaves undefined figures null: no closes, no losses, a single close", () => {
    expect(tradeStats([])).toMatchObject({ winRate: null, averagePnl: null, sqn: null, profitFactor: null });
    expect(tradeStats([close(10), close(20)])).toMatchObject({ profitFactor: null, payoffRatio: null });
    expect(tradeStats([close(10)]).sqn).toBeNull();
  });

  it("averages the R-multiples of the closes that had a stop-loss only", () => {
    const s = tradeStats([
      close(200, { risked: 1, rSum: 2 }),
      close(-100, { risked: 1, rSum: -1 }),
      close(50),
    ]);
    expect(s).toMatchObject({ riskedCloses: 2, averageR: 0.5 });
  });

  it("keeps counts, rates and totals consistent for any closes", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1_000_000, max: 1_000_000 }), { maxLength: 60 }), (pnls) => {
        const s = tradeStats(pnls.map((p) => close(p)));
        expect(s.wins + s.losses + s.flats).toBe(pnls.length);
        expect(s.pnl).toBe(BigInt(pnls.reduce((a, b) => a + b, 0)));
        expect(s.grossProfit - s.pnl + s.grossLoss).toBe(0n);
        if (s.winRate !== null) expect(s.winRate).toBe(s.wins / s.closes);
        if (s.profitFactor !== null) {
          expect(s.profitFactor).toBeGreaterThanOrEqual(0);
          // A profit factor above 1 is exactly a positive total.
          expect(s.profitFactor > 1).toBe(s.pnl > 0n);
        }
      }),
    );
  });
});

describe("patternStats", () => {
  it("gives the hit rate, mean confidence, Brier score and calibration by tenth", () => {
    const rows = [
      close(10, { pattern: "p", confidenceBucket: 8, confidenceSum: 0.8, brierSum: 0.04 }),
      close(-10, { pattern: "p", confidenceBucket: 8, confidenceSum: 0.85, brierSum: 0.7225 }),
      close(-10, { pattern: "p", confidenceBucket: 6, confidenceSum: 0.6, brierSum: 0.36 }),
      close(10, { pattern: "p" }),
      close(10),
    ];
    const [p] = patternStats(rows);
    expect(p).toMatchObject({ pattern: "p", closes: 4, hits: 2, hitRate: 0.5, withConfidence: 3 });
    expect(p!.meanConfidence).toBeCloseTo(2.25 / 3, 15);
    expect(p!.brier).toBeCloseTo(1.1225 / 3, 15);
    expect(p!.calibration.map((b) => [b.bucket, b.closes, b.hits, b.hitRate])).toEqual([
      [6, 1, 0, 0],
      [8, 2, 1, 0.5],
    ]);
    expect(patternStats([close(1)])).toEqual([]);
  });
});
