import { DomainError } from "../platform/errors.js";
import { dayOf } from "./performance/aggregates.js";

/** The named timeframes of a report, in UTC days that end with today. */
export const TIMEFRAMES = ["day", "week", "month", "all"] as const;
export type TimeframeName = (typeof TIMEFRAMES)[number];

/** Whole UTC days, `first` to `last` included. */
export interface Timeframe {
  name: TimeframeName | "custom";
  first: string;
  last: string;
}

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The day that starts `days` days after `day`. */
export function addDays(day: string, days: number): string {
  return dayOf(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS);
}

function parseDay(field: string, value: string): string {
  // Date.parse gives NaN for month 13 and accepts 2026-02-30 (as March 2nd): a date that does not
  // parse, or does not come back the same, is refused.
  const at = DATE.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(at) || dayOf(at) !== value)
    throw new DomainError("VALIDATION_FAILED", `${field} must be a date, YYYY-MM-DD`, [
      { code: "INVALID_DATE", path: field, message: `${JSON.stringify(value)} is not a date (YYYY-MM-DD)` },
    ]);
  return value;
}

/** How a request names a timeframe. */
export interface TimeframeQuery {
  timeframe?: string;
  from?: string;
  to?: string;
}

/**
 * The timeframe a request names: `timeframe` (day: today; week: the last 7 days; month: the last
 * 30; all: from the first day with data), or `from` and `to` as dates (both included; `from`
 * defaults to the first day with data, or to `to` when that is earlier, and `to` to today).
 * Anything else is refused with the field named; today is the clock's UTC day.
 */
export function parseTimeframe(
  query: TimeframeQuery,
  now: number,
  firstDayWithData: () => string | undefined,
): Timeframe {
  const today = dayOf(now);
  if (query.from !== undefined || query.to !== undefined) {
    if (query.timeframe !== undefined)
      throw new DomainError("VALIDATION_FAILED", "give timeframe, or from and to, not both", [
        { code: "CONFLICT", path: "timeframe", message: "timeframe cannot be combined with from/to" },
      ]);
    const last = parseDay("to", query.to ?? today);
    if (query.from === undefined) {
      // From the first day with data, or `to` itself when it is earlier: an empty report, not an error.
      const start = firstDayWithData() ?? last;
      return { name: "custom", first: start < last ? start : last, last };
    }
    const first = parseDay("from", query.from);
    if (first > last)
      throw new DomainError("VALIDATION_FAILED", "from is after to", [
        { code: "INVALID_RANGE", path: "from", message: `from ${first} is after to ${last}` },
      ]);
    return { name: "custom", first, last };
  }
  const name = query.timeframe ?? "week";
  switch (name) {
    case "day":
      return { name, first: today, last: today };
    case "week":
      return { name, first: addDays(today, -6), last: today };
    case "month":
      return { name, first: addDays(today, -29), last: today };
    case "all": {
      const first = firstDayWithData() ?? today;
      return { name, first: first < today ? first : today, last: today };
    }
    default:
      throw new DomainError("VALIDATION_FAILED", "unknown timeframe", [
        {
          code: "INVALID_ENUM",
          path: "timeframe",
          message: `timeframe must be one of ${TIMEFRAMES.join(", ")}`,
        },
      ]);
  }
}

/** The milliseconds the timeframe covers: [start of `first`, start of the day after `last`). */
export function timeframeBounds(timeframe: Timeframe): { start: number; end: number } {
  return {
    start: Date.parse(`${timeframe.first}T00:00:00Z`),
    end: Date.parse(`${addDays(timeframe.last, 1)}T00:00:00Z`),
  };
}
