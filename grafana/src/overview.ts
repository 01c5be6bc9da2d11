import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { alertNotificationsPanel } from "./alert-notifications.js";
import { buildDashboard, drillDown } from "./frame.js";

import {
  UNITS,
  UTILIZATION_THRESHOLDS,
  statPanel,
  tablePanel,
  thresholds,
  timeSeries,
  valueMappings,
} from "./panels.js";
import { API_ROUTES, difference, increaseOverRange, quantile, rate, series, share, sumBy } from "./promql.js";
import { prom } from "./queries.js";

/** Trading state as one number: 0 active, 1 reducing, 2 halted (see {@link TRADING_STATE_MAPPINGS}). */
export const TRADING_STATE_EXPR = `max(${series("opsguard_trading_state", 'state="reducing"')}) + 2 * max(${series("opsguard_trading_state", 'state="halted"')})`;
export const TRADING_STATE_MAPPINGS = (): dashboard.ValueMapping[] =>
  valueMappings({ 0: ["Active", "green"], 1: ["Reducing", "orange"], 2: ["Halted", "red"] });

/** Prometheus rule alerts of opsguard that are firing now. */
export const FIRING_ALERTS = 'ALERTS{alertstate="firing", alertname=~"Opsguard.*"}';

const requests = sumBy([], rate("opsguard_http_requests_total", API_ROUTES));
const serverErrors = sumBy([], rate("opsguard_http_requests_total", API_ROUTES, 'status=~"5.."'));

/** opsguard-overview: is the service healthy, is it trading, how is it doing, what is firing. */
export function overviewDashboard(): dashboard.Dashboard {
  return buildDashboard({
    uid: "opsguard-overview",
    title: "opsguard / Overview",
    description:
      "Golden signals of the API, the trading state, equity and P&L, the opsguard alerts firing now and every alert notified.",
    variables: ["instance", "env"],
    tradingStateAnnotations: true,
    rows: [
      {
        title: "Golden signals (API)",
        panels: [
          statPanel(
            {
              title: "Request rate",
              description:
                "API requests answered per second (every route except /metrics, /healthz and /readyz).",
              unit: UNITS.requestsPerSecond,
            },
            [prom(requests)],
          ).links([drillDown("Runtime", "opsguard-runtime")]),
          statPanel(
            {
              title: "Error rate",
              description:
                "Share of API requests answered with a 5xx: internal errors, executor failures (502), unavailability (503) and unconfirmed executions (504).",
              unit: UNITS.ratio,
            },
            [prom(share(serverErrors, requests))],
            { thresholds: thresholds(["green", null], ["orange", 0.01], ["red", 0.05]) },
          ).links([drillDown("Runtime", "opsguard-runtime")]),
          statPanel(
            {
              title: "Latency p99",
              description: "99th percentile of API request duration, all routes together.",
              unit: UNITS.seconds,
            },
            [prom(quantile(0.99, "opsguard_http_request_duration_seconds", [], API_ROUTES))],
            { thresholds: thresholds(["green", null], ["orange", 0.25], ["red", 1]) },
          ).links([drillDown("Operations", "opsguard-operations")]),
          statPanel(
            {
              title: "Saturation: event loop lag p99",
              description:
                "99th percentile of Node.js event loop delay: how long ready work waits for the single thread. Above 100 ms every request is slowed.",
              unit: UNITS.seconds,
            },
            [prom(`max(${series("nodejs_eventloop_lag_p99_seconds")})`)],
            { thresholds: thresholds(["green", null], ["orange", 0.05], ["red", 0.2]) },
          ).links([drillDown("Runtime", "opsguard-runtime")]),
          statPanel(
            {
              title: "Saturation: nearest risk limit",
              description:
                "Utilization of the risk limit closest to tripping (0 unused, 100 % at the limit). Daily loss and drawdown halt trading when they reach it.",
              unit: UNITS.ratio,
            },
            [prom(`max(${series("opsguard_risk_limit_utilization_ratio")})`)],
            { thresholds: UTILIZATION_THRESHOLDS() },
          ).links([drillDown("Risk", "opsguard-risk")]),
          statPanel(
            {
              title: "Scrape up",
              description: "Whether Prometheus reached opsguard's /metrics at the last scrape (`up`).",
              unit: UNITS.none,
            },
            [prom(`max(${series("up")})`)],
            {
              sparkline: false,
              background: true,
              mappings: valueMappings({ 0: ["Down", "red"], 1: ["Up", "green"] }),
            },
          ),
          timeSeries(
            {
              title: "Requests by status class",
              description: "API requests per second, by HTTP status class (2xx, 4xx, 5xx).",
              unit: UNITS.requestsPerSecond,
            },
            [
              prom(
                sumBy(
                  ["class"],
                  `label_replace(${rate("opsguard_http_requests_total", API_ROUTES)}, "class", "\${1}xx", "status", "(.)..")`,
                ),
                "{{class}}",
              ),
            ],
            { stack: true },
          ),
          timeSeries(
            {
              title: "API latency",
              description: "Median, 90th and 99th percentile of API request duration.",
              unit: UNITS.seconds,
            },
            [0.5, 0.9, 0.99].map((q) =>
              prom(quantile(q, "opsguard_http_request_duration_seconds", [], API_ROUTES), `p${q * 100}`),
            ),
          ),
        ],
      },
      {
        title: "Trading",
        panels: [
          statPanel(
            {
              title: "Trading state",
              description:
                "active: everything allowed; reducing: only closes; halted: nothing new. Changed by an admin or automatically on the daily-loss or drawdown limit.",
              unit: UNITS.none,
            },
            [prom(TRADING_STATE_EXPR)],
            { sparkline: false, background: true, mappings: TRADING_STATE_MAPPINGS() },
          ).links([drillDown("Risk", "opsguard-risk")]),
          statPanel(
            {
              title: "Equity",
              description: "Starting equity plus realized P&L, in account currency.",
              unit: UNITS.money,
              width: 5,
            },
            [prom(`max(${series("opsguard_equity")})`)],
            { thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "Realized P&L (range)",
              description:
                "Gross profit minus gross loss of the operations closed in the selected time range, in account currency.",
              unit: UNITS.money,
              width: 5,
            },
            [
              prom(
                difference(
                  sumBy([], increaseOverRange("opsguard_profit_total")),
                  sumBy([], increaseOverRange("opsguard_loss_total")),
                ),
                undefined,
                { instant: true },
              ),
            ],
            { sparkline: false, thresholds: thresholds(["red", null], ["green", 0]) },
          ).links([drillDown("Performance", "opsguard-performance")]),
          statPanel(
            {
              title: "Drawdown",
              description: "Fall of equity from its peak, as a share of the peak.",
              unit: UNITS.ratio,
              width: 3,
            },
            [prom(`max(${series("opsguard_drawdown_ratio")})`)],
            { thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "Open operations",
              description: "Operations open now, all strategies and instruments.",
              unit: UNITS.count,
              width: 3,
            },
            [prom(sumBy([], series("opsguard_operations_open")))],
            { thresholds: thresholds(["blue", null]) },
          ).links([drillDown("Operations", "opsguard-operations")]),
          statPanel(
            {
              title: "Unconfirmed executions",
              description:
                "Opens and closes whose answer was lost: the venue may have executed them, and opsguard is reconciling. Red while any waits; see the Operations dashboard.",
              unit: UNITS.count,
              width: 3,
            },
            [prom(sumBy([], series("opsguard_executions_unconfirmed")))],
            { thresholds: thresholds(["green", null], ["red", 1]) },
          ).links([drillDown("Operations", "opsguard-operations")]),
          statPanel(
            {
              title: "Exposure",
              description: "Notional of open operations, all instruments, in account currency.",
              unit: UNITS.money,
            },
            [prom(sumBy([], series("opsguard_exposure")))],
            { thresholds: thresholds(["blue", null]) },
          ),
          timeSeries(
            { title: "Equity", description: "Equity over time, in account currency.", unit: UNITS.money },
            [prom(`max(${series("opsguard_equity")})`, "equity")],
          ),
          timeSeries(
            {
              title: "Closed operations by result",
              description: "Operations closed per second, by result: win (P&L > 0), loss or flat.",
              unit: UNITS.operationsPerSecond,
            },
            [prom(sumBy(["result"], rate("opsguard_operations_closed_total")), "{{result}}")],
            { stack: true, bars: true },
          ),
        ],
      },
      {
        title: "Alerts",
        panels: [
          statPanel(
            {
              title: "Alerts firing",
              description:
                "opsguard alerts (Prometheus rules named Opsguard*) firing now. Log-based alerts from the Loki ruler are in Alerting → Alert groups (Alertmanager).",
              unit: UNITS.count,
              height: 6,
            },
            [prom(`count(${FIRING_ALERTS}) or vector(0)`)],
            { sparkline: false, background: true, thresholds: thresholds(["green", null], ["red", 1]) },
          ),
          tablePanel(
            {
              title: "Firing alerts",
              description:
                "Each firing opsguard alert with its labels; the runbook link is in the alert's annotations in Alertmanager.",
              unit: UNITS.none,
              width: 20,
              height: 6,
            },
            [prom(FIRING_ALERTS, undefined, { instant: true, table: true })],
            { hide: ["__name__", "alertstate", "Value"] },
          ),
          alertNotificationsPanel(),
        ],
      },
    ],
  });
}
