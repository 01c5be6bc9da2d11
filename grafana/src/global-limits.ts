import type { Row } from "./frame.js";
import { UNITS, timeSeries } from "./panels.js";
import { quantile, rate, series, sumBy } from "./promql.js";
import { prom } from "./queries.js";

/**
 * The Risk dashboard's row about the firm-wide limits held in PostgreSQL (docs/scaling.md): how
 * much of each budget all accounts use, what the submits got, and whether the database answers.
 * Empty on an instance without `globalLimits`.
 */
export function globalLimitsRow(): Row {
  return {
    title: "Firm-wide limits",
    panels: [
      timeSeries(
        {
          title: "Firm-wide budget use",
          description:
            "Share of each firm-wide limit that all accounts together use: open exposure, and today's operations and realized loss. Every instance reports the same figures, read from PostgreSQL every 5 s; a budget without a limit is not shown.",
          unit: UNITS.ratio,
        },
        [
          prom(
            `max by (budget) (${series("opsguard_global_budget_used")}) / max by (budget) (${series("opsguard_global_budget_limit")})`,
            "{{budget}}",
          ),
        ],
        { min: 0 },
      ),
      timeSeries(
        {
          title: "Firm-wide reservations",
          description:
            "Submits checked against the firm-wide limits per second, by result: reserved, refused (a limit would be crossed: 422 with a GLOBAL_* code) or unavailable (PostgreSQL did not answer in time: 503 GLOBAL_LIMITS_UNAVAILABLE).",
          unit: UNITS.requestsPerSecond,
        },
        [prom(sumBy(["result"], rate("opsguard_global_reservations_total")), "{{result}}")],
        { bars: true },
      ),
      timeSeries(
        {
          title: "Budget store",
          description:
            "1 while the firm-wide limits' PostgreSQL answers each instance (alert OpsguardGlobalLimitsDown when 0 for 2 minutes), and the closes whose share is not given back yet.",
          unit: UNITS.count,
        },
        [
          prom(`min(${series("opsguard_global_limits_up")})`, "up (worst instance)"),
          prom(sumBy([], series("opsguard_global_releases_pending")), "releases pending"),
        ],
      ),
      timeSeries(
        {
          title: "Budget store latency",
          description:
            "99th percentile of each call to PostgreSQL: a submit's reservation, the releases, a start's reconciliation.",
          unit: UNITS.seconds,
        },
        [prom(quantile(0.99, "opsguard_global_store_duration_seconds", ["call"]), "p99 {{call}}")],
      ),
    ],
  };
}
