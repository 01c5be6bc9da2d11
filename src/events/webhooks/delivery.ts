import { setTimeout as sleep } from "node:timers/promises";
import type { Clock } from "../../platform/clock.js";
import type { GroupCommit } from "../../platform/group-commit.js";
import type { Logger } from "../../platform/logger.js";
import type { EventLog } from "../log.js";
import { matches, type EventFilter, type StoredEvent } from "../model.js";
import type { WebhookCursors } from "./cursors.js";
import type { WebhookMetrics } from "./metrics.js";
import { batchBody, type SendWebhook } from "./send.js";
import { signWebhookBody } from "./signature.js";

/** One configured endpoint, its secret read. */
export interface WebhookEndpoint {
  name: string;
  url: string;
  filter: EventFilter;
  secret: string;
}

/** How every endpoint is delivered to. */
export interface DeliverySettings {
  timeoutMs: number;
  maxBatchEvents: number;
  retry: { initialMs: number; maxMs: number };
}

export interface WebhookDeliveryOptions {
  endpoint: WebhookEndpoint;
  settings: DeliverySettings;
  log: EventLog;
  cursors: WebhookCursors;
  commits: GroupCommit;
  clock: Clock;
  logger: Logger;
  metrics: WebhookMetrics;
  send: SendWebhook;
  /** Source of the backoff jitter, in [0, 1). @default Math.random */
  random?: () => number;
}

/**
 * Events read from the database in one round while looking for a batch: a filter that skips
 * most events does not make one round read the whole backlog in a single event-loop turn.
 */
const SCAN_ROWS = 1_000;
/** Rows per read at least: a small `maxBatchEvents` behind a selective filter still reads in pages. */
const MIN_PAGE_ROWS = 100;
/**
 * How long the loop lets events gather before it sends a batch that is not full. Without it, an
 * endpoint that answers quickly got a POST after nearly every commit (50 a second each, of a few
 * dozen events, at 2,500 events a second), each costing opsguard a request of its own.
 */
const LINGER_MS = 50;
/** A failure streak is logged at its first attempt and at every this many. */
const LOG_EVERY_FAILURES = 10;

/** Events to send and the cursor they take the endpoint to (past the events skipped too). */
interface Batch {
  events: StoredEvent[];
  upTo: number;
}

/**
 * Delivers the committed events to one endpoint, in id order, at least once.
 *
 * The events table is the outbox and the endpoint's `webhook_cursors` row says how far it got:
 * a batch is read after the cursor, POSTed, and only a 2xx moves the cursor past it (in a
 * committed write). A failure is retried with the same events after a backoff that doubles from
 * `retry.initialMs` to `retry.maxMs` with full jitter, forever: skipping ahead would break the
 * order, and the endpoint's alert says when it stays down. A restart resumes from the cursor, so
 * a batch whose answer was lost is sent again (the same event ids; a receiver dedupes by them).
 *
 * Trading never waits for it: the events are already committed, the loop only reads them, every
 * request is asynchronous and bounded by `timeoutMs`, and memory holds one batch at most.
 */
export class WebhookDelivery {
  private cursor = 0;
  private failures = 0;
  private failingSince = 0;
  private wake: (() => void) | undefined;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private readonly random: () => number;

  constructor(private readonly options: WebhookDeliveryOptions) {
    this.random = options.random ?? Math.random;
  }

  get name(): string {
    return this.options.endpoint.name;
  }

  /** The id of the last event this endpoint acknowledged or skipped. */
  get position(): number {
    return this.cursor;
  }

  /** Failed attempts in a row; 0 once one succeeds. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /**
   * Reads the endpoint's cursor (a new endpoint starts at the last committed event: it is sent
   * what happens from now on) and starts the loop.
   */
  start(): void {
    if (this.running) return;
    const { commits, cursors, log, clock } = this.options;
    this.cursor = commits.write(() => cursors.open(this.name, log.published, clock.now()));
    this.notePending();
    this.running = this.run();
  }

  /** Called after each commit of events: wakes the loop if it is idle. */
  notify(): void {
    this.notePending();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Aborts the request in flight, and resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.notify();
    await this.running;
  }

  private async run(): Promise<void> {
    const { signal } = this.stopping;
    const { logger, settings } = this.options;
    while (!signal.aborted) {
      try {
        const batch = this.nextBatch();
        if (batch === undefined) {
          // Caught up: nothing after the cursor is committed. notify() ends the wait.
          await new Promise<void>((resolve) => (this.wake = resolve));
        } else if (batch.events.length === 0) {
          // Only events the filters skip: move past them, and let other work run before more.
          await this.advance(batch.upTo);
          await new Promise((resolve) => setImmediate(resolve));
        } else {
          await this.deliver(batch);
          // A full batch says more are waiting: send them at once; otherwise let more gather.
          if (batch.events.length < settings.maxBatchEvents) {
            await sleep(LINGER_MS, undefined, { signal }).catch(() => undefined);
          }
        }
      } catch (error) {
        if (signal.aborted) break;
        // A failed commit of the cursor, most likely: opsguard stops itself then. Never a tight loop.
        logger.error("webhook delivery failed unexpectedly", {
          event: "webhook.loop_failed",
          endpoint: this.name,
          error,
        });
        await sleep(settings.retry.maxMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /**
   * The next events after the cursor that the endpoint's filters select, at most
   * `maxBatchEvents`; undefined when there is nothing after the cursor at all.
   */
  private nextBatch(): Batch | undefined {
    const { log, endpoint, settings } = this.options;
    this.skipExpired();
    const events: StoredEvent[] = [];
    let upTo = this.cursor;
    let scanned = 0;
    const pageRows = Math.max(settings.maxBatchEvents, MIN_PAGE_ROWS);
    while (events.length < settings.maxBatchEvents && scanned < SCAN_ROWS) {
      const page = log.readAfter(upTo, pageRows);
      for (const event of page) {
        upTo = event.id;
        if (matches(endpoint.filter, event)) events.push(event);
        if (events.length === settings.maxBatchEvents) break;
      }
      scanned += page.length;
      if (page.length < pageRows) break;
    }
    return upTo === this.cursor ? undefined : { events, upTo };
  }

  /**
   * Events older than `events.retentionHours` are pruned whether or not every endpoint got them.
   * An endpoint whose cursor is behind the oldest event kept goes on from there, and says how
   * many it lost, once.
   */
  private skipExpired(): void {
    const { log, logger, metrics, commits, cursors, clock } = this.options;
    const published = log.published;
    if (this.cursor >= published) return;
    // The oldest row may belong to a batch not committed yet: nothing committed is older then.
    const keptFrom = Math.min(log.oldestId() ?? published + 1, published + 1);
    if (this.cursor >= keptFrom - 1) return;
    const lost = keptFrom - 1 - this.cursor;
    logger.warn(`webhook endpoint ${this.name} missed ${lost} events pruned by events.retentionHours`, {
      event: "webhook.events_expired",
      endpoint: this.name,
      lost,
      fromEventId: this.cursor + 1,
      toEventId: keptFrom - 1,
    });
    metrics.eventsExpired.inc({ endpoint: this.name }, lost);
    this.cursor = keptFrom - 1;
    commits.write(() => cursors.advance(this.name, this.cursor, clock.now()));
    this.notePending();
  }

  /** Sends one batch until an attempt is acknowledged, or the delivery stops. */
  private async deliver({ events, upTo }: Batch): Promise<void> {
    const { endpoint, settings, clock, metrics, send } = this.options;
    const { signal } = this.stopping;
    const deliveryId = `${endpoint.name}:${events[0]!.id}-${events[events.length - 1]!.id}`;
    const body = batchBody(deliveryId, events);
    const labels = { endpoint: endpoint.name };
    while (!signal.aborted) {
      // Signed at each attempt: a retry hours later still carries a fresh timestamp.
      const signature = signWebhookBody(endpoint.secret, body, Math.floor(clock.now() / 1000));
      const started = performance.now();
      const result = await send({
        url: endpoint.url,
        deliveryId,
        body,
        signature,
        signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutMs)]),
      });
      // Stopping is no failure of the endpoint: the batch is sent again at the next start.
      if (signal.aborted) return;
      metrics.duration.observe(labels, (performance.now() - started) / 1000);
      if (result.ok) {
        metrics.deliveries.inc({ ...labels, outcome: "delivered" });
        metrics.eventsDelivered.inc(labels, events.length);
        metrics.lastSuccess.set(labels, clock.now() / 1000);
        this.recovered();
        await this.advance(upTo);
        return;
      }
      metrics.deliveries.inc({ ...labels, outcome: "failed" });
      const delayMs = this.failed(deliveryId, events.length, result);
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Counts a failed attempt, logs it now and then; returns the delay before the next one. */
  private failed(deliveryId: string, count: number, result: { status?: number; error?: string }): number {
    const { logger, metrics, settings, clock } = this.options;
    if (this.failures === 0) this.failingSince = clock.now();
    this.failures++;
    metrics.consecutiveFailures.set({ endpoint: this.name }, this.failures);
    // Full jitter (a uniform delay up to the exponential bound): endpoints that failed together
    // do not all retry at the same instant.
    const bound = Math.min(
      settings.retry.maxMs,
      settings.retry.initialMs * 2 ** Math.min(this.failures - 1, 40),
    );
    const delayMs = Math.round(this.random() * bound);
    if (this.failures === 1 || this.failures % LOG_EVERY_FAILURES === 0) {
      logger.warn(`webhook delivery to ${this.name} failed; retrying`, {
        event: "webhook.delivery_failed",
        endpoint: this.name,
        deliveryId,
        events: count,
        attempt: this.failures,
        ...(result.status === undefined ? { error: result.error } : { status: result.status }),
        retryInMs: delayMs,
      });
    }
    return delayMs;
  }

  private recovered(): void {
    const { logger, metrics, clock } = this.options;
    if (this.failures === 0) return;
    logger.info(`webhook endpoint ${this.name} answers again`, {
      event: "webhook.recovered",
      endpoint: this.name,
      failedAttempts: this.failures,
      failingForMs: clock.now() - this.failingSince,
    });
    this.failures = 0;
    metrics.consecutiveFailures.set({ endpoint: this.name }, 0);
  }

  /** Moves the cursor past an acknowledged or skipped batch, once that is committed. */
  private async advance(upTo: number): Promise<void> {
    const { commits, cursors, clock } = this.options;
    commits.write(() => cursors.advance(this.name, upTo, clock.now()));
    this.cursor = upTo;
    this.notePending();
    await commits.durable();
  }

  private notePending(): void {
    const pending = Math.max(0, this.options.log.published - this.cursor);
    this.options.metrics.pendingEvents.set({ endpoint: this.name }, pending);
  }
}
