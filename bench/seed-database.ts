import { closeSync, copyFileSync, fsyncSync, openSync, statSync } from "node:fs";
import Database from "better-sqlite3";
import { monotonicFactory } from "ulid";
import { Config } from "../src/config/schema.js";
import { hashRequest } from "../src/operations/submit-input.js";
import { GENESIS_HASH, hashEntry } from "../src/platform/audit.js";
import { startOfUtcDay } from "../src/platform/clock.js";
import { migrate } from "../src/platform/db.js";
import { rebuildPerformanceAggregates } from "../src/reports/performance/aggregates.js";
import { multiply, parseFixed } from "../src/platform/fixed-point.js";
import { pooledRandom } from "../src/platform/random-pool.js";
import { benchConfig } from "./config.js";

const DAY_MS = 86_400_000;
/** The seeded history ends this long before today, so that today's risk usage starts at zero. */
const SPREAD_DAYS = 30;
/** Each seeded operation lives this long, then the supervisor closes it on its time limit. */
const LIFETIME_MS = 1000;
/** The principal that submitted the seeded operations (a token id, as the service records it). */
const ACTOR = "tok_seed";

/** How {@link seedDatabase} varies its history. */
export interface SeedOptions {
  /** Days the history is spread over, ending before today. @default 30 */
  spreadDays?: number;
  /**
   * Give each close a P&L (a random exit around the entry), a pattern and a confidence, and the
   * risk state their sum, as a report needs; otherwise every close is flat. @default false
   */
  varied?: boolean;
}

/** What {@link seedDatabase} wrote. */
export interface SeededDatabase {
  operations: number;
  auditEntries: number;
  bytes: number;
  seconds: number;
}

/**
 * Writes a database at `path` with `operations` closed operations, as the service would have
 * left them after as many submits of `bench/submit.lua`'s three bodies, each closed by the
 * supervisor on its time limit a second after it opened: the operation row, its paper fill and
 * exit, and two audit entries (`operation.submit`, `operation.close`) on one valid hash chain.
 * The history is spread over the 30 days before today (UTC; `spreadDays`), so the day's limits
 * start empty. Every operation is flat (exit at the entry price) unless `varied`; the risk state
 * holds the realized P&L and the peak equity, and the report's daily aggregates are filled. No
 * token, so the service creates its admin token.
 *
 * Fast because it skips the service: one transaction, prepared statements, no journal (the file
 * is thrown away if seeding fails), and the real schema, request hash and audit hash.
 */
export function seedDatabase(
  path: string,
  operations: number,
  now = Date.now(),
  { spreadDays = SPREAD_DAYS, varied = false }: SeedOptions = {},
): SeededDatabase {
  const started = performance.now();
  const config = Config.parse(benchConfig("unused"));
  const templates = TEMPLATE_BODIES.map((body) => {
    const instrument = config.instruments[body.instrument]!;
    const price = parseFixed(instrument.initialPrice, instrument.pricePrecision);
    const size = parseFixed(body.size, instrument.sizePrecision);
    const notional = multiply(
      price,
      instrument.pricePrecision,
      size,
      instrument.sizePrecision,
      config.accounting.precision,
    );
    const { pricePrecision, sizePrecision } = instrument;
    return { ...body, price, sizeUnits: size, notional, pricePrecision, sizePrecision };
  });

  const db = new Database(path);
  try {
    migrate(db);
    db.pragma("journal_mode = OFF");
    db.pragma("synchronous = OFF");
    db.pragma("cache_size = -262144"); // 256 MB: the indexes stay in memory while they grow
    const insertOperation = db.prepare(
      `INSERT INTO operations (id, client_id, strategy, instrument, side, size, auto_sized, max_duration_sec,
         status, notional, entry_price, exit_price, close_reason, close_requested_at, pnl, request_hash,
         created_at, opened_at, closed_at, pattern, confidence)
       VALUES (?, ?, ?, ?, ?, ?, 0, ?, 'closed', ?, ?, ?, 'timeout', ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertFill = db.prepare(
      `INSERT INTO paper_orders (operation_id, instrument, side, size, entry_price, entry_at, exit_price, exit_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertAudit = db.prepare(
      `INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const maxDurationSec = LIFETIME_MS / 1000;
    const end = startOfUtcDay(now) - 10 * LIFETIME_MS;
    const first = end - spreadDays * DAY_MS;
    const step = (end - first) / Math.max(1, operations);
    const nextId = monotonicFactory(pooledRandom());
    let seq = 0;
    let prevHash = GENESIS_HASH;
    const audit = (at: number, actor: string, action: string, target: string, details: string): void => {
      seq += 1;
      const hash = hashEntry(prevHash, { seq, at, actor, action, target }, details);
      insertAudit.run(seq, at, actor, action, target, details, prevHash, hash);
      prevHash = hash;
    };
    const random = pooledRandom();
    const startingEquity = parseFixed(config.accounting.startingEquity, config.accounting.precision);
    let realized = 0n;
    let peak = startingEquity;
    db.transaction(() => {
      for (let i = 0; i < operations; i++) {
        const t = templates[i % templates.length]!;
        const createdAt = Math.floor(first + i * step);
        const openedAt = createdAt + 1;
        const closedAt = openedAt + LIFETIME_MS;
        const id = nextId(createdAt);
        const clientId = `seed-${i}`;
        // Varied: an exit within ±0.5% of the entry, a pattern and a confidence by turns.
        const move = varied ? (t.price * BigInt(Math.floor(random() * 1001) - 500)) / 100_000n : 0n;
        const exit = t.price + move;
        const pnl = multiply(
          move,
          t.pricePrecision,
          t.sizeUnits,
          t.sizePrecision,
          config.accounting.precision,
        );
        const pattern = varied ? config.patterns[i % config.patterns.length]! : undefined;
        const confidence = varied ? Math.round((0.5 + random() * 0.5) * 100) / 100 : undefined;
        realized += pnl;
        if (startingEquity + realized > peak) peak = startingEquity + realized;
        const body = {
          clientId,
          strategy: t.strategy,
          instrument: t.instrument,
          side: "buy",
          size: t.size,
          maxDurationSec,
          ...(pattern ? { pattern, confidence } : {}),
        } as const;
        insertOperation.run(
          id,
          clientId,
          t.strategy,
          t.instrument,
          "buy",
          t.sizeUnits,
          maxDurationSec,
          t.notional,
          t.price,
          exit,
          closedAt - 1,
          pnl,
          hashRequest(body),
          createdAt,
          openedAt,
          closedAt,
          pattern ?? null,
          confidence ?? null,
        );
        audit(createdAt, ACTOR, "operation.submit", id, JSON.stringify({ clientId }));
        insertFill.run(id, t.instrument, "buy", t.sizeUnits, t.price, openedAt, exit, closedAt);
        audit(closedAt - 1, "supervisor", "operation.close", id, '{"reason":"timeout"}');
      }
    })();
    // The risk state the closes leave, and the report's daily aggregates of them.
    db.prepare(
      `INSERT INTO risk_state (id, trading_state, state_reason, state_changed_at, realized_pnl, peak_equity, loss_reset_at)
       VALUES (1, 'active', 'initial state', ?, ?, ?, 0)`,
    ).run(first, realized, peak);
    rebuildPerformanceAggregates(db);
    // What the service runs on: it would switch on start anyway.
    db.pragma("journal_mode = WAL");
  } finally {
    db.close();
  }
  return {
    operations,
    auditEntries: operations * 2,
    bytes: statSync(path).size,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Copies a seeded database and waits until it is on disk: otherwise the kernel writes its
 * hundreds of megabytes back during the first window of load, which would pay for it alone.
 */
export function copyDurably(from: string, to: string): void {
  copyFileSync(from, to);
  const fd = openSync(to, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The three bodies `bench/submit.lua` cycles through (without clientId). */
const TEMPLATE_BODIES = [
  { strategy: "trend-follow", instrument: "BTC-USD", size: "0.01" },
  { strategy: "mean-revert", instrument: "ETH-USD", size: "0.1" },
  { strategy: "breakout", instrument: "SOL-USD", size: "1" },
] as const;
