import * as loki from "@grafana/grafana-foundation-sdk/loki";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as tempo from "@grafana/grafana-foundation-sdk/tempo";
import { LOKI, PROMETHEUS, TEMPO } from "./datasources.js";

/** One Prometheus query of a panel. */
export interface PromTarget {
  expr: string;
  /** Legend template, e.g. `{{strategy}}`. */
  legend?: string;
  /** One value per series at the end of the range, for stats, bar gauges and tables. */
  instant?: boolean;
  /** Ask for exemplars, which link a point to its trace in Tempo. */
  exemplar?: boolean;
  /** Rows instead of series, for tables. */
  table?: boolean;
}

/** Shorthand for a {@link PromTarget}. */
export function prom(
  expr: string,
  legend?: string,
  options: Omit<PromTarget, "expr" | "legend"> = {},
): PromTarget {
  return { expr, legend, ...options };
}

/** Query letters in order: A, B, C… */
function refId(index: number): string {
  return String.fromCharCode(65 + index);
}

/** Builds the SDK queries, every one naming its datasource and a distinct refId. */
export function promQueries(targets: readonly PromTarget[]): prometheus.DataqueryBuilder[] {
  return targets.map((target, index) => {
    const query = new prometheus.DataqueryBuilder()
      .refId(refId(index))
      .datasource(PROMETHEUS)
      .editorMode(prometheus.QueryEditorMode.Code)
      .expr(target.expr);
    if (target.legend) query.legendFormat(target.legend);
    if (target.instant) query.instant();
    else query.range();
    if (target.exemplar) query.exemplar(true);
    if (target.table) query.format(prometheus.PromQueryFormat.Table);
    return query;
  });
}

/** One Loki query of a panel. */
export interface LokiTarget {
  expr: string;
  legend?: string;
  /** One value per series over the whole range (`[$__range]` queries). */
  instant?: boolean;
}

/** Builds the SDK Loki queries, every one naming its datasource and a distinct refId. */
export function lokiQueries(targets: readonly LokiTarget[]): loki.DataqueryBuilder[] {
  return targets.map((target, index) => {
    const query = new loki.DataqueryBuilder()
      .refId(refId(index))
      .datasource(LOKI)
      .editorMode(loki.QueryEditorMode.Code)
      .expr(target.expr)
      .queryType(target.instant ? "instant" : "range");
    if (target.legend) query.legendFormat(target.legend);
    return query;
  });
}

/** A TraceQL search in Tempo, listing matching traces. */
export function traceSearch(traceql: string, limit: number): tempo.DataqueryBuilder {
  return new tempo.DataqueryBuilder()
    .refId("A")
    .datasource(TEMPO)
    .queryType("traceql")
    .query(traceql)
    .tableType(tempo.SearchTableType.Traces)
    .limit(limit);
}
