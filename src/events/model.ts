/**
 * The kinds of event opsguard records, each in the transaction of the change it describes:
 * - `operation.opened`, `operation.closed`, `operation.failed`: the operation as it is after the
 *   change (`data.operation`, the JSON of `GET /v1/operations/:id`); a close adds `data.result`;
 * - `operation.reconciled`: an execution whose outcome was unknown was settled (`data.outcome`);
 * - `trading.state_changed`: halted, reducing or resumed (`data.from`, `data.to`, `data.reason`,
 *   `data.trigger`);
 * - `risk.limit_threshold`: a limit's utilization crossed one of `events.limitThresholds`
 *   (`data.limit`, `data.threshold`, `data.utilization`, `data.direction` up or down).
 */
export const EVENT_KINDS = [
  "operation.opened",
  "operation.closed",
  "operation.failed",
  "operation.reconciled",
  "trading.state_changed",
  "risk.limit_threshold",
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** What an event is about, beside its data: the fields a subscriber filters on. */
export interface EventSubject {
  operationId?: string | null;
  strategy?: string | null;
  instrument?: string | null;
}

/** An event as stored: its data kept as the JSON text it was written with. */
export interface StoredEvent {
  id: number;
  /** When it happened, in ms since the epoch. */
  at: number;
  kind: EventKind;
  operationId: string | null;
  strategy: string | null;
  instrument: string | null;
  /** The kind's fields, as JSON text. */
  data: string;
  /** The event's JSON as subscribers receive it, once {@link eventJson} has built it. */
  json?: string;
}

/** Which events a subscriber or an endpoint wants; an absent field selects every value. */
export interface EventFilter {
  kinds?: ReadonlySet<EventKind>;
  strategies?: ReadonlySet<string>;
  instruments?: ReadonlySet<string>;
}

/**
 * Whether `event` passes `filter`. A strategy or instrument filter only applies to events that
 * have one: account-wide events (a halt, a limit crossing) reach every subscriber that takes their
 * kind, since they concern every strategy.
 */
export function matches(filter: EventFilter, event: StoredEvent): boolean {
  if (filter.kinds && !filter.kinds.has(event.kind)) return false;
  if (filter.strategies && event.strategy !== null && !filter.strategies.has(event.strategy)) return false;
  if (filter.instruments && event.instrument !== null && !filter.instruments.has(event.instrument)) {
    return false;
  }
  return true;
}

/** An event as subscribers and webhook endpoints receive it, parsed (see {@link eventJson}). */
export interface EventJson {
  id: number;
  kind: EventKind;
  /** ISO 8601. */
  at: string;
  operationId: string | null;
  strategy: string | null;
  instrument: string | null;
  data: Record<string, unknown>;
}

/**
 * The JSON of an event as subscribers and webhook endpoints receive it:
 * `{"id","kind","at","operationId","strategy","instrument","data"}`. The stored data is spliced in
 * as it is, never parsed again, and the JSON is built once per event, however many streams and
 * endpoints take it.
 */
export function eventJson(event: StoredEvent): string {
  return (event.json ??= buildJson(event));
}

function buildJson(event: StoredEvent): string {
  const head = JSON.stringify({
    id: event.id,
    kind: event.kind,
    at: new Date(event.at).toISOString(),
    operationId: event.operationId,
    strategy: event.strategy,
    instrument: event.instrument,
  });
  return `${head.slice(0, -1)},"data":${event.data}}`;
}
