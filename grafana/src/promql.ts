/**
 * PromQL building blocks for the dashboards. Every selector goes through {@link series}, so every
 * query is scoped to opsguard's scrape job and the instance chosen on the dashboard; every rate
 * uses `$__rate_interval`, which Grafana keeps at least four scrape intervals wide.
 */

/** The Prometheus scrape job of opsguard (the telemetry contract). */
export const JOB = "opsguard";
/** Window of rates and rolling ratios. */
export const RATE_INTERVAL = "$__rate_interval";
/** The whole dashboard time range: only in instant queries that total over the range. */
export const RANGE = "$__range";

/** Only the strategies picked in the `$strategy` variable. */
export const STRATEGY = 'strategy=~"$strategy"';
/** API traffic: scrapes and probes are not what callers experience. */
export const API_ROUTES = 'route!~"/metrics|/healthz|/readyz"';

/** `metric{job="opsguard", instance=~"$instance", …matchers}`. */
export function series(metric: string, ...matchers: string[]): string {
  return `${metric}{${[`job="${JOB}"`, 'instance=~"$instance"', ...matchers].join(", ")}}`;
}

/** Per-second rate of a counter over `$__rate_interval`. */
export function rate(metric: string, ...matchers: string[]): string {
  return `rate(${series(metric, ...matchers)}[${RATE_INTERVAL}])`;
}

/** Increase of a counter over the whole dashboard range (for instant queries). */
export function increaseOverRange(metric: string, ...matchers: string[]): string {
  return `increase(${series(metric, ...matchers)}[${RANGE}])`;
}

/** `sum by (labels) (expr)`, or `sum(expr)` without labels. */
export function sumBy(labels: readonly string[], expr: string): string {
  return labels.length === 0 ? `sum(${expr})` : `sum by (${labels.join(", ")}) (${expr})`;
}

/** The `q` quantile of a histogram over `$__rate_interval`, kept apart by `by`. */
export function quantile(q: number, histogram: string, by: readonly string[], ...matchers: string[]): string {
  return `histogram_quantile(${q}, ${sumBy(["le", ...by], rate(`${histogram}_bucket`, ...matchers))})`;
}

/**
 * `expr`, plus a 0 for every group `base` has and `expr` lacks. Most counter series are born on
 * their first increment (a close reason, a failure stage), and a group missing on one side of a
 * difference or ratio would silently drop out of the result.
 */
export function orZero(expr: string, base: string): string {
  return `(${expr} or ${base} * 0)`;
}

/** `part / whole`, where a group with a zero whole gives no value instead of NaN. */
export function share(part: string, whole: string): string {
  return `${orZero(part, whole)} / (${whole} > 0)`;
}

/** `a - b`, keeping groups that only one side has. */
export function difference(a: string, b: string): string {
  return `${orZero(a, b)} - ${orZero(b, a)}`;
}
