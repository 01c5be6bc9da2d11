import type { EventLog } from "../events/log.js";
import type { EventKind } from "../events/model.js";
import type { GroupCommit } from "../platform/group-commit.js";
import type { RiskLimits } from "../risk/limits.js";
import type { ReconcileOutcome } from "./reconciliation.js";
import type { Operation } from "./model.js";
import { toOperationView } from "./view.js";

/** What recording an operation's events needs. */
export interface OperationEventDeps {
  events: EventLog;
  limits: RiskLimits;
}

/**
 * Appends an event about `op` as it is once `change` is applied (call it inside the
 * `commits.write` that makes the change): `data.operation` is what `GET /v1/operations/:id` shows
 * after the change, beside the kind's own fields.
 */
export function recordOperationEvent(
  deps: OperationEventDeps,
  kind: Extract<EventKind, `operation.${string}`>,
  op: Operation,
  change: Partial<Operation> = {},
  fields: Record<string, unknown> = {},
): void {
  deps.events.append(
    kind,
    { operationId: op.id, strategy: op.strategy, instrument: op.instrument },
    { ...fields, operation: toOperationView({ ...op, ...change }, deps.limits) },
  );
}

/** What reconciling an operation settled it as (`operation.reconciled`). */
export type ReconciledAs = Extract<ReconcileOutcome, "open" | "closed" | "failed">;

/**
 * Records that an execution whose outcome was unknown is settled: in a write of its own, in the
 * same batch as the change that settled it.
 */
export function recordReconciled(
  deps: OperationEventDeps & { commits: GroupCommit },
  op: Operation,
  outcome: ReconciledAs,
): void {
  deps.commits.write(() => recordOperationEvent(deps, "operation.reconciled", op, {}, { outcome }));
}
