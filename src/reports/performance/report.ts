import { formatFixed } from "../../platform/fixed-point.js";
import type { TradingState } from "../../risk/codes.js";
import { TRADING_STATES } from "../../risk/codes.js";
import { timeframeBounds, type Timeframe } from "../timeframe.js";
import { BOOK } from "./aggregates.js";
import { dailyReturns, maxDrawdown, type Drawdown } from "./drawdown.js";
import type { PerformanceData } from "./load.js";
import { annualGrowth, calmar, sharpe, sortino } from "./ratios.js";
import { recommend, type Recommendation, type RuleThresholds } from "./recommendations.js";
import { patternStats, statsBy, tradeStats, type PatternStats, type TradeStats } from "./statistics.js";

/** What the report needs besides the data: the account and the limits it is judged against. */
export interface PerformanceSettings {
  startingEquity: bigint;
  moneyScale: number;
  currency: string;
  /** Periods in a year for annualizing daily ratios (365: markets that never close; 252: exchange days). */
  periodsPerYear: number;
  /** risk.maxDrawdown (a ratio) and risk.maxDailyLoss (money units). */
  maxDrawdown: number;
  maxDailyLoss: bigint;
  /** risk.maxExposure.total and .perInstrument (money units). */
  maxExposureTotal: bigint;
  maxExposurePerInstrument: bigint;
  rules: RuleThresholds;
}

/** {@link TradeStats} with money as decimal strings. */
export type TradeStatsView = Omit<
  TradeStats,
  "pnl" | "grossProfit" | "grossLoss" | "averagePnl" | "averageWin" | "averageLoss"
> & {
  pnl: string;
  grossProfit: string;
  grossLoss: string;
  averagePnl: string | null;
  averageWin: string | null;
  averageLoss: string | null;
};

export interface ExposurePeakView {
  peak: string;
  /** The peak ÷ its limit. */
  share: number;
  at: string;
}

export interface DrawdownView {
  amount: string;
  ratio: number | null;
  peak: string;
  from: string | null;
  to: string | null;
}

/** The performance report (docs/reports.md). */
export interface PerformanceReport {
  kind: "performance";
  generatedAt: string;
  timeframe: Timeframe & { days: number };
  currency: string;
  book: TradeStatsView & {
    equityStart: string;
    equityEnd: string;
    drawdown: DrawdownView;
    sharpe: number | null;
    sortino: number | null;
    calmar: number | null;
    annualGrowth: number | null;
    daily: { day: string; pnl: string; equity: string; return: number | null }[];
  };
  byStrategy: (TradeStatsView & { strategy: string; drawdown: DrawdownView })[];
  byInstrument: (TradeStatsView & { instrument: string })[];
  byPattern: (TradeStatsView & { pattern: string })[];
  patterns: PatternStats[];
  risk: {
    submits: number;
    rejected: number;
    failedChecks: { code: string; count: number; share: number | null }[];
    rejectedByStrategy: { strategy: string; count: number }[];
    cooldowns: { strategy: string; count: number }[];
    /** Milliseconds in each trading state over the timeframe (up to now). */
    timeInState: Record<TradingState, number>;
    halts: { at: string; reason: string; actor: string }[];
    /**
     * Peaks against the limits: the drawdown ÷ risk.maxDrawdown, the worst day's loss ÷
     * risk.maxDailyLoss, the highest open exposure ÷ risk.maxExposure (total, and by instrument).
     */
    utilization: {
      drawdown: number | null;
      dailyLoss: number | null;
      worstDay: string | null;
      exposureTotal: ExposurePeakView | null;
      exposureByInstrument: (ExposurePeakView & { instrument: string })[];
    };
  };
  recommendations: Recommendation[];
}

const iso = (at: number | null): string | null => (at === null ? null : new Date(at).toISOString());

/** Builds the report of `data` over `timeframe`; `now` bounds the time in each state. */
export function buildPerformanceReport(
  data: PerformanceData,
  timeframe: Timeframe,
  settings: PerformanceSettings,
  now: number,
): PerformanceReport {
  const money = (units: bigint): string => formatFixed(units, settings.moneyScale);
  const view = (stats: TradeStats): TradeStatsView => ({
    ...stats,
    pnl: money(stats.pnl),
    grossProfit: money(stats.grossProfit),
    grossLoss: money(stats.grossLoss),
    averagePnl: stats.averagePnl === null ? null : money(stats.averagePnl),
    averageWin: stats.averageWin === null ? null : money(stats.averageWin),
    averageLoss: stats.averageLoss === null ? null : money(stats.averageLoss),
  });
  const drawdownView = (d: Drawdown): DrawdownView => ({
    amount: money(d.amount),
    ratio: d.ratio,
    peak: money(d.peak),
    from: iso(d.from),
    to: iso(d.to),
  });
  const before = new Map(data.pnlBefore.map((r) => [r.strategy, r.pnl]));
  const daysOf = (strategy: string) => data.equity.find((e) => e.strategy === strategy)?.days ?? [];

  const bookDays = daysOf(BOOK);
  const equityStart = settings.startingEquity + (before.get(BOOK) ?? 0n);
  const bookDrawdown = maxDrawdown(equityStart, bookDays);
  const daily = dailyReturns(equityStart, bookDays, timeframe.first, timeframe.last);
  const returns = daily.flatMap((d) => (d.return === null ? [] : [d.return]));
  const equityEnd = equityStart + bookDays.reduce((sum, d) => sum + d.pnl, 0n);
  const growth = annualGrowth(Number(equityStart), Number(equityEnd), daily.length, settings.periodsPerYear);
  const book = tradeStats(data.rows);

  const byStrategy = statsBy(data.rows, (r) => r.strategy).map(({ key, stats }) => ({
    strategy: key,
    ...view(stats),
    drawdown: drawdownView(maxDrawdown(0n, daysOf(key))),
  }));

  const count = (event: string) => data.riskEvents.filter((e) => e.event === event);
  const submitsAccepted = data.accepted.reduce((sum, a) => sum + a.count, 0);
  const rejected = count("rejected").reduce((sum, e) => sum + e.count, 0);
  const submits = submitsAccepted + rejected;
  const byCode = new Map<string, number>();
  for (const e of count("failed_check")) byCode.set(e.code, (byCode.get(e.code) ?? 0) + e.count);
  const failedChecks = [...byCode]
    .map(([code, n]) => ({ code, count: n, share: submits === 0 ? null : n / submits }))
    .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  const cooldowns = count("cooldown").map((e) => ({ strategy: e.strategy, count: e.count }));

  const { start, end } = timeframeBounds(timeframe);
  const timeInState = Object.fromEntries(TRADING_STATES.map((s) => [s, 0])) as Record<TradingState, number>;
  let state = data.stateBefore;
  const until = Math.min(end, Math.max(now, start));
  // Nothing before the book began: a day that opsguard joined at noon was not active since midnight.
  let cursor = Math.min(until, Math.max(start, data.bookSince ?? until));
  for (const change of data.stateChanges) {
    timeInState[state] += Math.max(0, Math.min(change.at, until) - cursor);
    cursor = Math.max(cursor, Math.min(change.at, until));
    state = change.state;
  }
  timeInState[state] += Math.max(0, until - cursor);

  const exposurePeaks = data.peaks.map(({ measure, key, peak, at }) => {
    const limit =
      measure === "exposure_total" ? settings.maxExposureTotal : settings.maxExposurePerInstrument;
    return {
      measure,
      key,
      peak: money(peak),
      share: Number(peak) / Number(limit),
      at: new Date(at).toISOString(),
    };
  });
  const worst = bookDays.reduce<(typeof bookDays)[number] | undefined>(
    (w, d) => (!w || d.low < w.low ? d : w),
    undefined,
  );
  const patterns = patternStats(data.rows);
  const report: PerformanceReport = {
    kind: "performance",
    generatedAt: new Date(now).toISOString(),
    timeframe: { ...timeframe, days: daily.length },
    currency: settings.currency,
    book: {
      ...view(book),
      equityStart: money(equityStart),
      equityEnd: money(equityEnd),
      drawdown: drawdownView(bookDrawdown),
      sharpe: sharpe(returns, settings.periodsPerYear),
      sortino: sortino(returns, settings.periodsPerYear),
      calmar: calmar(growth, bookDrawdown.ratio),
      annualGrowth: growth,
      daily: daily.map((d) => ({
        day: d.day,
        pnl: money(d.pnl),
        equity: money(d.equity + d.pnl),
        return: d.return,
      })),
    },
    byStrategy,
    byInstrument: statsBy(data.rows, (r) => r.instrument).map(({ key, stats }) => ({
      instrument: key,
      ...view(stats),
    })),
    byPattern: statsBy(
      data.rows.filter((r) => r.pattern !== ""),
      (r) => r.pattern,
    ).map(({ key, stats }) => ({ pattern: key, ...view(stats) })),
    patterns,
    risk: {
      submits,
      rejected,
      failedChecks,
      rejectedByStrategy: count("rejected").map((e) => ({ strategy: e.strategy, count: e.count })),
      cooldowns,
      timeInState,
      halts: data.stateChanges
        .filter((c) => c.state === "halted")
        .map((c) => ({ at: new Date(c.at).toISOString(), reason: c.reason, actor: c.actor })),
      utilization: {
        drawdown: bookDrawdown.ratio === null ? null : bookDrawdown.ratio / settings.maxDrawdown,
        dailyLoss: worst && worst.low < 0n ? -Number(worst.low) / Number(settings.maxDailyLoss) : null,
        worstDay: worst && worst.low < 0n ? worst.day : null,
        exposureTotal: exposurePeaks.find((p) => p.measure === "exposure_total") ?? null,
        exposureByInstrument: exposurePeaks
          .filter((p) => p.measure === "exposure_instrument")
          .map(({ key, peak, share, at }) => ({ instrument: key, peak, share, at })),
      },
    },
    recommendations: [],
  };
  report.recommendations = recommend(
    {
      strategies: byStrategy.map((s) => ({
        strategy: s.strategy,
        closes: s.closes,
        averagePnl: s.averagePnl,
        averagePnlValue: s.averagePnl === null ? null : Number(s.averagePnl),
        profitFactor: s.profitFactor,
      })),
      patterns,
      submits,
      failedChecks,
      cooldowns,
      drawdown: {
        ratio: bookDrawdown.ratio,
        amount: money(bookDrawdown.amount),
        limit: settings.maxDrawdown,
      },
      worstDay:
        worst && worst.low < 0n
          ? {
              day: worst.day,
              low: Number(worst.low),
              lowText: money(worst.low),
              limit: Number(settings.maxDailyLoss),
              limitText: money(settings.maxDailyLoss),
            }
          : undefined,
    },
    settings.rules,
  );
  return report;
}
