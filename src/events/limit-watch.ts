import type { EventLog } from "./log.js";

/**
 * Watches the risk limits' utilization (0..1 per limit) and records a `risk.limit_threshold`
 * event each time one crosses a threshold, up or down. Run {@link check} once per batch, just
 * before it commits: the crossing is then committed with the changes that caused it, and a turn
 * of many submits costs one reading of the ledger.
 */
export class LimitWatch {
  /** How many thresholds each limit is at or beyond. */
  private readonly levels = new Map<string, number>();
  private readonly thresholds: readonly number[];

  /**
   * @param utilization reads the current utilization of every limit.
   * @param thresholds ratios in (0, 1], in any order; none turns the watch off.
   */
  constructor(
    private readonly events: EventLog,
    private readonly utilization: () => Readonly<Record<string, number>>,
    thresholds: readonly number[],
  ) {
    this.thresholds = [...new Set(thresholds)].sort((a, b) => a - b);
    // Where the limits stand at start is no crossing.
    for (const [limit, value] of Object.entries(utilization())) this.levels.set(limit, this.levelOf(value));
  }

  /** Records a crossing for each limit whose level changed since the last check. */
  check(): void {
    if (this.thresholds.length === 0) return;
    for (const [limit, value] of Object.entries(this.utilization())) {
      const level = this.levelOf(value);
      const previous = this.levels.get(limit) ?? 0;
      if (level === previous) continue;
      this.levels.set(limit, level);
      const up = level > previous;
      // Up: the highest threshold now reached; down: the lowest one now left behind.
      const threshold = this.thresholds[up ? level - 1 : level]!;
      this.events.append(
        "risk.limit_threshold",
        {},
        { limit, threshold, utilization: value, direction: up ? "up" : "down" },
      );
    }
  }

  private levelOf(value: number): number {
    let level = 0;
    while (level < this.thresholds.length && value >= this.thresholds[level]!) level++;
    return level;
  }
}
