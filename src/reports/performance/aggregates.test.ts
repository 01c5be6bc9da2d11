import { describe, expect, it } from "vitest";
import { openDatabase } from "../../platform/db.js";
import {
  confidenceBucket,
  dayOf,
  PerformanceAggregates,
  EQUITY_PAGE,
  rebuildPerformanceAggregates,
} from "./aggregates.js";

const T0 = Date.parse("2026-11-01T10:00:00Z");

describe("the daily aggregates", () => {
  it("are rebuilt from the operations table to what booking the closes one by one wrote", () => {
    const db = openDatabase({ path: ":memory:" });
    const aggregates = new PerformanceAggregates(db);
    const insert = db.prepare(
      `INSERT INTO operations (id, client_id, strategy, instrument, side, size, status, notional, request_hash,
         created_at, opened_at, closed_at, pnl, planned_risk, pattern, confidence)
       VALUES (?, ?, ?, 'BTC-USD', ?, 1, 'closed', 1, 'h', ?, ?, ?, ?, ?, ?, ?)`,
    );
    const closes = [
      { strategy: "a", side: "buy", pnl: 300n, risk: 100n, pattern: "p", confidence: 0.75, at: T0 },
      { strategy: "a", side: "buy", pnl: -120n, risk: 100n, pattern: "p", confidence: 0.7, at: T0 + 60_000 },
      {
        strategy: "b",
        side: "sell",
        pnl: 0n,
        risk: null,
        pattern: null,
        confidence: null,
        at: T0 + 86_400_000,
      },
      {
        strategy: "a",
        side: "buy",
        pnl: -50n,
        risk: null,
        pattern: "p",
        confidence: 1,
        at: T0 + 86_400_000 + 5,
      },
    ] as const;
    closes.forEach((c, i) => {
      insert.run(
        `op${i}`,
        `c${i}`,
        c.strategy,
        c.side,
        c.at - 1000,
        c.at - 1000,
        c.at,
        c.pnl,
        c.risk,
        c.pattern,
        c.confidence,
      );
      aggregates.recordClose({
        strategy: c.strategy,
        instrument: "BTC-USD",
        pattern: c.pattern,
        confidence: c.confidence,
        side: c.side,
        pnl: c.pnl,
        plannedRisk: c.risk,
        openedAt: c.at - 1000,
        closedAt: c.at,
      });
    });
    const read = () => ({
      performance: db.prepare("SELECT * FROM performance_daily ORDER BY 1, 2, 3, 4, 5, 6").all(),
      equity: db.prepare("SELECT * FROM equity_daily ORDER BY 1, 2").all(),
    });
    const booked = read();
    expect(booked.performance).toHaveLength(3); // 0.75 and 0.7 share the tenth 7
    expect(booked.performance[0]).toMatchObject({
      day: "2026-11-01",
      pattern: "p",
      confidence_bucket: 7n,
      closes: 2n,
      risked: 2n,
    });
    expect((booked.performance[0] as { r_sum: number }).r_sum).toBeCloseTo(3 - 1.2, 12);
    rebuildPerformanceAggregates(db);
    expect(read()).toEqual(booked);
  });

  it("rebuilds in one transaction: one that fails part way leaves every aggregate as it was", () => {
    const db = openDatabase({ path: ":memory:" });
    const insert = db.prepare(
      `INSERT INTO operations (id, client_id, strategy, instrument, side, size, status, notional, request_hash,
         created_at, opened_at, closed_at, pnl)
       VALUES (?, ?, 'a', 'BTC-USD', 'buy', 1, 'closed', 1, 'h', ?, ?, ?, ?)`,
    );
    for (let i = 0; i < 3; i++) insert.run(`op-${i}`, `c-${i}`, T0, T0, T0 + i * 86_400_000, 100n);
    rebuildPerformanceAggregates(db);
    const before = db.prepare("SELECT * FROM equity_daily ORDER BY day, strategy").all();
    // The third day's fold fails: the two before it must not stay rebuilt half way.
    db.exec(`CREATE TRIGGER fail_third AFTER INSERT ON equity_daily WHEN NEW.day = '2026-11-03'
      BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
    db.exec("UPDATE operations SET pnl = 200");
    expect(() => rebuildPerformanceAggregates(db)).toThrow(/disk I\/O error/);
    expect(db.inTransaction).toBe(false);
    expect(db.prepare("SELECT * FROM equity_daily ORDER BY day, strategy").all()).toEqual(before);
    expect(db.prepare("SELECT SUM(gross_profit) FROM performance_daily").pluck().get()).toBe(300n);
  });

  it("rebuilds the equity folds page by page from the index, never a scan of the table per page", () => {
    const db = openDatabase({ path: ":memory:" });
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${EQUITY_PAGE}`).all(-1n, "") as { detail: string }[];
    expect(plan.map((step) => step.detail)).toContainEqual(
      expect.stringContaining("USING INDEX operations_closed"),
    );
    expect(plan.map((step) => step.detail)).not.toContainEqual(expect.stringMatching(/^SCAN operations/));
  });

  it("key a close by its UTC day and its confidence in tenths", () => {
    expect(dayOf(Date.parse("2026-11-30T23:59:59.999Z"))).toBe("2026-11-30");
    expect([null, 0, 0.09, 0.1, 0.95, 1].map(confidenceBucket)).toEqual([-1, 0, 0, 1, 9, 9]);
  });
});
