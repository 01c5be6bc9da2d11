import type { MiddlewareHandler } from "hono";
import type { Metrics } from "../platform/metrics.js";
import { matchedRoute } from "./route.js";

/**
 * Counts and times every request by method, route template (never the raw path, so labels stay
 * bounded) and status.
 */
export function httpMetrics(metrics: Metrics): MiddlewareHandler {
  return async function httpMetricsMiddleware(c, next) {
    const start = performance.now();
    try {
      await next();
    } finally {
      const route = matchedRoute(c) ?? "unmatched";
      const method = c.req.method;
      metrics.httpRequests.inc({ method, route, status: String(c.res.status) });
      metrics.httpDuration.observe({ method, route }, (performance.now() - start) / 1000);
    }
  };
}
