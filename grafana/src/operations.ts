import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { eventsRow } from "./events.js";
import { buildDashboard } from "./frame.js";
import { UNITS, statPanel, thresholds, timeSeries } from "./panels.js";
import { STRATEGY, quantile, rate, series, sumBy } from "./promql.js";
import { prom } from "./queries.js";

const SPAN_METRICS_SELECTOR = 'service="opsguard"';

/** opsguard-operations: the flow of operations, how fast they are answered and executed, how long they live. */
export function operationsDashboard(): dashboard.Dashboard {
  return buildDashboard({
    uid: "opsguard-operations",
    title: "opsguard / Operations",
    description:
      "Operations submitted, closed and failed; open operations; the events stream and webhooks; submit and execution latency with exemplars linking to traces; operation lifetime.",
    variables: ["instance", "strategy"],
    rows: [
      {
        title: "Flow",
        panels: [
          statPanel(
            {
              title: "Open operations",
              description: "Operations open now, for the selected strategies.",
              unit: UNITS.count,
            },
            [prom(sumBy([], series("opsguard_operations_open", STRATEGY)))],
            { thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "Submitted",
              description: "Operations accepted by the risk check and sent to execution, per second.",
              unit: UNITS.operationsPerSecond,
            },
            [prom(sumBy([], rate("opsguard_operations_submitted_total", STRATEGY)))],
            { thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "Closed",
              description: "Operations closed per second, every result and reason.",
              unit: UNITS.operationsPerSecond,
            },
            [prom(sumBy([], rate("opsguard_operations_closed_total", STRATEGY)))],
            { thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "Failed",
              description: "Executions that failed per second (open, close or reconcile).",
              unit: UNITS.operationsPerSecond,
            },
            [prom(`${sumBy([], rate("opsguard_operations_failed_total", STRATEGY))} or vector(0)`)],
            { thresholds: thresholds(["green", null], ["red", 0.000001]) },
          ),
          statPanel(
            {
              title: "Supervisor interventions",
              description:
                "Closes the supervisor made on its own (stop-loss, take-profit, time limit), per second. All strategies: the metric has no strategy label.",
              unit: UNITS.operationsPerSecond,
            },
            [prom(`${sumBy([], rate("opsguard_interventions_total"))} or vector(0)`)],
            { thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "Execution errors",
              description: "Executor calls that failed per second, every action. All strategies.",
              unit: UNITS.operationsPerSecond,
            },
            [prom(`${sumBy([], rate("opsguard_execution_errors_total"))} or vector(0)`)],
            { thresholds: thresholds(["green", null], ["red", 0.000001]) },
          ),
          timeSeries(
            {
              title: "Submitted by strategy",
              description: "Operations accepted and sent to execution, per second, by strategy.",
              unit: UNITS.operationsPerSecond,
            },
            [
              prom(
                sumBy(["strategy"], rate("opsguard_operations_submitted_total", STRATEGY)),
                "{{strategy}}",
              ),
            ],
            { stack: true },
          ),
          timeSeries(
            {
              title: "Submit outcomes",
              description:
                "Submits answered per second, by outcome: accepted, rejected (risk), invalid, conflict (idempotency), failed, unconfirmed, replayed. All strategies: the histogram has no strategy label.",
              unit: UNITS.operationsPerSecond,
            },
            [
              prom(
                sumBy(["outcome"], rate("opsguard_operation_submit_duration_seconds_count")),
                "{{outcome}}",
              ),
            ],
            { stack: true },
          ),
          timeSeries(
            {
              title: "Closed by reason",
              description:
                "Operations closed per second, by reason: take_profit, stop_loss, timeout, manual, intervention, halt.",
              unit: UNITS.operationsPerSecond,
            },
            [
              prom(
                sumBy(["close_reason"], rate("opsguard_operations_closed_total", STRATEGY)),
                "{{close_reason}}",
              ),
            ],
            { stack: true },
          ),
          timeSeries(
            {
              title: "Failed by stage",
              description:
                "Executions that failed per second, by strategy and stage (open, close, reconcile).",
              unit: UNITS.operationsPerSecond,
            },
            [
              prom(
                sumBy(["strategy", "stage"], rate("opsguard_operations_failed_total", STRATEGY)),
                "{{strategy}} {{stage}}",
              ),
            ],
            { bars: true },
          ),
          timeSeries(
            {
              title: "Open operations by strategy and instrument",
              description: "Operations open at each moment.",
              unit: UNITS.count,
            },
            [
              prom(
                sumBy(["strategy", "instrument"], series("opsguard_operations_open", STRATEGY)),
                "{{strategy}} {{instrument}}",
              ),
            ],
            { stack: true },
          ),
          timeSeries(
            {
              title: "Supervisor interventions by reason",
              description:
                "Closes the supervisor made on its own per second, by reason. All strategies: the metric has no strategy label.",
              unit: UNITS.operationsPerSecond,
            },
            [prom(sumBy(["reason"], rate("opsguard_interventions_total")), "{{reason}}")],
            { bars: true },
          ),
        ],
      },
      {
        title: "Executions with a lost answer",
        panels: [
          timeSeries(
            {
              title: "Unconfirmed executions",
              description:
                "Opens and closes whose answer was lost (a timeout, a reset, a 5xx): they may have executed at the venue, and wait to be reconciled with GET orders/{id}. Alert OpsguardExecutionUnconfirmed when one waits too long. All strategies.",
              unit: UNITS.count,
            },
            [prom(sumBy(["stage"], series("opsguard_executions_unconfirmed")), "{{stage}}")],
            { stack: true },
          ),
          timeSeries(
            {
              title: "Oldest unconfirmed execution",
              description:
                "How long the oldest unconfirmed open or close has waited. It is asked about executor.reconcileAfterMs (10 s) after the lost answer; a line that keeps rising means the executor does not answer status checks.",
              unit: UNITS.seconds,
            },
            [prom(`max(${series("opsguard_execution_unconfirmed_age_seconds")})`, "oldest")],
          ),
          timeSeries(
            {
              title: "Reconciliations by outcome",
              description:
                "Unconfirmed executions settled per second, by what the executor said: open (a lost open had executed), closed (a close had executed, or was executed now), failed (an open never executed), still_open (the venue holds the position and refused the close again); deferred when it did not answer.",
              unit: UNITS.operationsPerSecond,
            },
            [prom(sumBy(["outcome"], rate("opsguard_reconciliations_total")), "{{outcome}}")],
            { bars: true },
          ),
          timeSeries(
            {
              title: "Executor circuits",
              description:
                "Webhook executor circuit breakers by kind of call: 1 open (calls fail at once), 0.5 half-open (one trial call), 0 closed. Quotes and opens have one each; closes and status checks always reach the bridge. No data with the paper executor, which has none.",
              unit: UNITS.count,
            },
            [prom(`max by (call) (${series("opsguard_executor_circuit_open")})`, "{{call}}")],
          ),
        ],
      },
      eventsRow(),
      {
        title: "Latency",
        panels: [
          timeSeries(
            {
              title: "Submit latency",
              description:
                "Time to answer POST /v1/operations: median and 99th percentile overall, and the 99th percentile by outcome. Dots are exemplars: click one to open its trace in Tempo.",
              unit: UNITS.seconds,
            },
            [
              prom(quantile(0.99, "opsguard_operation_submit_duration_seconds", []), "p99", {
                exemplar: true,
              }),
              prom(quantile(0.5, "opsguard_operation_submit_duration_seconds", []), "p50"),
              prom(
                quantile(0.99, "opsguard_operation_submit_duration_seconds", ["outcome"]),
                "p99 {{outcome}}",
              ),
            ],
          ),
          timeSeries(
            {
              title: "Execution latency",
              description:
                "99th percentile of the executor's time, by executor and action (open, close, quote, status). Dots are exemplars: click one to open its trace in Tempo.",
              unit: UNITS.seconds,
            },
            [
              prom(
                quantile(0.99, "opsguard_execution_duration_seconds", ["executor", "action"]),
                "p99 {{executor}} {{action}}",
                { exemplar: true },
              ),
            ],
          ),
          timeSeries(
            {
              title: "Execution errors by action",
              description: "Executor calls that failed per second, by executor and action.",
              unit: UNITS.operationsPerSecond,
            },
            [
              prom(
                sumBy(["executor", "action"], rate("opsguard_execution_errors_total")),
                "{{executor}} {{action}}",
              ),
            ],
            { bars: true },
          ),
          timeSeries(
            {
              title: "Operation lifetime",
              description:
                "Time from open to close of the operations closed in each window: median and 90th percentile by strategy.",
              unit: UNITS.seconds,
            },
            [
              prom(
                quantile(0.5, "opsguard_operation_lifetime_seconds", ["strategy"], STRATEGY),
                "p50 {{strategy}}",
              ),
              prom(
                quantile(0.9, "opsguard_operation_lifetime_seconds", ["strategy"], STRATEGY),
                "p90 {{strategy}}",
              ),
            ],
          ),
        ],
      },
      {
        title: "Spans (Tempo-derived)",
        panels: [
          timeSeries(
            {
              title: "Span rate by name",
              description:
                "Tempo-derived: spans per second by span name (risk.check, db.write, executor.open, …), from the span metrics Tempo's metrics generator writes to Prometheus. Not filtered by instance or strategy.",
              unit: UNITS.operationsPerSecond,
            },
            [
              prom(
                `sum by (span_name) (rate(traces_spanmetrics_calls_total{${SPAN_METRICS_SELECTOR}}[$__rate_interval]))`,
                "{{span_name}}",
              ),
            ],
          ),
          timeSeries(
            {
              title: "Span latency p99 by name",
              description:
                "Tempo-derived: 99th percentile of span duration by span name, from Tempo's span metrics. Not filtered by instance or strategy.",
              unit: UNITS.seconds,
            },
            [
              prom(
                `histogram_quantile(0.99, sum by (le, span_name) (rate(traces_spanmetrics_latency_bucket{${SPAN_METRICS_SELECTOR}}[$__rate_interval])))`,
                "{{span_name}}",
              ),
            ],
          ),
        ],
      },
    ],
  });
}
