import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { buildDashboard } from "./frame.js";
import { globalLimitsRow } from "./global-limits.js";
import { TRADING_STATE_EXPR, TRADING_STATE_MAPPINGS } from "./overview.js";
import {
  UNITS,
  UTILIZATION_THRESHOLDS,
  barGauge,
  stateTimeline,
  statPanel,
  tablePanel,
  thresholds,
  timeSeries,
} from "./panels.js";
import { increaseOverRange, rate, series, sumBy } from "./promql.js";
import { prom } from "./queries.js";

/** opsguard-risk: how close each limit is, what gets rejected and why, the trading state, exposure and drawdown. */
export function riskDashboard(): dashboard.Dashboard {
  return buildDashboard({
    uid: "opsguard-risk",
    title: "opsguard / Risk",
    description:
      "Risk limit utilization, rejections by reason, the trading state over time, exposure, unrealized P&L and drawdown, and the firm-wide limits.",
    variables: ["instance"],
    tradingStateAnnotations: true,
    rows: [
      {
        title: "Limits",
        panels: [
          barGauge(
            {
              title: "Limit utilization now",
              description:
                "How close each stateful limit is to tripping: 0 unused, 100 % at the limit. daily_loss and drawdown halt trading at 100 %; exposure_instrument is the most exposed instrument; loss_streak the strategy with the longest streak.",
              unit: UNITS.ratio,
              width: 8,
            },
            [
              prom(sumBy(["limit"], series("opsguard_risk_limit_utilization_ratio")), "{{limit}}", {
                instant: true,
              }),
            ],
            { min: 0, max: 1, thresholds: UTILIZATION_THRESHOLDS() },
          ),
          timeSeries(
            {
              title: "Limit utilization",
              description:
                "Utilization of each stateful limit over time (0 unused, 100 % at the limit). Dashed lines at 80 % and 95 %.",
              unit: UNITS.ratio,
              width: 16,
            },
            [prom(sumBy(["limit"], series("opsguard_risk_limit_utilization_ratio")), "{{limit}}")],
            { min: 0, max: 1, thresholds: UTILIZATION_THRESHOLDS() },
          ),
        ],
      },
      {
        title: "Rejections",
        panels: [
          timeSeries(
            {
              title: "Rejections by reason",
              description:
                "Failed risk checks per second, by rejection code (a submit that fails several checks counts once per check).",
              unit: UNITS.countsPerSecond,
              width: 10,
            },
            [prom(sumBy(["reason"], rate("opsguard_risk_rejections_total")), "{{reason}}")],
            { stack: true, bars: true },
          ),
          timeSeries(
            {
              title: "Rejections by strategy",
              description:
                "Failed risk checks per second, by strategy (undeclared strategies count as `unknown`).",
              unit: UNITS.countsPerSecond,
              width: 7,
            },
            [prom(sumBy(["strategy"], rate("opsguard_risk_rejections_total")), "{{strategy}}")],
            { stack: true },
          ),
          barGauge(
            {
              title: "Rejections in range by reason",
              description: "Failed risk checks over the selected time range, by rejection code.",
              unit: UNITS.count,
              width: 7,
            },
            [
              prom(sumBy(["reason"], increaseOverRange("opsguard_risk_rejections_total")), "{{reason}}", {
                instant: true,
              }),
            ],
            { decimals: 0 },
          ),
        ],
      },
      {
        title: "Trading state",
        panels: [
          statPanel(
            {
              title: "Trading state",
              description: "The trading state now: active, reducing (only closes) or halted (nothing new).",
              unit: UNITS.none,
              height: 5,
            },
            [prom(TRADING_STATE_EXPR)],
            { sparkline: false, background: true, mappings: TRADING_STATE_MAPPINGS() },
          ),
          stateTimeline(
            {
              title: "Trading state history",
              description:
                "The trading state over the selected range; halts and resumes are also annotations.",
              unit: UNITS.none,
              width: 12,
              height: 5,
            },
            [prom(TRADING_STATE_EXPR, "state")],
            TRADING_STATE_MAPPINGS(),
          ),
          tablePanel(
            {
              title: "State changes in range",
              description:
                "Trading state changes over the selected range, by new state and trigger (manual, auto).",
              unit: UNITS.count,
              width: 8,
              height: 5,
            },
            [
              prom(
                `${sumBy(["state", "trigger"], increaseOverRange("opsguard_trading_state_changes_total"))} > 0`,
                undefined,
                { instant: true, table: true },
              ),
            ],
            { rename: { Value: "changes" } },
          ),
        ],
      },
      {
        title: "Exposure and drawdown",
        panels: [
          statPanel(
            {
              title: "Exposure",
              description: "Notional of open operations, all instruments, in account currency.",
              unit: UNITS.money,
            },
            [prom(sumBy([], series("opsguard_exposure")))],
            { thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "Unrealized P&L",
              description: "P&L of open operations at the last supervised price, all instruments.",
              unit: UNITS.money,
            },
            [prom(sumBy([], series("opsguard_unrealized_pnl")))],
            { thresholds: thresholds(["red", null], ["green", 0]) },
          ),
          statPanel(
            {
              title: "Drawdown now",
              description: "Fall of equity from its peak, as a share of the peak.",
              unit: UNITS.ratio,
            },
            [prom(`max(${series("opsguard_drawdown_ratio")})`)],
            { thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "Max drawdown in range",
              description: "The deepest drawdown seen in the selected time range (at scrape resolution).",
              unit: UNITS.ratio,
            },
            [
              prom(`max(max_over_time(${series("opsguard_drawdown_ratio")}[$__range]))`, undefined, {
                instant: true,
              }),
            ],
            { sparkline: false, thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "Equity",
              description: "Starting equity plus realized P&L, in account currency.",
              unit: UNITS.money,
              width: 8,
            },
            [prom(`max(${series("opsguard_equity")})`)],
            { thresholds: thresholds(["blue", null]) },
          ),
          timeSeries(
            {
              title: "Exposure by instrument",
              description: "Notional of open operations by instrument, in account currency.",
              unit: UNITS.money,
            },
            [prom(sumBy(["instrument"], series("opsguard_exposure")), "{{instrument}}")],
            { stack: true },
          ),
          timeSeries(
            {
              title: "Fills beyond the risk check",
              description:
                "Opens filled at a notional beyond what the risk check reserved (the quote plus risk.maxSlippageBps), per second, by instrument: the venue filled past the limit price it was given, or a sell filled far above its quote. Exposure may then be above its limit. Alert OpsguardFillBeyondReservation.",
              unit: UNITS.operationsPerSecond,
            },
            [prom(sumBy(["instrument"], rate("opsguard_fills_beyond_reservation_total")), "{{instrument}}")],
            { bars: true },
          ),
          timeSeries(
            {
              title: "Unrealized P&L by instrument",
              description: "P&L of open operations at the last supervised price, by instrument.",
              unit: UNITS.money,
            },
            [prom(sumBy(["instrument"], series("opsguard_unrealized_pnl")), "{{instrument}}")],
          ),
          timeSeries(
            {
              title: "Drawdown",
              description:
                "Fall of equity from its peak over time. The halting threshold is the config's risk.maxDrawdown; the drawdown line of 'Limit utilization' shows how close it is.",
              unit: UNITS.ratio,
            },
            [prom(`max(${series("opsguard_drawdown_ratio")})`, "drawdown")],
            { min: 0 },
          ),
          timeSeries(
            { title: "Equity", description: "Equity over time, in account currency.", unit: UNITS.money },
            [prom(`max(${series("opsguard_equity")})`, "equity")],
          ),
        ],
      },
      globalLimitsRow(),
    ],
  });
}
