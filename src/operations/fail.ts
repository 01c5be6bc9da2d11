import type { Tracer } from "@opentelemetry/api";
import type { Clock } from "../platform/clock.js";
import type { GroupCommit } from "../platform/group-commit.js";
import { dbWrite } from "../platform/spans.js";
import type { RiskLedger } from "../risk/ledger.js";
import type { Operation } from "./model.js";
import type { OperationRepository } from "./repository.js";

/** What failing a pending operation needs. */
export interface FailDeps {
  commits: GroupCommit;
  repo: OperationRepository;
  ledger: RiskLedger;
  clock: Clock;
  tracer: Tracer;
}

/**
 * Marks a pending operation failed, for a reason that means nothing was executed, and releases
 * what it reserved. Returns false, changing nothing, when the row was no longer pending.
 */
export function failPending(deps: FailDeps, op: Operation, reason: string): boolean {
  const failed = dbWrite(deps.tracer, "operation.fail", () =>
    deps.commits.write(() => deps.repo.markFailed(op.id, reason, deps.clock.now())),
  );
  if (!failed) return false;
  deps.ledger.release(op);
  Object.assign(op, { status: "failed", failureReason: reason });
  return true;
}
