import type { Statement } from "better-sqlite3";
import type { Db } from "../platform/db.js";
import { PerformanceAggregates } from "../reports/performance/aggregates.js";
import type { CloseReason, Operation, OperationStatus, Side } from "./model.js";

/** A close as it is booked: the fill's price and time, the P&L, and the risk the stop-loss set. */
export interface BookedClose {
  exitPrice: bigint;
  pnl: bigint;
  /** Money lost had the stop-loss been hit at its price; null without a stop-loss. */
  plannedRisk: bigint | null;
  reason: CloseReason;
  at: number;
}

interface OperationRow {
  id: string;
  client_id: string;
  strategy: string;
  instrument: string;
  side: Side;
  size: bigint;
  auto_sized: bigint;
  stop_loss: bigint | null;
  take_profit: bigint | null;
  max_duration_sec: bigint | null;
  pattern: string | null;
  confidence: number | null;
  status: OperationStatus;
  notional: bigint;
  entry_price: bigint | null;
  exit_price: bigint | null;
  close_reason: CloseReason | null;
  close_requested_at: bigint | null;
  pnl: bigint | null;
  failure_reason: string | null;
  request_hash: string;
  created_at: bigint;
  opened_at: bigint | null;
  closed_at: bigint | null;
}

const num = (value: bigint | null): number | null => (value === null ? null : Number(value));

function fromRow(row: OperationRow): Operation {
  return {
    id: row.id,
    clientId: row.client_id,
    strategy: row.strategy,
    instrument: row.instrument,
    side: row.side,
    size: row.size,
    autoSized: row.auto_sized === 1n,
    stopLoss: row.stop_loss,
    takeProfit: row.take_profit,
    maxDurationSec: num(row.max_duration_sec),
    pattern: row.pattern,
    confidence: row.confidence,
    status: row.status,
    notional: row.notional,
    entryPrice: row.entry_price,
    exitPrice: row.exit_price,
    closeReason: row.close_reason,
    closeRequestedAt: num(row.close_requested_at),
    pnl: row.pnl,
    failureReason: row.failure_reason,
    requestHash: row.request_hash,
    createdAt: Number(row.created_at),
    openedAt: num(row.opened_at),
    closedAt: num(row.closed_at),
  };
}

/** Filters of `GET /v1/operations`; results come newest first, `before` is the cursor. */
export interface OperationQuery {
  status?: OperationStatus;
  strategy?: string;
  instrument?: string;
  /** Only operations with an id lower than this (ids sort by creation time). */
  before?: string;
  limit: number;
}

/** Reads and writes operations. Every statement is prepared once; none scans the table per call. */
export class OperationRepository {
  private readonly stmts: Record<string, Statement>;
  private readonly listStatements = new Map<string, Statement>();

  private readonly aggregates: PerformanceAggregates;
  private insertCount = 0;

  constructor(private readonly db: Db) {
    this.aggregates = new PerformanceAggregates(db);
    this.stmts = {
      insert: db.prepare(`
        INSERT INTO operations (id, client_id, strategy, instrument, side, size, auto_sized, stop_loss,
          take_profit, max_duration_sec, pattern, confidence, status, notional, request_hash, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)`),
      markOpen: db.prepare(`
        UPDATE operations SET status = 'open', entry_price = ?, notional = ?, opened_at = ?
        WHERE id = ? AND status = 'pending'`),
      markFailed: db.prepare(`
        UPDATE operations SET status = 'failed', failure_reason = ?, closed_at = ?
        WHERE id = ? AND status = 'pending'`),
      requestClose: db.prepare(`
        UPDATE operations SET close_requested_at = ?, close_reason = ?
        WHERE id = ? AND status = 'open' AND close_requested_at IS NULL`),
      clearCloseRequest: db.prepare(`
        UPDATE operations SET close_requested_at = NULL, close_reason = NULL WHERE id = ? AND status = 'open'`),
      markClosed: db.prepare(`
        UPDATE operations SET status = 'closed', exit_price = ?, pnl = ?, planned_risk = ?, close_reason = ?,
          closed_at = ?
        WHERE id = ? AND status = 'open'`),
      get: db.prepare(`SELECT * FROM operations WHERE id = ?`),
      byClient: db.prepare(`SELECT * FROM operations WHERE strategy = ? AND client_id = ?`),
      live: db.prepare(`SELECT * FROM operations WHERE status IN ('pending', 'open') ORDER BY id`),
      dailyByStrategy: db.prepare(
        `SELECT strategy, COUNT(*) AS n FROM operations WHERE created_at >= ? GROUP BY strategy`,
      ),
      pnlSince: db.prepare(
        `SELECT COALESCE(SUM(pnl), 0) AS total FROM operations WHERE closed_at >= ? AND status = 'closed'`,
      ),
      lastByInstrument: db.prepare(
        `SELECT instrument, MAX(created_at) AS at FROM operations WHERE created_at >= ? GROUP BY instrument`,
      ),
      totalPnl: db.prepare(`SELECT COALESCE(SUM(pnl), 0) AS total FROM operations WHERE status = 'closed'`),
    };
  }

  /**
   * Operations this repository has inserted (counted before the statement runs, so also those a
   * rollback undid). Only one opsguard process writes a database (its data folder's
   * `opsguard.pid`): while this stays the same, no operation has been added.
   */
  get inserts(): number {
    return this.insertCount;
  }

  insertPending(op: Operation): void {
    this.insertCount++;
    // Positional: binding by name looks each of the 15 names up again on every insert.
    this.stmts.insert!.run(
      op.id,
      op.clientId,
      op.strategy,
      op.instrument,
      op.side,
      op.size,
      op.autoSized ? 1 : 0,
      op.stopLoss,
      op.takeProfit,
      op.maxDurationSec,
      op.pattern,
      op.confidence,
      op.notional,
      op.requestHash,
      op.createdAt,
    );
  }

  markOpen(id: string, entryPrice: bigint, notional: bigint, at: number): boolean {
    return this.stmts.markOpen!.run(entryPrice, notional, at, id).changes === 1;
  }

  markFailed(id: string, reason: string, at: number): boolean {
    return this.stmts.markFailed!.run(reason, at, id).changes === 1;
  }

  /** Records that a close was asked for, so a restart finishes it; false if one already was. */
  requestClose(id: string, reason: CloseReason, at: number): boolean {
    return this.stmts.requestClose!.run(at, reason, id).changes === 1;
  }

  /** Forgets a close request the executor refused, so it can be asked again. */
  clearCloseRequest(id: string): void {
    this.stmts.clearCloseRequest!.run(id);
  }

  /**
   * Closes the open operation `op` and adds it to the daily aggregates of the performance report,
   * in the caller's transaction. False, changing nothing, when the row was no longer open.
   */
  markClosed(op: Operation, close: BookedClose): boolean {
    const { exitPrice, pnl, plannedRisk, reason, at } = close;
    if (this.stmts.markClosed!.run(exitPrice, pnl, plannedRisk, reason, at, op.id).changes !== 1)
      return false;
    this.aggregates.recordClose({
      strategy: op.strategy,
      instrument: op.instrument,
      pattern: op.pattern,
      confidence: op.confidence,
      side: op.side,
      pnl,
      plannedRisk,
      openedAt: op.openedAt!,
      closedAt: at,
    });
    return true;
  }

  get(id: string): Operation | undefined {
    const row = this.stmts.get!.get(id) as OperationRow | undefined;
    return row && fromRow(row);
  }

  findByClientId(strategy: string, clientId: string): Operation | undefined {
    const row = this.stmts.byClient!.get(strategy, clientId) as OperationRow | undefined;
    return row && fromRow(row);
  }

  /** Pending and open operations, through a partial index. */
  listLive(): Operation[] {
    return (this.stmts.live!.all() as OperationRow[]).map(fromRow);
  }

  list(query: OperationQuery): Operation[] {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: query.limit };
    for (const key of ["status", "strategy", "instrument"] as const) {
      const value = query[key];
      if (value !== undefined) {
        where.push(`${key} = @${key}`);
        params[key] = value;
      }
    }
    if (query.before !== undefined) {
      where.push("id < @before");
      params.before = query.before;
    }
    const sql = `SELECT * FROM operations ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT @limit`;
    // One statement per filter shape (at most 16), prepared once.
    let statement = this.listStatements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.listStatements.set(sql, statement);
    }
    return (statement.all(params) as OperationRow[]).map(fromRow);
  }

  dailyOperations(since: number): Map<string, number> {
    const rows = this.stmts.dailyByStrategy!.all(since) as { strategy: string; n: bigint }[];
    return new Map(rows.map((r) => [r.strategy, Number(r.n)]));
  }

  pnlSince(since: number): bigint {
    return (this.stmts.pnlSince!.get(since) as { total: bigint }).total;
  }

  totalPnl(): bigint {
    return (this.stmts.totalPnl!.get() as { total: bigint }).total;
  }

  lastOperationAt(since: number): Map<string, number> {
    const rows = this.stmts.lastByInstrument!.all(since) as { instrument: string; at: bigint }[];
    return new Map(rows.map((r) => [r.instrument, Number(r.at)]));
  }
}
