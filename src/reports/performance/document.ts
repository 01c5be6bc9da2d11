import {
  renderCalibrationSvg,
  renderCategoryBarsSvg,
  renderDrawdownSvg,
  renderEquityCurveSvg,
  renderHitRateSvg,
} from "../render/charts.js";
import type { HtmlReport, ReportChart, ReportItem, ReportSection } from "../render/report-document.js";
import type { Recommendation } from "./recommendations.js";
import type { PerformanceReport, TradeStatsView } from "./report.js";

// The performance report as a document: the same numbers as the JSON, formatted once here, for
// the HTML, Markdown and terminal renderers.

const NONE = "–";

/** A share as a percentage with one decimal; below one point, two significant digits. */
export const percent = (value: number | null): string => {
  if (value === null) return NONE;
  const points = value * 100;
  // One decimal would show a real 0.03% as 0.0%.
  return points !== 0 && Math.abs(points) < 1 ? `${points.toPrecision(2)}%` : `${points.toFixed(1)}%`;
};
/** A ratio with two decimals. */
export const fixed = (value: number | null, digits = 2): string =>
  value === null ? NONE : value.toFixed(digits);
const text = (value: string | null): string => value ?? NONE;

/** A duration in milliseconds as `1d 2h`, `3h 4m`, `5m 6s` or `7.8s`. */
export function duration(ms: number | null): string {
  if (ms === null) return NONE;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const units: [number, string][] = [
    [86_400, "d"],
    [3600, "h"],
    [60, "m"],
    [1, "s"],
  ];
  const parts: string[] = [];
  let rest = Math.round(s);
  for (const [size, unit] of units) {
    if (rest >= size || parts.length > 0) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

const STATS_COLUMNS = [
  "closes",
  "win rate",
  "P&L",
  "avg P&L",
  "avg win",
  "avg loss",
  "payoff",
  "profit factor",
  "SQN",
  "avg R",
  "avg duration",
  "long",
];

function statsCells(s: TradeStatsView): string[] {
  return [
    String(s.closes),
    percent(s.winRate),
    s.pnl,
    text(s.averagePnl),
    text(s.averageWin),
    text(s.averageLoss),
    fixed(s.payoffRatio),
    fixed(s.profitFactor),
    fixed(s.sqn),
    fixed(s.averageR),
    duration(s.averageDurationMs),
    percent(s.longShare),
  ];
}

/** The recommendations (of any report) as findings, each with its own severity. */
export function recommendationItems(
  recommendations: readonly (Pick<Recommendation, "severity" | "title" | "evidence" | "recommendation"> & {
    id: string;
  })[],
): ReportItem[] {
  return recommendations.map((r) => ({
    severity: r.severity,
    title: `${r.id} ${r.title}`,
    evidence: r.evidence,
    recommendation: r.recommendation,
  }));
}

/** Renders the charts of the report, or none (Markdown and the terminal do not show them). */
async function charts(report: PerformanceReport): Promise<Record<string, ReportChart[]>> {
  const days = report.book.daily;
  let peak = Number.NEGATIVE_INFINITY;
  const equity = days.map((d) => ({ time: d.day, value: Number(d.equity) }));
  const drawdown = equity.map((point) => {
    peak = Math.max(peak, point.value);
    return { time: point.time, value: point.value - peak };
  });
  const bars = (rows: { key: string; pnl: string }[]) =>
    rows.map((r) => ({ category: r.key, value: Number(r.pnl), label: r.pnl }));
  const patterns = report.patterns.filter((p) => p.hitRate !== null);
  const buckets = report.patterns.flatMap((p) =>
    p.calibration.flatMap((b) =>
      b.hitRate === null
        ? []
        : [
            {
              predicted: b.meanConfidence ?? (b.from + b.to) / 2,
              observed: b.hitRate,
              label: `${p.pattern} ${b.hits}/${b.closes}`,
            },
          ],
    ),
  );
  const found: Record<string, ReportChart[]> = { equity: [], strategies: [], instruments: [], patterns: [] };
  if (days.length > 1) {
    found.equity!.push(
      {
        title: `Equity at the end of each day (${report.currency})`,
        svg: await renderEquityCurveSvg(equity),
      },
      { title: "Drawdown from the highest day-end equity", svg: await renderDrawdownSvg(drawdown) },
    );
  }
  if (report.byStrategy.length > 0)
    found.strategies!.push({
      title: `P&L by strategy (${report.currency})`,
      svg: await renderCategoryBarsSvg(bars(report.byStrategy.map((s) => ({ key: s.strategy, pnl: s.pnl })))),
    });
  if (report.byInstrument.length > 0)
    found.instruments!.push({
      title: `P&L by instrument (${report.currency})`,
      svg: await renderCategoryBarsSvg(
        bars(report.byInstrument.map((s) => ({ key: s.instrument, pnl: s.pnl }))),
      ),
    });
  if (patterns.length > 0)
    found.patterns!.push({
      title: "Hit rate by pattern",
      svg: await renderHitRateSvg(
        patterns.map((p) => ({ pattern: p.pattern, hitRate: p.hitRate!, label: percent(p.hitRate) })),
      ),
    });
  if (buckets.length > 0)
    found.patterns!.push({
      title: "Calibration: declared confidence against hit rate",
      svg: await renderCalibrationSvg(buckets),
    });
  return found;
}

/** The report as a document; `withCharts` renders the SVG charts (for HTML). */
export async function performanceDocument(
  report: PerformanceReport,
  withCharts: boolean,
): Promise<HtmlReport> {
  const c = withCharts ? await charts(report) : {};
  const { book, risk, timeframe } = report;
  const sections: ReportSection[] = [
    {
      heading: "Summary",
      paragraphs: [
        `${timeframe.first} to ${timeframe.last} (${timeframe.days} ${timeframe.days === 1 ? "day" : "days"}, UTC). Equity ${book.equityStart} → ${book.equityEnd} ${report.currency}: ${book.pnl} over ${book.closes} ${book.closes === 1 ? "close" : "closes"}.`,
        `Maximum drawdown ${book.drawdown.amount} (${percent(book.drawdown.ratio)} of the peak ${book.drawdown.peak})${book.drawdown.to ? `, from ${book.drawdown.from ?? timeframe.first} to ${book.drawdown.to}` : ""}. Sharpe ${fixed(book.sharpe)}, Sortino ${fixed(book.sortino)}, Calmar ${fixed(book.calmar)} on daily returns.`,
      ],
      tables: [{ columns: ["", ...STATS_COLUMNS], rows: [["book", ...statsCells(book)]] }],
    },
    {
      heading: "Recommendations",
      paragraphs: report.recommendations.length === 0 ? ["None: no rule applies over this timeframe."] : [],
      items: recommendationItems(report.recommendations),
    },
    {
      heading: "Equity and drawdown",
      charts: c.equity ?? [],
      paragraphs: c.equity?.length
        ? []
        : withCharts
          ? [
              "No chart over a single day: a curve needs two day-ends or more. The day's figures are above, and in the JSON.",
            ]
          : ["Charts are in the HTML report; the daily figures are in the JSON."],
    },
    {
      heading: "By strategy",
      charts: c.strategies ?? [],
      tables: [
        {
          columns: ["strategy", ...STATS_COLUMNS, "drawdown"],
          rows: report.byStrategy.map((s) => [s.strategy, ...statsCells(s), s.drawdown.amount]),
        },
      ],
    },
    {
      heading: "By instrument",
      charts: c.instruments ?? [],
      tables: [
        {
          columns: ["instrument", ...STATS_COLUMNS],
          rows: report.byInstrument.map((s) => [s.instrument, ...statsCells(s)]),
        },
      ],
    },
    {
      heading: "Patterns",
      charts: c.patterns ?? [],
      tables: [
        {
          columns: ["pattern", "closes", "hits", "hit rate", "with confidence", "mean confidence", "Brier"],
          rows: report.patterns.map((p) => [
            p.pattern,
            String(p.closes),
            String(p.hits),
            percent(p.hitRate),
            String(p.withConfidence),
            percent(p.meanConfidence),
            fixed(p.brier, 3),
          ]),
        },
      ],
    },
    {
      heading: "Risk",
      paragraphs: [
        `${risk.submits} submits, ${risk.rejected} rejected. Drawdown at ${percent(risk.utilization.drawdown)} of risk.maxDrawdown; worst day's loss at ${percent(risk.utilization.dailyLoss)} of risk.maxDailyLoss${risk.utilization.worstDay ? ` (${risk.utilization.worstDay})` : ""}; highest open exposure ${risk.utilization.exposureTotal ? `${risk.utilization.exposureTotal.peak} (${percent(risk.utilization.exposureTotal.share)} of risk.maxExposure.total, ${risk.utilization.exposureTotal.at})` : "none"}.`,
        `Time active ${duration(risk.timeInState.active)}, reducing ${duration(risk.timeInState.reducing)}, halted ${duration(risk.timeInState.halted)}; ${risk.halts.length} halts.`,
      ],
      tables: [
        {
          columns: ["failed check", "count", "share of submits"],
          rows: risk.failedChecks.map((f) => [f.code, String(f.count), percent(f.share)]),
        },
        {
          columns: ["strategy", "cooldowns"],
          rows: risk.cooldowns.map((r) => [r.strategy, String(r.count)]),
        },
        { columns: ["halted at", "by", "reason"], rows: risk.halts.map((h) => [h.at, h.actor, h.reason]) },
      ].filter((table) => table.rows.length > 0),
    },
  ];
  return {
    title: "opsguard performance report",
    subtitle: `${timeframe.name === "custom" ? "" : `${timeframe.name}: `}${timeframe.first} to ${timeframe.last}`,
    generatedAt: report.generatedAt,
    sections,
  };
}
