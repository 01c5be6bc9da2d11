/** How much a recommendation matters: `high` ones can page (alert OpsguardReportRecommendationHigh). */
export const RECOMMENDATION_SEVERITIES = ["info", "warning", "high"] as const;
export type RecommendationSeverity = (typeof RECOMMENDATION_SEVERITIES)[number];

/** The rules, by id; docs/reports.md describes each. */
export const RULES = {
  "PERF-001": "pattern-overconfident",
  "PERF-002": "rejection-share",
  "PERF-003": "repeated-cooldowns",
  "PERF-004": "drawdown-near-limit",
  "PERF-005": "negative-expectancy",
  "PERF-006": "daily-loss-near-limit",
} as const;
export type RuleId = keyof typeof RULES;

/** One recommendation of any report: what the numbers say, the numbers, and what to do. */
export interface RecommendationOf<Id extends string, Rule extends string> {
  id: Id;
  rule: Rule;
  severity: RecommendationSeverity;
  /** What it is about: a strategy, a pattern, a rejection code, "book", a resource of the host. */
  subject: string;
  title: string;
  evidence: string[];
  recommendation: string;
}

/** A recommendation of the performance report. */
export type Recommendation = RecommendationOf<RuleId, (typeof RULES)[RuleId]>;

/** The thresholds of the rules (`reports.performance.rules`). */
export interface RuleThresholds {
  /** Closes a strategy or pattern needs before a rule judges it. */
  minCloses: number;
  /** PERF-001: how far below its mean confidence a pattern's hit rate may fall. */
  confidenceMargin: number;
  /** PERF-002: share of submits one failed check may reach, and the submits needed to judge. */
  rejectionShare: number;
  minSubmits: number;
  /** PERF-003: cooldowns of one strategy in the timeframe. */
  cooldowns: number;
  /** PERF-004, PERF-006: share of a limit reached. */
  nearLimit: number;
}

/** What the rules look at, as the report computed it. */
export interface RuleInputs {
  strategies: {
    strategy: string;
    closes: number;
    averagePnl: string | null;
    averagePnlValue: number | null;
    profitFactor: number | null;
  }[];
  patterns: {
    pattern: string;
    withConfidence: number;
    hitRate: number | null;
    meanConfidence: number | null;
    brier: number | null;
  }[];
  submits: number;
  failedChecks: { code: string; count: number }[];
  cooldowns: { strategy: string; count: number }[];
  drawdown: { ratio: number | null; amount: string; limit: number };
  worstDay: { day: string; low: number; lowText: string; limit: number; limitText: string } | undefined;
}

const pct = (value: number): string => `${(value * 100).toFixed(1)}%`;

/**
 * `value` ≥ `threshold`, forgiving the last bits of a float: 0.08 is 80% of 0.1 although
 * 0.8 × 0.1 is 0.08000000000000002 in binary.
 */
const reaches = (value: number, threshold: number): boolean =>
  value >= threshold - 1e-12 * Math.abs(threshold);

// Failed checks that mean a limit is too tight for what the strategy sends, or the strategy asks
// for too much; the others (a halt, an unknown name) have their own remedies.
const SIZING_CODES = new Set([
  "POSITION_SIZE_EXCEEDED",
  "NOTIONAL_EXCEEDED",
  "EXPOSURE_EXCEEDED",
  "DAILY_OPERATIONS_EXCEEDED",
  "RATE_LIMITED",
  "OPERATION_INTERVAL",
  "AUTO_SIZE_TOO_SMALL",
]);

/** Every rule over the inputs; the recommendations that apply, most severe first. */
export function recommend(inputs: RuleInputs, t: RuleThresholds): Recommendation[] {
  const found: Recommendation[] = [];
  const add = (id: RuleId, r: Omit<Recommendation, "id" | "rule">) =>
    found.push({ id, rule: RULES[id], ...r });

  for (const p of inputs.patterns) {
    if (p.withConfidence < t.minCloses || p.hitRate === null || p.meanConfidence === null) continue;
    if (reaches(p.hitRate, p.meanConfidence - t.confidenceMargin)) continue;
    add("PERF-001", {
      severity: "warning",
      subject: p.pattern,
      title: `pattern ${p.pattern} wins less often than its confidence says`,
      evidence: [
        `hit rate ${pct(p.hitRate)} over ${p.withConfidence} closes, mean declared confidence ${pct(p.meanConfidence)}`,
        `Brier score ${p.brier?.toFixed(3)} (0 is perfect, 0.25 is a coin toss at 50%)`,
      ],
      recommendation: `Recalibrate the confidence the strategy declares for ${p.pattern}, or stop trading it until its hit rate recovers.`,
    });
  }

  if (inputs.submits >= t.minSubmits) {
    for (const { code, count } of inputs.failedChecks) {
      const share = count / inputs.submits;
      if (!reaches(share, t.rejectionShare)) continue;
      add("PERF-002", {
        severity: "warning",
        subject: code,
        title: `${pct(share)} of submits failed ${code}`,
        evidence: [`${count} of ${inputs.submits} submits failed the check ${code}`],
        recommendation: SIZING_CODES.has(code)
          ? "A limit is too tight for what the strategies send, or a strategy sizes beyond it: review the limit in risk config and the strategy's sizing."
          : `Find why submits fail ${code} (docs/api.md lists the codes) and fix the caller or the state.`,
      });
    }
  }

  for (const { strategy, count } of inputs.cooldowns) {
    if (count < t.cooldowns) continue;
    add("PERF-003", {
      severity: "warning",
      subject: strategy,
      title: `strategy ${strategy} hit its loss streak limit ${count} times`,
      evidence: [`${count} cooldowns started (threshold ${t.cooldowns})`],
      recommendation: `Review ${strategy}: repeated loss streaks suggest a regime it does not fit; reduce its size or pause it.`,
    });
  }

  const { drawdown } = inputs;
  if (drawdown.ratio !== null && reaches(drawdown.ratio, t.nearLimit * drawdown.limit)) {
    add("PERF-004", {
      severity: "high",
      subject: "book",
      title: `drawdown reached ${pct(drawdown.ratio / drawdown.limit)} of its limit`,
      evidence: [
        `maximum drawdown ${drawdown.amount} (${pct(drawdown.ratio)}), risk.maxDrawdown ${pct(drawdown.limit)}`,
      ],
      recommendation:
        "Reduce exposure now: trading halts at the limit. Check which strategies lost (by strategy, above).",
    });
  }

  const day = inputs.worstDay;
  if (day && reaches(-day.low, t.nearLimit * day.limit)) {
    add("PERF-006", {
      severity: "warning",
      subject: "book",
      title: `on ${day.day} the daily loss reached ${pct(-day.low / day.limit)} of its limit`,
      evidence: [`lowest P&L of the day ${day.lowText}, risk.maxDailyLoss ${day.limitText}`],
      recommendation:
        "Days this close to the daily loss limit halt trading: review position sizes and risk.maxDailyLoss.",
    });
  }

  for (const s of inputs.strategies) {
    if (s.closes < t.minCloses || s.averagePnlValue === null || s.averagePnlValue >= 0) continue;
    add("PERF-005", {
      severity: "warning",
      subject: s.strategy,
      title: `strategy ${s.strategy} loses money on average`,
      evidence: [
        `average P&L per close ${s.averagePnl} over ${s.closes} closes`,
        `profit factor ${s.profitFactor === null ? "undefined (no losses)" : s.profitFactor.toFixed(2)}`,
      ],
      recommendation: `Pause ${s.strategy} or cut its size until its expectancy is positive.`,
    });
  }

  const rank = { high: 0, warning: 1, info: 2 };
  return found.sort(
    (a, b) =>
      rank[a.severity] - rank[b.severity] || a.id.localeCompare(b.id) || a.subject.localeCompare(b.subject),
  );
}
