import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Config } from "../src/config/schema.js";
import { createRandom } from "../src/execution/random.js";
import { direction } from "../src/operations/model.js";
import { OperationRepository } from "../src/operations/repository.js";
import { ManualClock } from "../src/platform/clock.js";
import { openDatabase, type Db } from "../src/platform/db.js";
import { multiply } from "../src/platform/fixed-point.js";
import { buildLimits } from "../src/risk/limits.js";
import { loadLedger } from "../src/risk/load-ledger.js";
import { RiskRepository } from "../src/risk/repository.js";
import { tempDir } from "./harness.js";

const COUNT = 1_000_000;

/** DESIGN §2: a million booked operations sum to the same total as the database. */
describe("exact money over a million bookings", () => {
  let dir: string;
  let db: Db | undefined;
  afterEach(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the ledger's realized P&L equal to SUM(pnl) in SQLite, to the cent", () => {
    dir = tempDir();
    db = openDatabase({ path: join(dir, "opsguard.db") });
    const config = Config.parse({
      risk: { maxDailyLoss: "1000000000", maxDrawdown: 1, lossStreak: { maxConsecutive: 1_000_000 } },
    });
    const limits = buildLimits(config);
    const clock = new ManualClock(Date.UTC(2026, 0, 5, 12));
    const repo = new OperationRepository(db);
    const riskRepo = new RiskRepository(db);
    const ledger = loadLedger(repo, riskRepo, limits, clock);
    const random = createRandom(1);
    const insert =
      db.prepare(`INSERT INTO operations (id, client_id, strategy, instrument, side, size, status,
      notional, entry_price, exit_price, pnl, close_reason, request_hash, created_at, opened_at, closed_at)
      VALUES (?, ?, 'trend-follow', 'SOL-USD', ?, ?, 'closed', 0, ?, ?, ?, 'manual', 'h', ?, ?, ?)`);

    const now = clock.now();
    db.transaction(() => {
      for (let i = 0; i < COUNT; i++) {
        const side = random() < 0.5 ? "buy" : "sell";
        // SOL-USD: prices at 3 places, sizes at 2, money at 2: every P&L is rounded once, half-even.
        const size = BigInt(1 + Math.floor(random() * 50_000));
        const entry = BigInt(100_000 + Math.floor(random() * 100_000));
        const exit = entry + BigInt(Math.floor(random() * 2_001) - 1_000);
        const pnl = direction(side) * multiply(exit - entry, 3, size, 2, limits.moneyScale);
        const id = `op-${i}`;
        insert.run(id, id, side, size, entry, exit, pnl, now, now, now);
        ledger.book({ strategy: "trend-follow", instrument: "SOL-USD", notional: 0n }, pnl);
      }
      riskRepo.save(ledger.state);
    })();

    expect(ledger.state.realizedPnl).toBe(repo.totalPnl());
    // Rebuilt from the database, the ledger agrees too.
    expect(loadLedger(repo, riskRepo, limits, clock).equity).toBe(limits.startingEquity + repo.totalPnl());
  }, 60_000);
});
