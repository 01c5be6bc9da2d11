import type { Tracer } from "@opentelemetry/api";
import { DomainError } from "../platform/errors.js";
import type { Logger } from "../platform/logger.js";
import type { Metrics } from "../platform/metrics.js";
import { ATTR, inSpanSync, SPAN } from "../platform/spans.js";
import { evaluateRisk, type RiskDecision, type RiskRequest, type RiskUsage } from "../risk/evaluate.js";
import type { RiskLimits } from "../risk/limits.js";

export interface RiskCheckDeps {
  limits: RiskLimits;
  metrics: Metrics;
  logger: Logger;
  tracer: Tracer;
}

/**
 * The pre-trade check of one submit, in a `risk.check` span carrying the decision and the failed
 * codes. A rejection is counted per failed check, logged as `risk.rejected` and thrown as
 * `RISK_REJECTED` with every failure; otherwise the decision (size, notional) is returned.
 */
export function checkRisk(
  { limits, metrics, logger, tracer }: RiskCheckDeps,
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
  // Undeclared strategies share one label value, so a caller cannot grow the series.
  const strategy = limits.strategies.has(request.strategy) ? request.strategy : "unknown";
  for (const failure of decision.failures) metrics.riskRejections.inc({ strategy, reason: failure.code });
  logger.warn("operation rejected by risk checks", {
    event: "risk.rejected",
    strategy: request.strategy,
    instrument: request.instrument,
    clientId,
    codes: decision.failures.map((f) => f.code),
  });
  throw new DomainError("RISK_REJECTED", "the operation breaks risk limits", decision.failures);
}
