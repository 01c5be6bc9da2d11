import { hash } from "node:crypto";
import { DomainError, type ProblemDetail } from "../platform/errors.js";
import { canonicalDecimal, FixedPointError, formatFixed, parseFixed } from "../platform/fixed-point.js";
import type { RiskDecision } from "../risk/evaluate.js";
import type { Operation } from "./model.js";
import type { SubmitOperationBody } from "./schemas.js";

/** The `outcome` label of `opsguard_operation_submit_duration_seconds` for each domain error. */
const OUTCOMES: Partial<Record<string, string>> = {
  RISK_REJECTED: "rejected",
  VALIDATION_FAILED: "invalid",
  IDEMPOTENCY_CONFLICT: "conflict",
  EXECUTION_FAILED: "failed",
  EXECUTOR_UNAVAILABLE: "failed",
  GLOBAL_LIMITS_UNAVAILABLE: "failed",
  EXECUTION_UNCONFIRMED: "unconfirmed",
};

/** The `outcome` label of a submit that failed with `error`. */
export function submitOutcome(error: unknown): string {
  return (error instanceof DomainError && OUTCOMES[error.code]) || "error";
}

/**
 * A stable fingerprint of what a submit asks for: the same fields in any order, and the same
 * amounts however they are written (`"0.1"`, `"0.10"`, `0.1`), hash the same.
 */
export function hashRequest(body: SubmitOperationBody): string {
  const canonical = JSON.stringify(
    Object.keys(body)
      .sort()
      .map((key) => {
        const value = body[key as keyof SubmitOperationBody];
        return [key, AMOUNTS.has(key) ? canonicalDecimal(value!) : String(value)];
      }),
  );
  return hash("sha256", canonical, "hex");
}

const AMOUNTS = new Set(["size", "stopLoss", "takeProfit"]);

/** The largest amount a row can hold, in units of its scale: SQLite integers are 64-bit. */
export const MAX_UNITS = 2n ** 63n - 1n;

export interface ParsedAmounts {
  size: bigint | "auto";
  stopLoss: bigint | null;
  takeProfit: bigint | null;
  problems: ProblemDetail[];
}

/** Reads the body's decimals at the instrument's precision; too many decimals is a problem, not a rounding. */
export function parseAmounts(
  body: SubmitOperationBody,
  priceScale: number,
  sizeScale: number,
): ParsedAmounts {
  const problems: ProblemDetail[] = [];
  const read = (field: string, value: string | number | undefined, scale: number): bigint | null => {
    if (value === undefined) return null;
    try {
      const units = parseFixed(value, scale);
      if (units <= 0n)
        problems.push({ code: "INVALID_FIELD", path: `body.${field}`, message: "must be greater than 0" });
      if (units > MAX_UNITS) {
        const most = formatFixed(MAX_UNITS, scale);
        problems.push({ code: "OUT_OF_RANGE", path: `body.${field}`, message: `must be at most ${most}` });
        return null;
      }
      return units;
    } catch (error) {
      if (!(error instanceof FixedPointError)) throw error;
      problems.push({ code: "INVALID_FIELD", path: `body.${field}`, message: error.message });
      return null;
    }
  };
  return {
    size: body.size === "auto" ? "auto" : (read("size", body.size, sizeScale) ?? 0n),
    stopLoss: read("stopLoss", body.stopLoss, priceScale),
    takeProfit: read("takeProfit", body.takeProfit, priceScale),
    problems,
  };
}

/** The pending operation a risk-approved submit records, before it is executed. */
export function pendingOperation({
  id,
  body,
  parsed,
  decision,
  requestHash,
  now,
}: {
  id: string;
  body: SubmitOperationBody;
  parsed: ParsedAmounts | undefined;
  decision: RiskDecision;
  requestHash: string;
  now: number;
}): Operation {
  return {
    id,
    clientId: body.clientId,
    strategy: body.strategy,
    instrument: body.instrument,
    side: body.side,
    size: decision.size,
    autoSized: body.size === "auto",
    stopLoss: parsed?.stopLoss ?? null,
    takeProfit: parsed?.takeProfit ?? null,
    maxDurationSec: body.maxDurationSec ?? null,
    pattern: body.pattern ?? null,
    confidence: body.confidence ?? null,
    status: "pending",
    notional: decision.notional,
    entryPrice: null,
    exitPrice: null,
    closeReason: null,
    closeRequestedAt: null,
    pnl: null,
    failureReason: null,
    requestHash,
    createdAt: now,
    openedAt: null,
    closedAt: null,
  };
}
