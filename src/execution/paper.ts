import { setTimeout as sleep } from "node:timers/promises";
import type { Statement } from "better-sqlite3";
import type { InstrumentConfig, PaperExecutorConfig } from "../config/schema.js";
import type { Side } from "../operations/model.js";
import type { Clock } from "../platform/clock.js";
import type { Db } from "../platform/db.js";
import type { GroupCommit } from "../platform/group-commit.js";
import { divRound, parseFixed } from "../platform/fixed-point.js";
import {
  ExecutionError,
  type ExecutionStatus,
  type Executor,
  type Fill,
  type OrderRequest,
  type Quote,
} from "./executor.js";
import { createRandom, gaussian, type Random } from "./random.js";

/** The simulated venue's instruments, behaviour and storage. */
export interface PaperExecutorOptions {
  instruments: Readonly<Record<string, InstrumentConfig>>;
  config: PaperExecutorConfig;
  clock: Clock;
  /** Fills are kept in `paper_orders`, so the simulated venue remembers them across restarts. */
  db: Db;
  /**
   * Writes fills in the turn's batch, committed with the service's own rows. Without it each fill
   * commits on its own.
   */
  commits?: GroupCommit;
}

/**
 * Steps the walk takes at most to catch up with the clock in one go. Beyond this (a process that
 * slept for hours), the missed steps are skipped: the walk resumes from where it was.
 */
const MAX_CATCH_UP_STEPS = 10_000;
/** Pull of each step back toward the initial price, so a long demo does not wander off. */
const MEAN_REVERSION = 0.002;
const BPS = 10_000n;

interface Walk {
  price: bigint;
  initial: number;
  volatility: number;
  /** The clock time the last step belongs to. */
  steppedAt: number;
  random: Random;
}

interface PaperOrderRow {
  entry_price: bigint;
  entry_at: bigint;
  exit_price: bigint | null;
  exit_at: bigint | null;
}

/**
 * A simulated venue: every instrument follows a seeded random walk (one step every `stepMs`),
 * executions take `latencyMs`, fill `slippageBps` worse than the price and fail with probability
 * `failureRate`; with probability `lostAnswerRate` an execution happens but its answer is lost, so
 * that reconciliation has work in a simulation too. Idempotent by operation id, like a real venue with client order ids: asking to
 * open or close the same operation twice executes once and returns the same fill.
 */
export class PaperExecutor implements Executor {
  readonly name = "paper" as const;
  private readonly walks = new Map<string, Walk>();
  private readonly failures: Random;
  private readonly lostAnswers: Random;
  private readonly stmts: Record<"get" | "insert" | "close" | "lastPrice", Statement>;

  constructor(private readonly options: PaperExecutorOptions) {
    const { db, config, clock, instruments } = options;
    this.stmts = {
      get: db.prepare(
        "SELECT entry_price, entry_at, exit_price, exit_at FROM paper_orders WHERE operation_id = ?",
      ),
      insert: db.prepare(
        `INSERT INTO paper_orders (operation_id, instrument, side, size, entry_price, entry_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (operation_id) DO NOTHING`,
      ),
      close: db.prepare(
        "UPDATE paper_orders SET exit_price = ?, exit_at = ? WHERE operation_id = ? AND exit_price IS NULL",
      ),
      // The walk resumes from the last fill, so prices do not jump back to the start on a restart.
      lastPrice: db.prepare(
        `SELECT COALESCE(exit_price, entry_price) AS price FROM paper_orders WHERE instrument = ?
         ORDER BY COALESCE(exit_at, entry_at) DESC LIMIT 1`,
      ),
    };
    const now = clock.now();
    let index = 0;
    for (const [name, instrument] of Object.entries(instruments)) {
      const initial = parseFixed(instrument.initialPrice, instrument.pricePrecision);
      const last = (this.stmts.lastPrice.get(name) as { price: bigint } | undefined)?.price;
      this.walks.set(name, {
        price: last ?? initial,
        initial: Number(initial),
        volatility: instrument.volatility,
        steppedAt: now,
        random: createRandom(config.seed + ++index),
      });
    }
    this.failures = createRandom(config.seed);
    // A stream of its own, so that turning lost answers on leaves the seeded failures as they were.
    this.lostAnswers = createRandom(config.seed + 0x1057);
  }

  quote(instrument: string): Promise<Quote> {
    if (!this.walks.has(instrument)) return Promise.reject(unknownInstrument(instrument));
    return Promise.resolve({ instrument, price: this.priceOf(instrument), at: this.options.clock.now() });
  }

  async open({ operationId, instrument, side, size, limitPrice }: OrderRequest): Promise<Fill> {
    const known = this.order(operationId);
    if (known) return fillOf(known.entry_price, known.entry_at);
    this.priceOf(instrument); // unknown instruments fail before the latency
    const waiting = this.latency();
    if (waiting) {
      await waiting;
      // Another request for the same operation may have filled it while this one waited.
      const again = this.order(operationId);
      if (again) return fillOf(again.entry_price, again.entry_at);
    }
    this.maybeFail("open", operationId);
    const price = this.slipped(this.priceOf(instrument), side, "open");
    // A venue honours the limit price: rather no fill than one beyond it.
    if (limitPrice !== undefined && (side === "buy" ? price > limitPrice : price < limitPrice)) {
      throw new ExecutionError(
        `paper: operation ${operationId} would fill at ${price} units, beyond its limit price of ${limitPrice}`,
        "refused",
      );
    }
    const at = this.options.clock.now();
    const inserted = this.write(
      () => this.stmts.insert.run(operationId, instrument, side, size, price, at).changes,
    );
    // Whoever inserted first wins: when it was not this call, read back what the venue holds.
    const stored = inserted === 1 ? { entry_price: price, entry_at: at } : this.order(operationId)!;
    this.maybeLoseAnswer("open", operationId);
    return fillOf(stored.entry_price, stored.entry_at);
  }

  async close({ operationId, instrument, side }: OrderRequest): Promise<Fill> {
    const known = this.order(operationId);
    if (!known) throw new ExecutionError(`paper: no open position for operation ${operationId}`, "refused");
    if (known.exit_price !== null) return fillOf(known.exit_price, known.exit_at!);
    let again = known;
    const waiting = this.latency();
    if (waiting) {
      await waiting;
      again = this.order(operationId)!;
    }
    if (again.exit_price !== null) return fillOf(again.exit_price, again.exit_at!);
    this.maybeFail("close", operationId);
    const price = this.slipped(this.priceOf(instrument), side, "close");
    const at = this.options.clock.now();
    const closed = this.write(() => this.stmts.close.run(price, at, operationId).changes);
    const stored = closed === 1 ? { exit_price: price, exit_at: at } : this.order(operationId)!;
    this.maybeLoseAnswer("close", operationId);
    return fillOf(stored.exit_price!, stored.exit_at!);
  }

  status(operationId: string): Promise<ExecutionStatus> {
    const order = this.order(operationId);
    if (!order) return Promise.resolve({ state: "unknown" });
    const entry = fillOf(order.entry_price, order.entry_at);
    if (order.exit_price === null) return Promise.resolve({ state: "open", entry });
    return Promise.resolve({ state: "closed", entry, exit: fillOf(order.exit_price, order.exit_at!) });
  }

  /** The walk's price now, in the instrument's price units. */
  private priceOf(instrument: string): bigint {
    const walk = this.walks.get(instrument);
    if (!walk) throw unknownInstrument(instrument);
    const { stepMs } = this.options.config;
    const now = this.options.clock.now();
    const due = Math.floor((now - walk.steppedAt) / stepMs);
    if (due <= 0) return walk.price;
    for (let i = 0; i < Math.min(due, MAX_CATCH_UP_STEPS); i++) {
      const current = Number(walk.price);
      const drift = MEAN_REVERSION * Math.log(walk.initial / current);
      const next = Math.round(current * Math.exp(drift + walk.volatility * gaussian(walk.random)));
      walk.price = BigInt(Math.max(1, next));
    }
    walk.steppedAt += due * stepMs;
    return walk.price;
  }

  /** Against the trader: opening a long or closing a short pays more, the other two receive less. */
  private slipped(price: bigint, side: Side, action: "open" | "close"): bigint {
    const bps = BigInt(Math.round(this.options.config.slippageBps * 100)); // hundredths of a bp
    if (bps === 0n) return price;
    const paysMore = (side === "buy") === (action === "open");
    const factor = paysMore ? BPS * 100n + bps : BPS * 100n - bps;
    return divRound(price * factor, BPS * 100n, paysMore ? "up" : "down");
  }

  private maybeFail(action: string, operationId: string): void {
    if (this.failures() < this.options.config.failureRate) {
      throw new ExecutionError(`paper: simulated ${action} rejection of operation ${operationId}`, "refused");
    }
  }

  private maybeLoseAnswer(action: string, operationId: string): void {
    if (this.lostAnswers() < this.options.config.lostAnswerRate) {
      throw new ExecutionError(
        `paper: simulated lost answer to the ${action} of operation ${operationId}`,
        "unknown",
      );
    }
  }

  /**
   * The configured latency, or undefined when there is none: then the caller goes on without an
   * `await` (not even a microtask's), and the order it read is still current.
   */
  private latency(): Promise<void> | undefined {
    const { latencyMs } = this.options.config;
    return latencyMs > 0 ? sleep(latencyMs) : undefined;
  }

  private write<T>(fn: () => T): T {
    return this.options.commits ? this.options.commits.write(fn) : fn();
  }

  private order(operationId: string): PaperOrderRow | undefined {
    return this.stmts.get.get(operationId) as PaperOrderRow | undefined;
  }
}

function unknownInstrument(instrument: string): ExecutionError {
  return new ExecutionError(`paper: unknown instrument ${instrument}`, "refused");
}

function fillOf(price: bigint, at: bigint | number): Fill {
  return { price, at: Number(at) };
}
