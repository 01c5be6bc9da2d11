// Checks and converts the charts' inputs. A chart fails fast on a value it cannot show rather
// than drawing something misleading (NaN drops a point silently; a local time moves it).
/** One point of a time series. `label`, when given, is drawn next to the point verbatim. */
export interface TimePoint {
  /** A Date, epoch milliseconds, or an ISO 8601 string that is a date or carries a zone (`Z`, `+02:00`). */
  time: Date | number | string;
  value: number;
  label?: string;
}

/** One bar of a by-category chart; `label` is the caller's formatted value, drawn at the bar's end. */
export interface CategoryValue {
  category: string;
  value: number;
  label: string;
}

/** The hit rate (0..1) of one pattern, optionally split by `group` (grouped bars with a legend). */
export interface PatternHitRate {
  pattern: string;
  hitRate: number;
  label: string;
  group?: string;
}

/** One confidence bucket: the predicted confidence (0..1, e.g. the bucket's midpoint) and the observed hit rate. */
export interface CalibrationBucket {
  predicted: number;
  observed: number;
  label?: string;
}

/** A time point as a chart row: epoch milliseconds, the value, and the label or null. */
export function timeRow(point: TimePoint, index: number) {
  return {
    time: epochMs(point.time, `points[${index}].time`),
    value: finite(point.value, `points[${index}].value`),
    label: point.label ?? null,
  };
}

// A date-time without a zone is read in local time, which would make the chart depend on the
// machine; date-only ISO strings are UTC by definition.
const ZONED_ISO = /^\d{4}-\d{2}-\d{2}(?:$|T.*(?:Z|[+-]\d{2}:?\d{2})$)/;

function epochMs(time: Date | number | string, what: string): number {
  const ms =
    typeof time === "number"
      ? time
      : typeof time === "string" && ZONED_ISO.test(time)
        ? Date.parse(time)
        : NaN;
  const value = time instanceof Date ? time.getTime() : ms;
  if (!Number.isFinite(value)) {
    throw new RangeError(`${what} must be a valid Date, epoch milliseconds or a zoned ISO 8601 string`);
  }
  return value;
}

/** Returns `value`, or throws a RangeError naming `what` when it is NaN or infinite. */
export function finite(value: number, what: string): number {
  if (!Number.isFinite(value)) throw new RangeError(`${what} must be a finite number, got ${value}`);
  return value;
}

/** Returns `value`, or throws a RangeError naming `what` when it is outside 0..1. */
export function ratio(value: number, what: string): number {
  if (!(finite(value, what) >= 0 && value <= 1))
    throw new RangeError(`${what} must be within 0..1, got ${value}`);
  return value;
}
