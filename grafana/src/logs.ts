import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { alertNotificationsPanel } from "./alert-notifications.js";
import { buildDashboard } from "./frame.js";
import { AUTO_INTERVAL, eventLines, stream } from "./logql.js";
import {
  UNITS,
  lokiBarGauge,
  lokiTimeSeries,
  logsPanel,
  statPanel,
  thresholds,
  timeSeries,
  traceTable,
} from "./panels.js";
import { rate, share, sumBy } from "./promql.js";
import { prom } from "./queries.js";

const LOG_LINES = "opsguard_log_messages_total";

/** opsguard-logs: how much goes wrong, which events dominate, and the lines themselves. */
export function logsDashboard(): dashboard.Dashboard {
  return buildDashboard({
    uid: "opsguard-logs",
    title: "opsguard / Logs",
    description:
      "Error and warning rates (Prometheus), log volume and top events (Loki), the latest errors, and recent failed traces. A log line's trace_id opens its trace in Tempo.",
    variables: ["instance", "loki", "env"],
    rows: [
      {
        title: "Rates (from opsguard_log_messages_total)",
        panels: [
          statPanel(
            {
              title: "Errors",
              description:
                "Error log lines written per second (counted by opsguard itself, whether or not Loki got them).",
              unit: UNITS.countsPerSecond,
            },
            [prom(sumBy([], rate(LOG_LINES, 'level="error"')))],
            { thresholds: thresholds(["green", null], ["red", 0.01]) },
          ),
          statPanel(
            {
              title: "Warnings",
              description: "Warning log lines written per second.",
              unit: UNITS.countsPerSecond,
            },
            [prom(sumBy([], rate(LOG_LINES, 'level="warn"')))],
            { thresholds: thresholds(["green", null], ["orange", 0.1]) },
          ),
          statPanel(
            {
              title: "Error share",
              description: "Error lines over all lines written.",
              unit: UNITS.ratio,
            },
            [prom(share(sumBy([], rate(LOG_LINES, 'level="error"')), sumBy([], rate(LOG_LINES))))],
            { thresholds: thresholds(["green", null], ["orange", 0.01], ["red", 0.05]) },
          ),
          statPanel(
            {
              title: "Log lines dropped",
              description:
                "Log lines dropped per second because Loki was unreachable or too slow (the buffer is bounded).",
              unit: UNITS.countsPerSecond,
            },
            [prom(sumBy([], rate("opsguard_telemetry_dropped_total", 'signal="logs"')))],
            { thresholds: thresholds(["green", null], ["red", 0.000001]) },
          ),
          timeSeries(
            {
              title: "Log lines by level",
              description: "Log lines written per second, by level.",
              unit: UNITS.countsPerSecond,
              width: 8,
            },
            [prom(sumBy(["level"], rate(LOG_LINES)), "{{level}}")],
            { stack: true },
          ),
        ],
      },
      {
        title: "Loki",
        panels: [
          lokiTimeSeries(
            {
              title: "Log volume by level",
              description: "Lines received by Loki per step, by level label.",
              unit: UNITS.count,
              width: 8,
            },
            [
              {
                expr: `sum by (level) (count_over_time(${stream()} [${AUTO_INTERVAL}]))`,
                legend: "{{level}}",
              },
            ],
            { stack: true, bars: true },
          ),
          lokiBarGauge(
            {
              title: "Top events in range",
              description: "The ten most frequent `event` names in the selected range.",
              unit: UNITS.count,
              width: 8,
            },
            [
              {
                expr: `topk(10, sum by (event) (count_over_time(${stream()} | json | event!="" [$__range])))`,
                legend: "{{event}}",
                instant: true,
              },
            ],
          ),
          lokiTimeSeries(
            {
              title: "Top events over time",
              description: "Lines per step of the ten most frequent `event` names in each step.",
              unit: UNITS.count,
              width: 8,
            },
            [
              {
                expr: `topk(10, sum by (event) (count_over_time(${stream()} | json | event!="" [${AUTO_INTERVAL}])))`,
                legend: "{{event}}",
              },
            ],
          ),
          lokiTimeSeries(
            {
              title: "Problem events",
              description:
                "Lines per step of the events that mean something went wrong: unhandled HTTP errors, failed operations, risk rejections, halts, circuit breaker openings.",
              unit: UNITS.count,
            },
            [
              {
                expr: `sum by (event) (count_over_time(${stream()} | json | event=~"http\\\\.unhandled_error|operation\\\\.failed|risk\\\\.rejected|trading\\\\.halted|executor\\\\.circuit_opened" [${AUTO_INTERVAL}]))`,
                legend: "{{event}}",
              },
            ],
            { bars: true },
          ),
          traceTable(
            {
              title: "Recent failed traces",
              description:
                "The latest opsguard traces with an error status (Tempo search); click a trace id to open it.",
              unit: UNITS.none,
            },
            '{ resource.service.name = "opsguard" && status = error }',
          ),
        ],
      },
      {
        title: "Lines",
        panels: [
          logsPanel(
            {
              title: "Errors (latest first)",
              description:
                "Error lines, newest first; the dashboard refreshes every 30 s (use Explore → Live for a live tail). Open a line and follow its trace_id to Tempo.",
              unit: UNITS.none,
              width: 24,
              height: 10,
            },
            stream('level="error"'),
          ),
          logsPanel(
            {
              title: "Unhandled HTTP errors",
              description:
                "Requests that ended in an unexpected exception (event http.unhandled_error), with the stack in `err`.",
              unit: UNITS.none,
            },
            eventLines("http.unhandled_error"),
          ),
          logsPanel(
            {
              title: "Warnings",
              description:
                "Warning lines, newest first: rejected and failed operations, quotes that failed, retries.",
              unit: UNITS.none,
            },
            stream('level="warn"'),
          ),
          alertNotificationsPanel(),
        ],
      },
    ],
  });
}
