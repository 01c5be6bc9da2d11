import { readFileSync } from "node:fs";
import pg from "pg";
import type { Config, GlobalLimitsConfig } from "../config/schema.js";
import type { Operation } from "../operations/model.js";
import { dayOf, type Clock } from "../platform/clock.js";
import type { GroupCommit } from "../platform/group-commit.js";
import { DomainError, StartupError, type ProblemDetail } from "../platform/errors.js";
import { formatFixed, parseFixed } from "../platform/fixed-point.js";
import type { Logger } from "../platform/logger.js";
import type { RejectionCode } from "../risk/codes.js";
import type { MetricsRegistry } from "../platform/metrics.js";
import { BUDGETS, createGlobalLimitsMetrics, type Budget, type GlobalLimitsMetrics } from "./metrics.js";
import { setUpSchema } from "./store.js";

/** How often the firm-wide usage is read for the metrics, and queued releases are retried. */
const REFRESH_MS = 5_000;

/** The rejection code of each budget, and the config key that limits it. */
const REFUSALS: Record<Budget, { code: RejectionCode; key: string }> = {
  exposure: { code: "GLOBAL_EXPOSURE_EXCEEDED", key: "globalLimits.maxExposure" },
  daily_operations: { code: "GLOBAL_DAILY_OPERATIONS_EXCEEDED", key: "globalLimits.maxDailyOperations" },
  daily_loss: { code: "GLOBAL_DAILY_LOSS_EXCEEDED", key: "globalLimits.maxDailyLoss" },
};

/** A reservation asked for and not answered yet. */
interface Asked {
  id: string;
  notional: bigint;
  day: string;
  resolve(): void;
  reject(error: unknown): void;
}

/** What an operation gives back when it ends: its exposure, and the loss to book, if any. */
interface Release {
  operationId: string;
  /** Realized loss, a positive amount at the money scale; 0 for none. */
  loss: bigint;
  /** The UTC day the loss counts in (of the close). */
  day: string;
}

export interface GlobalBudgetOptions {
  config: GlobalLimitsConfig & { urlFile: string; account: string };
  moneyScale: number;
  clock: Clock;
  logger: Logger;
  metrics: GlobalLimitsMetrics;
  commits: GroupCommit;
}

/** The PostgreSQL URL in `path`; a file that is missing or empty stops the start, in one line. */
function readUrl(path: string): string {
  let url: string;
  try {
    url = readFileSync(path, "utf8").trim();
  } catch (error) {
    throw new StartupError(`globalLimits.urlFile ${path} cannot be read: ${(error as Error).message}`);
  }
  if (url === "") throw new StartupError(`globalLimits.urlFile ${path} is empty`);
  return url;
}

/** This instance's own operations, as its database has them. */
export interface OwnBook {
  /** Pending and open operations. */
  live(): Operation[];
  /** Any operation by id (closed and failed ones too); undefined when it was never recorded. */
  get(id: string): Operation | undefined;
}

/**
 * The firm-wide limits of every instance, held in PostgreSQL (see `store.ts` and
 * docs/scaling.md). A submit reserves its share with one atomic call before it is recorded here;
 * an operation that ends (closed, failed, never recorded) gives its share back afterwards, in the
 * background, so a close never waits for PostgreSQL. What a crash or an outage leaves behind is
 * settled by {@link reconcile} at start, from this instance's own database.
 *
 * Fails closed: PostgreSQL unreachable or slower than `timeoutMs`, a submit is refused with
 * `GLOBAL_LIMITS_UNAVAILABLE`; the pool reconnects by itself once it is back.
 */
export class GlobalBudget {
  private readonly pool: pg.Pool;
  private readonly account: string;
  private readonly limits: {
    exposure: string | null;
    daily_operations: string | null;
    daily_loss: string | null;
  };
  private queued: Release[] = [];
  /** Reservations asked for in this turn of the event loop, sent together at its end. */
  private asking: Asked[] = [];
  private book: OwnBook | undefined;
  /** Whether this instance's reservations were settled since it started. */
  private reconciled = false;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private warnedAt = Number.NEGATIVE_INFINITY;
  private readonly options: GlobalBudgetOptions;

  constructor(options: GlobalBudgetOptions) {
    this.options = options;
    const { config, moneyScale } = options;
    this.account = config.account;
    const money = (value: string | number | undefined): string | null =>
      value === undefined ? null : formatFixed(parseFixed(value, moneyScale), moneyScale);
    this.limits = {
      exposure: money(config.maxExposure),
      daily_operations: config.maxDailyOperations === undefined ? null : String(config.maxDailyOperations),
      daily_loss: money(config.maxDailyLoss),
    };
    for (const budget of BUDGETS) {
      const limit = this.limits[budget];
      if (limit !== null) options.metrics.limit.set({ budget }, Number(limit));
    }
    this.pool = new pg.Pool({
      connectionString: readUrl(config.urlFile),
      max: config.poolSize,
      connectionTimeoutMillis: config.timeoutMs,
      // The client gives up after the timeout, and the server cancels the statement then too, so
      // a call given up on cannot hold the budget rows' locks.
      query_timeout: config.timeoutMs,
      statement_timeout: config.timeoutMs,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection's error (the server restarted) must not crash the process; the next
    // query opens a new one.
    this.pool.on("error", (error) => this.down(error));
  }

  /**
   * Sets up the schema and settles what this instance holds against what it has, then keeps the
   * metrics fresh. Until that has worked once, no operation is reserved (a start while PostgreSQL
   * is down refuses submits and goes on supervising); it is tried again every few seconds.
   */
  async start(book: OwnBook): Promise<void> {
    this.book = book;
    this.timer = setInterval(() => void this.tick(), REFRESH_MS);
    this.timer.unref();
    await this.tick();
  }

  private async tick(): Promise<void> {
    if (!this.reconciled) {
      try {
        await this.reconcile();
        this.reconciled = true;
      } catch (error) {
        this.down(error);
        return;
      }
    }
    await this.refresh();
    await this.flush();
  }

  /** Releases what this instance holds and no longer has; adopts what it has and does not hold. */
  private async reconcile(): Promise<void> {
    const book = this.book!;
    const started = performance.now();
    await setUpSchema(this.pool);
    // Every connection of the pool opened now, not by the first burst of submits, each of which
    // would otherwise wait for a connection to be set up within its timeout.
    const warm = await Promise.all(
      Array.from({ length: this.options.config.poolSize }, () => this.pool.connect()),
    );
    for (const client of warm) client.release();
    const held = new Set(
      (
        await this.pool.query<{ operation_id: string }>(
          "SELECT operation_id FROM opsguard_reservations WHERE account = $1",
          [this.account],
        )
      ).rows.map((row) => row.operation_id),
    );
    const live = book.live();
    const liveIds = new Set(live.map((op) => op.id));
    const releases = [...held].filter((id) => !liveIds.has(id)).map((id) => this.releaseOf(id, book.get(id)));
    let adopted = 0;
    for (const op of live) {
      if (held.has(op.id)) continue;
      const { rows } = await this.pool.query<{ adopted: boolean }>(
        "SELECT opsguard_adopt($1, $2, $3) AS adopted",
        [op.id, this.account, formatFixed(op.notional, this.options.moneyScale)],
      );
      if (rows[0]?.adopted) adopted++;
    }
    await this.send(releases);
    this.options.metrics.duration.observe({ call: "reconcile" }, (performance.now() - started) / 1000);
    this.up();
    this.options.logger.info("global limits reconciled", {
      event: "global_limits.reconciled",
      account: this.account,
      released: releases.length,
      adopted,
    });
  }

  /**
   * Reserves `op`'s share of every global budget: its notional against the exposure, one
   * operation of the day, and a check of the day's loss. Throws `RISK_REJECTED` naming the budget
   * when a limit would be crossed, `GLOBAL_LIMITS_UNAVAILABLE` when PostgreSQL does not answer in
   * time (nothing is reserved then, or what was is found by the next start's reconciliation).
   *
   * The submits of one event-loop turn go in one call, as their rows go in one commit: under load
   * each would otherwise wait for the one before it to release the budget rows' locks.
   */
  reserve(op: { id: string; notional: bigint }, now: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.asking.push({ id: op.id, notional: op.notional, day: dayOf(now), resolve, reject });
      if (this.asking.length === 1) setImmediate(() => void this.ask());
    });
  }

  /** Sends the reservations asked for in the last turn, one call per day among them. */
  private async ask(): Promise<void> {
    const asking = this.asking;
    this.asking = [];
    const days = new Map<string, Asked[]>();
    for (const asked of asking) {
      const ofDay = days.get(asked.day);
      if (ofDay) ofDay.push(asked);
      else days.set(asked.day, [asked]);
    }
    await Promise.all([...days].map(([day, batch]) => this.reserveBatch(day, batch)));
  }

  private async reserveBatch(day: string, batch: readonly Asked[]): Promise<void> {
    const { metrics, moneyScale, config } = this.options;
    const started = performance.now();
    let answers: { refused: Budget | null; used: string | null }[];
    try {
      if (!this.reconciled) throw new Error("this instance's reservations are not reconciled yet");
      ({ rows: answers } = await this.pool.query<{ refused: Budget | null; used: string | null }>(
        "SELECT refused, used FROM opsguard_reserve($1, $2, $3, $4, $5, $6, $7)",
        [
          batch.map((asked) => asked.id),
          this.account,
          batch.map((asked) => formatFixed(asked.notional, moneyScale)),
          day,
          this.limits.exposure,
          this.limits.daily_operations,
          this.limits.daily_loss,
        ],
      ));
      if (answers.length !== batch.length) {
        throw new Error(`opsguard_reserve answered ${answers.length} rows for ${batch.length} operations`);
      }
    } catch (error) {
      this.down(error);
      metrics.reservations.inc({ result: "unavailable" }, batch.length);
      for (const asked of batch) {
        asked.reject(
          new DomainError(
            "GLOBAL_LIMITS_UNAVAILABLE",
            `the firm-wide limits could not be checked within ${config.timeoutMs} ms, so no operation is opened; closes go on`,
            [],
            { cause: error },
          ),
        );
      }
      return;
    } finally {
      metrics.duration.observe({ call: "reserve" }, (performance.now() - started) / 1000);
    }
    this.up();
    batch.forEach((asked, i) => {
      const { refused, used } = answers[i]!;
      if (!refused) {
        metrics.reservations.inc({ result: "reserved" });
        asked.resolve();
        return;
      }
      metrics.reservations.inc({ result: "refused" });
      const { code, key } = REFUSALS[refused];
      const failure: ProblemDetail = {
        code,
        message: `the firm-wide ${refused.replace("_", " ")} limit (${key}) would be crossed`,
        limit: this.limits[refused] ?? "none",
        observed: used ?? "0",
      };
      asked.reject(new DomainError("RISK_REJECTED", "the operation breaks the firm-wide limits", [failure]));
    });
  }

  /**
   * Gives back what `op` holds (it was closed, failed, or never recorded), booking its loss if it
   * closed at one. Queued and sent in the background: never waits for PostgreSQL, and what cannot
   * be sent now is sent again until it is, or settled by the next start's reconciliation.
   */
  release(operationId: string, op?: Operation): void {
    this.queued.push(this.releaseOf(operationId, op));
    this.options.metrics.releasesPending.set(this.queued.length);
    // After the local commit that ended it: a crash before it must find the share still held.
    void this.options.commits.durable().then(
      () => this.flush(),
      () => undefined, // the commit failed and opsguard stops; the next start reconciles
    );
  }

  /** Sends what is queued; resolves once done or failed (then it stays queued). */
  flush(): Promise<void> {
    if (this.flushing || this.queued.length === 0 || !this.reconciled)
      return this.flushing ?? Promise.resolve();
    const batch = this.queued;
    this.queued = [];
    this.flushing = this.send(batch).then(
      () => {
        this.flushing = undefined;
        this.options.metrics.releasesPending.set(this.queued.length);
        // What was queued while this batch was on its way goes now, not at the next refresh.
        return this.flush();
      },
      (error: unknown) => {
        this.flushing = undefined;
        this.down(error);
        this.queued = [...batch, ...this.queued];
        this.options.metrics.releasesPending.set(this.queued.length);
      },
    );
    return this.flushing;
  }

  /** Stops the refresh timer, sends what is queued if it can, and closes the pool. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    await this.pool.end();
  }

  private releaseOf(operationId: string, op: Operation | undefined): Release {
    const closedAtLoss = op?.status === "closed" && op.pnl !== null && op.pnl < 0n;
    return {
      operationId,
      loss: closedAtLoss ? -op.pnl! : 0n,
      day: dayOf(op?.closedAt ?? this.options.clock.now()),
    };
  }

  private async send(releases: readonly Release[]): Promise<void> {
    if (releases.length === 0) return;
    const started = performance.now();
    await this.pool.query("SELECT opsguard_release($1, $2, $3)", [
      releases.map((r) => r.operationId),
      releases.map((r) => formatFixed(r.loss, this.options.moneyScale)),
      releases.map((r) => r.day),
    ]);
    this.options.metrics.duration.observe({ call: "release" }, (performance.now() - started) / 1000);
    this.up();
  }

  /** Reads the firm-wide usage of today's budgets into the metrics. */
  private async refresh(): Promise<void> {
    const day = dayOf(this.options.clock.now());
    const keys: Record<string, Budget> = {
      exposure: "exposure",
      [`operations:${day}`]: "daily_operations",
      [`loss:${day}`]: "daily_loss",
    };
    try {
      const { rows } = await this.pool.query<{ budget_key: string; used: string }>(
        "SELECT budget_key, used FROM opsguard_budgets WHERE budget_key = ANY($1)",
        [Object.keys(keys)],
      );
      const used = new Map(rows.map((row) => [keys[row.budget_key]!, Number(row.used)]));
      for (const budget of BUDGETS) this.options.metrics.used.set({ budget }, used.get(budget) ?? 0);
      this.up();
    } catch (error) {
      this.down(error);
    }
  }

  private up(): void {
    this.options.metrics.up.set(1);
  }

  private down(error: unknown): void {
    this.options.metrics.up.set(0);
    // Once per 10 s at most: an outage under load would otherwise log every refused submit.
    const now = Date.now();
    if (now - this.warnedAt < 10_000) return;
    this.warnedAt = now;
    this.options.logger.warn("the global limits' PostgreSQL did not answer", {
      event: "global_limits.unavailable",
      error: (error as Error).message,
    });
  }
}

/**
 * The global limits of `config`, with their metrics in `registry`; undefined when
 * `globalLimits.urlFile` is not set (nothing of them then runs or is exported).
 */
export function createGlobalBudget(
  config: Config,
  deps: { registry: MetricsRegistry; clock: Clock; logger: Logger; commits: GroupCommit },
): GlobalBudget | undefined {
  const { urlFile, account } = config.globalLimits;
  if (urlFile === undefined || account === undefined) return undefined;
  return new GlobalBudget({
    config: { ...config.globalLimits, urlFile, account },
    moneyScale: config.accounting.precision,
    clock: deps.clock,
    logger: deps.logger,
    commits: deps.commits,
    metrics: createGlobalLimitsMetrics(deps.registry),
  });
}
