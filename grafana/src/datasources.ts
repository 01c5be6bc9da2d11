import type { DataSourceRef } from "@grafana/grafana-foundation-sdk/common";

/**
 * Fixed datasource UIDs, the same as in `grafana/provisioning/datasources/datasources.yml`:
 * dashboards, correlations and exemplar links all resolve through them.
 */
export const DATASOURCE_UIDS = {
  prometheus: "prometheus",
  loki: "loki",
  tempo: "tempo",
  alertmanager: "alertmanager",
} as const;

/** Names of the datasource template variables, so a viewer can point a dashboard elsewhere. */
export const PROMETHEUS_VARIABLE = "datasource";
export const LOKI_VARIABLE = "loki";

/** Prometheus panels and queries go through the `$datasource` variable. */
export const PROMETHEUS: DataSourceRef = { type: "prometheus", uid: `\${${PROMETHEUS_VARIABLE}}` };
/** Loki panels and queries go through the `$loki` variable. */
export const LOKI: DataSourceRef = { type: "loki", uid: `\${${LOKI_VARIABLE}}` };
/** Tempo has a single provisioned instance: referenced by its fixed UID. */
export const TEMPO: DataSourceRef = { type: "tempo", uid: DATASOURCE_UIDS.tempo };
