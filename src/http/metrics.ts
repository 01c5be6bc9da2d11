import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import type { Metrics } from "../platform/metrics.js";

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
      const template = routePath(c);
      const route = template === "" || template.endsWith("*") ? "unmatched" : template;
      const method = c.req.method;
      metrics.httpRequests.inc({ method, route, status: String(c.res.status) });
      metrics.httpDuration.observe({ method, route }, (performance.now() - start) / 1000);
    }
  };
}
