import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { buildDashboard } from "./frame.js";
import { UNITS, barGauge, statPanel, tablePanel, thresholds, timeSeries } from "./panels.js";
import { STRATEGY, difference, increaseOverRange, rate, series, share, sumBy } from "./promql.js";
import { prom } from "./queries.js";

const CLOSED = "opsguard_operations_closed_total";
const PROFIT = "opsguard_profit_total";
const LOSS = "opsguard_loss_total";
const PREDICTIONS = "opsguard_pattern_predictions_total";

/** Realized P&L over the range, grouped by `by`. */
function pnlOverRange(by: string[]): string {
  return difference(
    sumBy(by, increaseOverRange(PROFIT, STRATEGY)),
    sumBy(by, increaseOverRange(LOSS, STRATEGY)),
  );
}

/** Wins over closes in the range, grouped by `by`. */
function winRateOverRange(by: string[]): string {
  return share(
    sumBy(by, increaseOverRange(CLOSED, STRATEGY, 'result="win"')),
    sumBy(by, increaseOverRange(CLOSED, STRATEGY)),
  );
}

/** Hits over hits plus misses in the range, by pattern. */
function accuracyOverRange(): string {
  return share(
    sumBy(["pattern"], increaseOverRange(PREDICTIONS, 'result="hit"')),
    sumBy(["pattern"], increaseOverRange(PREDICTIONS, 'result=~"hit|miss"')),
  );
}

const WIN_RATE_THRESHOLDS = () => thresholds(["red", null], ["orange", 0.4], ["green", 0.5]);

/** opsguard-performance: does the trading make money, by strategy, instrument and pattern. */
export function performanceDashboard(): dashboard.Dashboard {
  return buildDashboard({
    uid: "opsguard-performance",
    title: "opsguard / Performance",
    description:
      "Win rate, profit factor, realized P&L by strategy and instrument, and pattern accuracy (hit / (hit + miss)). Totals cover the selected time range.",
    variables: ["instance", "strategy"],
    rows: [
      {
        title: "Over the selected range",
        panels: [
          statPanel(
            {
              title: "Realized P&L",
              description:
                "Gross profit minus gross loss of the operations closed in the selected range, for the selected strategies, in account currency.",
              unit: UNITS.money,
              width: 6,
            },
            [prom(pnlOverRange([]), undefined, { instant: true })],
            { sparkline: false, thresholds: thresholds(["red", null], ["green", 0]) },
          ),
          statPanel(
            {
              title: "Win rate",
              description:
                "Winning closes (P&L > 0) over all closes (wins, losses and flats) in the selected range.",
              unit: UNITS.ratio,
              width: 5,
            },
            [prom(winRateOverRange([]), undefined, { instant: true })],
            { sparkline: false, thresholds: WIN_RATE_THRESHOLDS() },
          ),
          statPanel(
            {
              title: "Profit factor",
              description:
                "Gross profit over gross loss in the selected range: above 1 the strategies make money. Infinite when nothing lost.",
              unit: UNITS.none,
              width: 5,
            },
            [
              prom(
                `${sumBy([], increaseOverRange(PROFIT, STRATEGY))} / ${sumBy([], increaseOverRange(LOSS, STRATEGY))}`,
                undefined,
                { instant: true },
              ),
            ],
            {
              sparkline: false,
              decimals: 2,
              thresholds: thresholds(["red", null], ["orange", 1], ["green", 1.2]),
            },
          ),
          statPanel(
            {
              title: "Expectancy",
              description:
                "Average realized P&L per closed operation in the selected range, in account currency.",
              unit: UNITS.money,
              width: 4,
            },
            [
              prom(
                `(${pnlOverRange([])}) / (${sumBy([], increaseOverRange(CLOSED, STRATEGY))} > 0)`,
                undefined,
                {
                  instant: true,
                },
              ),
            ],
            { sparkline: false, thresholds: thresholds(["red", null], ["green", 0]) },
          ),
          statPanel(
            {
              title: "Closed operations",
              description: "Operations closed in the selected range.",
              unit: UNITS.count,
              width: 4,
            },
            [prom(sumBy([], increaseOverRange(CLOSED, STRATEGY)), undefined, { instant: true })],
            { sparkline: false, decimals: 0, thresholds: thresholds(["blue", null]) },
          ),
        ],
      },
      {
        title: "By strategy and instrument",
        panels: [
          barGauge(
            {
              title: "Realized P&L by strategy",
              description:
                "Gross profit minus gross loss in the selected range, by strategy, in account currency.",
              unit: UNITS.money,
              width: 8,
            },
            [prom(pnlOverRange(["strategy"]), "{{strategy}}", { instant: true })],
            { thresholds: thresholds(["red", null], ["green", 0]) },
          ),
          barGauge(
            {
              title: "Realized P&L by instrument",
              description:
                "Gross profit minus gross loss in the selected range, by instrument (selected strategies), in account currency.",
              unit: UNITS.money,
              width: 8,
            },
            [prom(pnlOverRange(["instrument"]), "{{instrument}}", { instant: true })],
            { thresholds: thresholds(["red", null], ["green", 0]) },
          ),
          barGauge(
            {
              title: "Win rate by strategy",
              description: "Winning closes over all closes in the selected range, by strategy.",
              unit: UNITS.ratio,
              width: 8,
            },
            [prom(winRateOverRange(["strategy"]), "{{strategy}}", { instant: true })],
            { min: 0, max: 1, thresholds: WIN_RATE_THRESHOLDS() },
          ),
          timeSeries(
            {
              title: "Rolling win rate by strategy",
              description:
                "Winning closes over all closes within each rate window ($__rate_interval), by strategy: noisy when few operations close.",
              unit: UNITS.ratio,
            },
            [
              prom(
                share(
                  sumBy(["strategy"], rate(CLOSED, STRATEGY, 'result="win"')),
                  sumBy(["strategy"], rate(CLOSED, STRATEGY)),
                ),
                "{{strategy}}",
              ),
            ],
            { min: 0, max: 1 },
          ),
          timeSeries(
            {
              title: "Gross profit and loss rate",
              description:
                "Gross profit and gross loss booked per second, in account currency, for the selected strategies; the gap between them is the P&L trend.",
              unit: UNITS.money,
            },
            [
              prom(sumBy([], rate(PROFIT, STRATEGY)), "profit / s"),
              prom(sumBy([], rate(LOSS, STRATEGY)), "loss / s"),
            ],
          ),
          timeSeries(
            {
              title: "Equity curve",
              description: "Equity over time (all strategies), in account currency.",
              unit: UNITS.money,
            },
            [prom(`max(${series("opsguard_equity")})`, "equity")],
          ),
          timeSeries(
            {
              title: "Closes by strategy and result",
              description: "Operations closed per second, by strategy and result (win, loss, flat).",
              unit: UNITS.operationsPerSecond,
            },
            [prom(sumBy(["strategy", "result"], rate(CLOSED, STRATEGY)), "{{strategy}} {{result}}")],
            { stack: true },
          ),
        ],
      },
      {
        title: "Patterns",
        panels: [
          barGauge(
            {
              title: "Pattern accuracy",
              description:
                "hit / (hit + miss) in the selected range, by pattern: a prediction is a hit when its operation won. All strategies: the metric has no strategy label.",
              unit: UNITS.ratio,
              width: 8,
            },
            [prom(accuracyOverRange(), "{{pattern}}", { instant: true })],
            { min: 0, max: 1, thresholds: WIN_RATE_THRESHOLDS() },
          ),
          timeSeries(
            {
              title: "Rolling pattern accuracy",
              description:
                "hit / (hit + miss) within each rate window, by pattern. All strategies: the metric has no strategy label.",
              unit: UNITS.ratio,
              width: 8,
            },
            [
              prom(
                share(
                  sumBy(["pattern"], rate(PREDICTIONS, 'result="hit"')),
                  sumBy(["pattern"], rate(PREDICTIONS, 'result=~"hit|miss"')),
                ),
                "{{pattern}}",
              ),
            ],
            { min: 0, max: 1 },
          ),
          timeSeries(
            {
              title: "Predictions by pattern and result",
              description: "Closed operations that carried a pattern, per second, by pattern and result.",
              unit: UNITS.countsPerSecond,
              width: 8,
            },
            [prom(sumBy(["pattern", "result"], rate(PREDICTIONS)), "{{pattern}} {{result}}")],
            { stack: true },
          ),
        ],
      },
      {
        title: "Recommendations",
        panels: [
          tablePanel(
            {
              title: "Active recommendations of the daily report",
              description:
                "Each recommendation of the latest daily performance report (the seven days that ended yesterday, UTC), by rule, severity and subject. The report under reports.dir, or GET /v1/reports/performance, gives the evidence and what to do; docs/reports.md lists the rules.",
              unit: UNITS.none,
              width: 24,
              height: 6,
            },
            [
              prom(
                `max by (report, rule, severity, subject) (${series("opsguard_report_recommendation_active")}) == 1`,
                undefined,
                { instant: true, table: true },
              ),
            ],
            { hide: ["Value"] },
          ),
        ],
      },
    ],
  });
}
