import type { Tracer } from "@opentelemetry/api";
import type { Clock } from "../platform/clock.js";
import type { GroupCommit } from "../platform/group-commit.js";
import { DomainError } from "../platform/errors.js";
import type { Logger } from "../platform/logger.js";
import type { Metrics } from "../platform/metrics.js";
import { ATTR, inSpanSync, SPAN } from "../platform/spans.js";
import { evaluateRisk, type RiskDecision, type RiskRequest, type RiskUsage } from "../risk/evaluate.js";
import type { RiskLimits } from "../risk/limits.js";
import type { RiskRepository } from "../risk/repository.js";

export interface RiskCheckDeps {
  limits: RiskLimits;
  riskRepo: RiskRepository;
  commits: GroupCommit;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  tracer: Tracer;
}

/**
 * The pre-trade check of one submit, in a `risk.check` span carrying the decision and the failed
 * codes. A rejection is counted per failed check (the metric, and the day's count for the
 * performance report, committed with the turn's writes), logged as `risk.rejected` and thrown as
 * `RISK_REJECTED` with every failure; otherwise the decision (size, notional) is returned.
 */
export function checkRisk(
  { limits, riskRepo, commits, clock, metrics, logger, tracer }: RiskCheckDeps,
  request: RiskRequest,
  usage: RiskUsage,
  clientId: string,
): RiskDecision {
  const attributes = { [ATTR.STRATEGY]: request.strategy, [ATTR.INSTRUMENT]: request.instrument };
  const decision = inSpanSync(tracer, SPAN.RISK_CHECK, attributes, (span) => {
    const result = evaluateRisk(request, usage, limits);
    // A rejection is a decision, not an error of the span.
    span.setAttribute(ATTR.RISK_DECISION, result.failures.length > 0 ? "rejected" : "accepted");
    if (result.failures.length > 0) {
      span.setAttribute(
        ATTR.RISK_FAILED_CODES,
        result.failures.map((f) => f.code),
      );
    }
    return result;
  });
  if (decision.failures.length === 0) return decision;
  recordRejection(
    { limits, riskRepo, commits, clock, metrics, logger },
    request,
    decision.failures.map((f) => f.code),
    clientId,
  );
  throw new DomainError("RISK_REJECTED", "the operation breaks risk limits", decision.failures);
}

/**
 * Counts a rejection per failed check (the metric, and the day's count for the performance
 * report, committed with the turn's writes) and logs it as `risk.rejected`: the local checks' and
 * the firm-wide limits' alike.
 */
export function recordRejection(
  { limits, riskRepo, commits, clock, metrics, logger }: Omit<RiskCheckDeps, "tracer">,
  request: { strategy: string; instrument: string },
  codes: readonly string[],
  clientId: string,
): void {
  // Undeclared strategies share one label value, so a caller cannot grow the series.
  const strategy = limits.strategies.has(request.strategy) ? request.strategy : "unknown";
  for (const code of codes) metrics.riskRejections.inc({ strategy, reason: code });
  commits.write(() => riskRepo.recordRejection(strategy, [...codes], clock.now()));
  logger.warn("operation rejected by risk checks", {
    event: "risk.rejected",
    strategy: request.strategy,
    instrument: request.instrument,
    clientId,
    codes,
  });
}
