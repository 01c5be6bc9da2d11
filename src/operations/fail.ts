import type { Tracer } from "@opentelemetry/api";
import type { Clock } from "../platform/clock.js";
import type { GroupCommit } from "../platform/group-commit.js";
import { dbWrite } from "../platform/spans.js";
import type { RiskLedger } from "../risk/ledger.js";
import type { EventLog } from "../events/log.js";
import type { GlobalBudget } from "../global/budget.js";
import type { RiskLimits } from "../risk/limits.js";
import { recordOperationEvent } from "./events.js";
import type { Operation } from "./model.js";
import type { OperationRepository } from "./repository.js";

/** What failing a pending operation needs. */
export interface FailDeps {
  commits: GroupCommit;
  repo: OperationRepository;
  ledger: RiskLedger;
  clock: Clock;
  tracer: Tracer;
  events: EventLog;
  limits: RiskLimits;
  global?: GlobalBudget;
}

/**
 * Marks a pending operation failed, for a reason that means nothing was executed, and releases
 * what it reserved. Returns false, changing nothing, when the row was no longer pending.
 */
export function failPending(deps: FailDeps, op: Operation, reason: string): boolean {
  const change = { status: "failed", failureReason: reason, closedAt: deps.clock.now() } as const;
  const failed = dbWrite(deps.tracer, "operation.fail", () =>
    deps.commits.write(() => {
      if (!deps.repo.markFailed(op.id, reason, change.closedAt)) return false;
      recordOperationEvent(deps, "operation.failed", op, change);
      return true;
    }),
  );
  if (!failed) return false;
  deps.ledger.release(op);
  Object.assign(op, change);
  deps.global?.release(op.id, op);
  return true;
}
