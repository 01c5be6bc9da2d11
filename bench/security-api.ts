import type { CheckId } from "../src/security/catalog.js";
import { round } from "./stats.js";
import type { Target } from "./targets.js";

/** How many checks of a report ended in each status. */
export interface StatusCounts {
  ok: number;
  warning: number;
  critical: number;
  unavailable: number;
}

/** The parts of `POST /v1/security-checks`'s report that the phase reads. */
interface ReportView {
  counts: StatusCounts;
  results: { id: CheckId; status: string; durationMs: number; reason?: string }[];
}

/**
 * The checks that read the most, with what they read. Each runs in a worker thread of its own;
 * the report times each check, which gives where a run's seconds go.
 */
export const HEAVY_CHECKS = {
  "OG-INT-002": "sha256 of the application's files",
  "OG-DB-001": "quick_check",
  "OG-DB-002": "integrity_check and foreign_key_check",
  "OG-DB-003": "the audit chain",
  "OG-FILE-003": "the walk for world-writable files",
} as const satisfies Partial<Record<CheckId, string>>;
export type HeavyCheck = keyof typeof HEAVY_CHECKS;

/** One full run of the security checks, as its caller saw it. */
export interface CheckRun {
  /** From the request to the answer: how long `POST /v1/security-checks` keeps its caller. */
  durationSec: number;
  counts: StatusCounts;
  /** Milliseconds of each heavy check, as the report times it. */
  stepsMs: Record<HeavyCheck, number>;
  /** `<id>: <reason>` of each check that could not run: a check that failed under load shows here. */
  unavailable: string[];
}

/** `POST /v1/security-checks` as the admin: runs every check and answers when they are done. */
export async function runSecurityCheck(target: Target): Promise<CheckRun> {
  const began = performance.now();
  const response = await fetch(`${target.url}/v1/security-checks`, {
    method: "POST",
    headers: { authorization: `Bearer ${target.token}` },
  });
  if (response.status !== 200)
    throw new Error(`POST /v1/security-checks answered ${response.status}: ${await response.text()}`);
  const report = (await response.json()) as ReportView;
  const durationSec = round((performance.now() - began) / 1000, 3);
  const stepOf = (id: CheckId): number => report.results.find((result) => result.id === id)?.durationMs ?? 0;
  return {
    durationSec,
    counts: report.counts,
    stepsMs: Object.fromEntries(
      Object.keys(HEAVY_CHECKS).map((id) => [id, stepOf(id as HeavyCheck)]),
    ) as Record<HeavyCheck, number>,
    unavailable: report.results
      .filter((result) => result.status === "unavailable")
      .map((result) => `${result.id}: ${result.reason ?? "no reason given"}`),
  };
}
