import { Counter, Gauge, Histogram } from "prom-client";
import type { MetricsRegistry } from "../platform/metrics.js";

/** The firm-wide budgets, as the `budget` label names them. */
export const BUDGETS = ["exposure", "daily_operations", "daily_loss"] as const;
export type Budget = (typeof BUDGETS)[number];

/** Results of a reservation, as the `result` label names them. */
export const RESERVATION_RESULTS = ["reserved", "refused", "unavailable"] as const;

/** Calls to PostgreSQL, as the `call` label names them. */
export const STORE_CALLS = ["reserve", "release", "reconcile"] as const;

export interface GlobalLimitsMetrics {
  up: Gauge;
  reservations: Counter<"result">;
  releasesPending: Gauge;
  used: Gauge<"budget">;
  limit: Gauge<"budget">;
  duration: Histogram<"call">;
}

/**
 * Registers the global limits' metrics (only when they are configured), every series but the
 * limits of unset budgets present from the start.
 */
export function createGlobalLimitsMetrics(registry: MetricsRegistry): GlobalLimitsMetrics {
  const registers = [registry];
  const metrics: GlobalLimitsMetrics = {
    up: new Gauge({
      name: "opsguard_global_limits_up",
      help: "1 when the last call to the global limits' PostgreSQL succeeded, 0 when it failed or timed out (new operations are then refused).",
      registers,
    }),
    reservations: new Counter({
      name: "opsguard_global_reservations",
      help: "Submits checked against the firm-wide limits, by result: reserved, refused (a limit would be crossed) or unavailable (PostgreSQL did not answer in time).",
      labelNames: ["result"],
      registers,
    }),
    releasesPending: new Gauge({
      name: "opsguard_global_releases_pending",
      help: "Ended operations whose firm-wide reservation is not given back yet (PostgreSQL unreachable); sent again until it is.",
      registers,
    }),
    used: new Gauge({
      name: "opsguard_global_budget_used",
      help: "What all accounts together use of each firm-wide budget (exposure in account currency; today's operations and realized loss), read from PostgreSQL every 5 s.",
      labelNames: ["budget"],
      registers,
    }),
    limit: new Gauge({
      name: "opsguard_global_budget_limit",
      help: "The firm-wide limit of each budget this instance is configured with; absent for a budget without one.",
      labelNames: ["budget"],
      registers,
    }),
    duration: new Histogram({
      name: "opsguard_global_store_duration_seconds",
      help: "Time of each call to the global limits' PostgreSQL, by call.",
      labelNames: ["call"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
  };
  for (const result of RESERVATION_RESULTS) metrics.reservations.inc({ result }, 0);
  for (const budget of BUDGETS) metrics.used.set({ budget }, 0);
  for (const call of STORE_CALLS) metrics.duration.zero({ call });
  metrics.up.set(0);
  return metrics;
}
