import type { Handler } from "hono";
import { Registry } from "prom-client";
import type { Metrics, MetricsRegistry } from "../platform/metrics.js";
import { renderOpenMetrics } from "../platform/metrics-render.js";

const OPENMETRICS = "application/openmetrics-text";

/**
 * `GET /metrics`: OpenMetrics (with trace-id exemplars) when the scraper prefers it, as
 * Prometheus does when it asks with `Accept: application/openmetrics-text;…`; the classic text
 * format otherwise (curl, older scrapers).
 */
export function metricsEndpoint(
  registry: MetricsRegistry,
  gauges: Pick<Metrics, "withStateSnapshot">,
): Handler {
  return async function metrics(c) {
    const text = await gauges.withStateSnapshot(() => renderOpenMetrics(registry));
    if (prefersOpenMetrics(c.req.header("accept"))) {
      return c.body(text, 200, { "content-type": Registry.OPENMETRICS_CONTENT_TYPE });
    }
    return c.body(toPrometheusText(text), 200, { "content-type": Registry.PROMETHEUS_CONTENT_TYPE });
  };
}

/** Whether an `Accept` header ranks OpenMetrics at least as high as anything else it accepts (RFC 9110 §12.5.1). */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  let openMetrics = 0;
  let other = 0;
  for (const part of accept.split(",")) {
    const [type = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === OPENMETRICS) openMetrics = Math.max(openMetrics, q);
    else other = Math.max(other, q);
  }
  return openMetrics > 0 && openMetrics >= other;
}

/**
 * Turns prom-client's OpenMetrics rendering into the Prometheus text format 0.0.4: counter
 * families take their `_total` name back, exemplars and the `# EOF` marker go. Everything else
 * prom-client writes (gauges, histograms, summaries, label escaping) reads the same in both.
 */
export function toPrometheusText(openMetrics: string): string {
  const lines = openMetrics.split("\n").filter((line) => line !== "" && line !== "# EOF");
  const counters = new Set(
    lines
      .filter((line) => line.startsWith("# TYPE ") && line.endsWith(" counter"))
      .map((line) => line.split(" ")[2]),
  );
  const renamed = lines.map((line) => {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
      const name = line.split(" ", 3)[2] ?? "";
      return counters.has(name) ? `${line.slice(0, 7)}${name}_total${line.slice(7 + name.length)}` : line;
    }
    // A sample with an exemplar: `name{labels} value # {trace_id="…"} value timestamp`.
    const exemplarAt = line.indexOf(" # {");
    return exemplarAt === -1 ? line : line.slice(0, exemplarAt);
  });
  return `${renamed.join("\n")}\n`;
}
