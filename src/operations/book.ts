import type { Tracer } from "@opentelemetry/api";
import type { Fill } from "../execution/executor.js";
import { abs, multiply } from "../platform/fixed-point.js";
import type { GroupCommit } from "../platform/group-commit.js";
import type { Logger } from "../platform/logger.js";
import type { Metrics } from "../platform/metrics.js";
import { dbWrite } from "../platform/spans.js";
import type { RiskLedger } from "../risk/ledger.js";
import type { RiskLimits } from "../risk/limits.js";
import type { RiskRepository } from "../risk/repository.js";
import type { EventLog } from "../events/log.js";
import type { GlobalBudget } from "../global/budget.js";
import { direction, resultOf, type CloseReason, type Operation } from "./model.js";
import { recordOperationEvent } from "./events.js";
import { recordClose } from "./outcomes.js";
import type { OperationRepository } from "./repository.js";

/** What booking a close needs. */
export interface BookDeps {
  commits: GroupCommit;
  repo: OperationRepository;
  riskRepo: RiskRepository;
  ledger: RiskLedger;
  limits: RiskLimits;
  metrics: Metrics;
  logger: Logger;
  tracer: Tracer;
  events: EventLog;
  /** The firm-wide limits, when configured: told of every close, after it is booked here. */
  global?: GlobalBudget;
}

/**
 * Books the close of `op` at `fill` in one write: the row closed with its P&L, equity and the
 * strategy's loss streak; then updates `op`, counts and logs the close. Returns false, changing
 * nothing, when the row was no longer open (someone else booked it first).
 */
export function bookClose(
  deps: BookDeps,
  op: Operation,
  fill: Fill,
  reason: CloseReason,
  bySupervisor: boolean,
): boolean {
  const { commits, repo, riskRepo, ledger, limits } = deps;
  const scales = limits.instruments.get(op.instrument)!;
  const pnl =
    direction(op.side) *
    multiply(fill.price - op.entryPrice!, scales.price, op.size, scales.size, limits.moneyScale);
  const plannedRisk =
    op.stopLoss === null
      ? null
      : multiply(abs(op.entryPrice! - op.stopLoss), scales.price, op.size, scales.size, limits.moneyScale);
  const close = { exitPrice: fill.price, pnl, plannedRisk, reason, at: fill.at };
  const closed = {
    status: "closed",
    exitPrice: fill.price,
    pnl,
    closeReason: reason,
    closedAt: fill.at,
  } as const;
  const booked = dbWrite(deps.tracer, "operation.book", () =>
    commits.write(() => {
      if (!repo.markClosed(op, close)) return false;
      recordOperationEvent(deps, "operation.closed", op, closed, { result: resultOf(pnl) });
      const cooldownBefore = ledger.streakOf(op.strategy).cooldownUntil;
      ledger.book(op, pnl);
      riskRepo.save(ledger.state);
      const streak = ledger.streakOf(op.strategy);
      riskRepo.saveStreak(op.strategy, streak);
      if (streak.cooldownUntil !== cooldownBefore) riskRepo.recordCooldown(op.strategy, fill.at);
      return true;
    }),
  );
  if (!booked) return false;
  Object.assign(op, closed);
  deps.global?.release(op.id, op);
  recordClose(deps.metrics, deps.logger, limits.moneyScale, { op, pnl, reason, at: fill.at, bySupervisor });
  return true;
}
