import { describeCheck, type CheckId } from "./catalog.js";

/** What one check found. `unavailable`: it could not run, and says why — never a silent pass. */
export const CHECK_STATUSES = ["ok", "warning", "critical", "unavailable"] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** The severities a finding has: a check that is neither ok nor unavailable. */
export const SEVERITIES = ["warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One check's result. */
export interface CheckResult {
  id: CheckId;
  title: string;
  status: CheckStatus;
  /** What was looked at and what was seen: files, modes, versions, advisory ids. */
  evidence: string[];
  /** What to do; present on a finding. */
  recommendation?: string;
  /** Why it could not run; present when unavailable. */
  reason?: string;
  /** When it was run, ms since the epoch. */
  checkedAt: number;
  durationMs: number;
}

/** What a check function returns; the runner adds the rest. */
export type Outcome =
  | { status: "ok"; evidence: string[] }
  | { status: Severity; evidence: string[]; recommendation?: string }
  | { status: "unavailable"; reason: string; evidence?: string[] };

/** A run of checks. */
export interface SecurityReport {
  id: string;
  /** schedule, api, cli or start. */
  trigger: string;
  startedAt: number;
  finishedAt: number;
  /** Every check, in catalog order. */
  results: CheckResult[];
}

/** Evidence lines beyond this many are summarized, so that one finding stays readable. */
export const MAX_EVIDENCE_LINES = 50;

export const ok = (...evidence: string[]): Outcome => ({ status: "ok", evidence });
export const unavailable = (reason: string, evidence: string[] = []): Outcome => ({
  status: "unavailable",
  reason,
  evidence,
});
export const finding = (status: Severity, evidence: string[], recommendation?: string): Outcome => ({
  status,
  evidence,
  ...(recommendation ? { recommendation } : {}),
});

/** Turns an outcome into a result, with the catalog's title and, on a finding, its recommendation. */
export function toResult(id: CheckId, outcome: Outcome, checkedAt: number, durationMs: number): CheckResult {
  const check = describeCheck(id);
  const evidence = outcome.evidence ?? [];
  const shown =
    evidence.length > MAX_EVIDENCE_LINES
      ? [...evidence.slice(0, MAX_EVIDENCE_LINES), `… and ${evidence.length - MAX_EVIDENCE_LINES} more`]
      : evidence;
  const result: CheckResult = {
    id,
    title: check.title,
    status: outcome.status,
    evidence: shown,
    checkedAt,
    durationMs,
  };
  if (outcome.status === "unavailable") result.reason = outcome.reason;
  if (outcome.status === "warning" || outcome.status === "critical")
    result.recommendation = outcome.recommendation ?? check.recommendation;
  return result;
}

/** How many results have each status. */
export function countStatuses(results: readonly CheckResult[]): Record<CheckStatus, number> {
  const counts = { ok: 0, warning: 0, critical: 0, unavailable: 0 };
  for (const result of results) counts[result.status]++;
  return counts;
}

/**
 * The `--fail-on` levels, from strictest: `unavailable` fails on anything that is not ok,
 * `warning` on a warning or a critical finding, `critical` on a critical finding only.
 */
export const FAIL_ON = ["unavailable", "warning", "critical"] as const;
export type FailOn = (typeof FAIL_ON)[number];

/** Whether `results` hold something at or above `level`. */
export function reaches(results: readonly CheckResult[], level: FailOn): boolean {
  const failing: Record<FailOn, readonly CheckStatus[]> = {
    critical: ["critical"],
    warning: ["warning", "critical"],
    unavailable: ["warning", "critical", "unavailable"],
  };
  return results.some((result) => failing[level].includes(result.status));
}
