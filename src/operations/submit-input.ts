import { createHash } from "node:crypto";
import { DomainError, type ProblemDetail } from "../platform/errors.js";
import { FixedPointError, parseFixed } from "../platform/fixed-point.js";
import type { SubmitOperationBody } from "./schemas.js";

/** The `outcome` label of `opsguard_operation_submit_duration_seconds` for each domain error. */
const OUTCOMES: Partial<Record<string, string>> = {
  RISK_REJECTED: "rejected",
  VALIDATION_FAILED: "invalid",
  IDEMPOTENCY_CONFLICT: "conflict",
  EXECUTION_FAILED: "failed",
  EXECUTOR_UNAVAILABLE: "failed",
  EXECUTION_UNCONFIRMED: "unconfirmed",
};

/** The `outcome` label of a submit that failed with `error`. */
export function submitOutcome(error: unknown): string {
  return (error instanceof DomainError && OUTCOMES[error.code]) || "error";
}

/** A stable fingerprint of a submit body: the same fields in any order hash the same. */
export function hashRequest(body: SubmitOperationBody): string {
  const canonical = JSON.stringify(
    Object.keys(body)
      .sort()
      .map((key) => [key, String(body[key as keyof SubmitOperationBody])]),
  );
  return createHash("sha256").update(canonical).digest("hex");
}

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
