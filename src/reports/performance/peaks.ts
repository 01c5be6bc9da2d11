import { startOfUtcDay } from "../../platform/clock.js";
import { dayOf } from "./aggregates.js";

/** What is recorded when a day's exposure reaches a new high: the day, the measure, and when. */
export type RecordPeak = (
  day: string,
  measure: "exposure_total" | "exposure_instrument",
  key: string,
  value: bigint,
  at: number,
) => void;

const DAY_MS = 86_400_000;

/**
 * The highest exposure of each UTC day, in total and by instrument, for the performance report's
 * limit utilization. It remembers the day's highs, so only a new high is written: a submit that
 * does not raise one costs two comparisons.
 */
export class ExposurePeaks {
  private dayEnd = Number.NEGATIVE_INFINITY;
  private day = "";
  private total = 0n;
  private readonly byInstrument = new Map<string, bigint>();

  constructor(private readonly record: RecordPeak) {}

  /** Notes the exposure after a reservation or a fill at `at`; records what is a new high of the day. */
  observe(at: number, total: bigint, instrument: string, ofInstrument: bigint): void {
    if (at >= this.dayEnd) {
      this.dayEnd = startOfUtcDay(at) + DAY_MS;
      this.day = dayOf(at);
      this.total = 0n;
      this.byInstrument.clear();
    }
    if (total > this.total) {
      this.total = total;
      this.record(this.day, "exposure_total", "", total, at);
    }
    if (ofInstrument > (this.byInstrument.get(instrument) ?? 0n)) {
      this.byInstrument.set(instrument, ofInstrument);
      this.record(this.day, "exposure_instrument", instrument, ofInstrument, at);
    }
  }
}
