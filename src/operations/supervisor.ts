import { setImmediate as setImmediatePromise } from "node:timers/promises";
import { context, ROOT_CONTEXT, SpanKind, type Tracer } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import pLimit from "p-limit";
import type { Executor } from "../execution/executor.js";
import type { Clock } from "../platform/clock.js";
import { multiply, toNumber } from "../platform/fixed-point.js";
import type { Logger } from "../platform/logger.js";
import type { RiskLimits } from "../risk/limits.js";
import { ATTR, inSpan, SPAN } from "../platform/spans.js";
import { TurnPacer } from "../platform/turn-pacer.js";
import { direction, exitTriggered, timeLimitReached, type CloseReason, type Operation } from "./model.js";
import type { OperationsService } from "./service.js";

/** What the supervisor watches with, and how often. */
export interface SupervisorOptions {
  service: OperationsService;
  executor: Executor;
  limits: RiskLimits;
  clock: Clock;
  logger: Logger;
  tracer: Tracer;
  /** Time between two ticks. */
  intervalMs: number;
}

/** Operations checked in one turn of the event loop before the next slice waits for a turn. */
const CHECK_SLICE = 2_000;
/**
 * The supervisor's closes under way at once; the others wait for one to finish. Operations opened
 * together reach their time limit together: at 500 submits a second a tick finds about 250 of
 * them. Started all at once, their close requests went to one commit, and when it came back all
 * their bookings (about 0.3 ms each, when the executor answers at once) ran in one piece: the
 * event loop held for 100-180 ms, no request answered. Twenty may wait for a venue that answers
 * slowly, so a slow venue does not slow the closes down to a few a second.
 */
const CLOSES_IN_FLIGHT = 20;
/**
 * The supervisor's closes started per turn of the event loop, with a poll for requests between
 * turns (see {@link TurnPacer}). With a venue that answers at once, twenty under way still started
 * and booked together, a piece of 5-10 ms that the requests arriving meanwhile waited behind. Five
 * a turn did better than two or ten; the most where the service is nearest its limit (the p99 at
 * 1,000 requests a second from 262 to 84 ms in a slow hour of the machine; BENCHMARKS.md).
 */
const CLOSES_PER_TURN = 5;

/** How often one failing instrument's quote is logged, at most. */
const QUOTE_ERROR_LOG_INTERVAL_MS = 60_000;

/**
 * Watches every open operation each `intervalMs`: closes those whose stop-loss, take-profit or
 * time limit is reached (an intervention), values the rest, and finishes executions whose outcome
 * is unknown. Nothing in a tick waits for the executor: each instrument is checked when its quote
 * arrives, closes and reconciliations run on their own, so a slow close, a hung quote or a bridge
 * that does not answer status never delays the other operations' checks.
 */
export class Supervisor {
  /** Unrealized P&L at the last quote, by instrument, in account currency. */
  readonly unrealized = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Work that ticks started and that has not finished: quotes with their closes, reconciliations. */
  private readonly background = new Set<Promise<unknown>>();
  /** Instruments whose quote is on its way: a tick does not ask again until it arrives. */
  private readonly quoting = new Set<string>();
  private readonly quoteErrorLoggedAt = new Map<string, number>();
  private readonly closing = pLimit(CLOSES_IN_FLIGHT);
  private readonly pacer = new TurnPacer(CLOSES_PER_TURN);
  /** Operations whose close is waiting for its turn or under way: a later tick leaves them be. */
  private readonly intervening = new Set<string>();

  constructor(private readonly options: SupervisorOptions) {}

  start(): void {
    if (this.timer) return;
    const track = (work: Promise<unknown>): void => {
      this.background.add(work);
      void work.finally(() => this.background.delete(work));
    };
    const loop = (): void => {
      const passing = this.pass().then(
        (started) => {
          for (const work of started) {
            track(
              work.catch((error: unknown) =>
                this.options.logger.error("supervisor check failed", {
                  event: "supervisor.error",
                  err: error,
                }),
              ),
            );
          }
        },
        (error: unknown) =>
          this.options.logger.error("supervisor tick failed", { event: "supervisor.error", err: error }),
      );
      track(passing);
      // The next pass is timed from the end of this one's own work, not of what it started.
      void passing.then(() => {
        if (this.timer) this.timer = setTimeout(loop, this.options.intervalMs);
      });
    };
    this.timer = setTimeout(loop, this.options.intervalMs);
  }

  /** Stops ticking and waits for the work that ticks started. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // A pass under way adds what it starts when it ends: wait until nothing is left.
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  /** One pass over every open operation, plus reconciliation; resolves once all it started is done. */
  async tick(): Promise<void> {
    await Promise.allSettled(await this.pass());
  }

  /**
   * Starts a close for each operation past its time limit (no price needed), a quote for every
   * other instrument with open operations (each checked when its quote arrives), and the
   * reconciliations that are due, in slices of {@link CHECK_SLICE} operations with a turn of the
   * event loop between them. Returns what it started; each settles, failures are logged where they
   * happen.
   */
  private async pass(): Promise<Promise<unknown>[]> {
    const { service, clock } = this.options;
    const now = clock.now();
    const work: Promise<unknown>[] = [];
    const watched = new Map<string, Operation[]>();
    let checked = 0;
    for (const op of service.open.values()) {
      if (++checked % CHECK_SLICE === 0) await setImmediatePromise();
      if (op.entryPrice === null || op.closeRequestedAt !== null || this.intervening.has(op.id)) continue;
      if (timeLimitReached(op, now)) {
        work.push(this.intervene(op.id, "timeout"));
        continue;
      }
      const ops = watched.get(op.instrument);
      if (ops) ops.push(op);
      else watched.set(op.instrument, [op]);
    }
    // An instrument with nothing open any more is not valued at all, rather than shown as 0.
    for (const instrument of this.unrealized.keys()) {
      if (!watched.has(instrument)) this.unrealized.delete(instrument);
    }
    for (const [instrument, ops] of watched) {
      if (!this.quoting.has(instrument)) work.push(this.watch(instrument, ops));
    }
    work.push(...service.reconcileDue());
    return work;
  }

  /** Quotes `instrument`, closes those of `ops` whose exit is reached and values the rest. */
  private async watch(instrument: string, ops: readonly Operation[]): Promise<void> {
    const { executor, limits, service, clock } = this.options;
    this.quoting.add(instrument);
    let price: bigint;
    try {
      // Routine quotes are not traced: a trace every tick per instrument would bury the ones that
      // matter. Interventions get a trace of their own.
      price = (await context.with(suppressTracing(ROOT_CONTEXT), () => executor.quote(instrument))).price;
    } catch (error) {
      this.unrealized.delete(instrument);
      this.logQuoteError(instrument, error);
      return;
    } finally {
      this.quoting.delete(instrument);
    }
    const now = clock.now();
    const scales = limits.instruments.get(instrument)!;
    const closes: Promise<unknown>[] = [];
    let unrealized = 0n;
    let checked = 0;
    for (const op of ops) {
      // A turn for the requests between slices: a check costs about a microsecond, so a book of
      // 100,000 open operations would otherwise hold the event loop for 80-190 ms each tick.
      if (++checked % CHECK_SLICE === 0) await setImmediatePromise();
      // It may have been closed, or its close requested, while the quote or a turn went by.
      if (
        !service.open.has(op.id) ||
        op.entryPrice === null ||
        op.closeRequestedAt !== null ||
        this.intervening.has(op.id)
      ) {
        continue;
      }
      const reason = exitTriggered(op, price, now);
      if (reason) {
        closes.push(this.intervene(op.id, reason));
        continue;
      }
      unrealized +=
        direction(op.side) *
        multiply(price - op.entryPrice, scales.price, op.size, scales.size, limits.moneyScale);
    }
    this.unrealized.set(instrument, toNumber(unrealized, limits.moneyScale));
    await Promise.all(closes);
  }

  /**
   * Closes an operation on the supervisor's own initiative, in a trace of its own, once one of the
   * {@link CLOSES_IN_FLIGHT} places is free and its turn has come ({@link CLOSES_PER_TURN}).
   * Settles either way: a failed close is logged and counted by the service, and tried again on a
   * later tick.
   */
  private intervene(id: string, reason: CloseReason): Promise<unknown> {
    const options = {
      root: true,
      kind: SpanKind.INTERNAL,
      attributes: { [ATTR.OPERATION_ID]: id, [ATTR.CLOSE_REASON]: reason },
    };
    this.intervening.add(id);
    return this.closing(async () => {
      await this.pacer.turn();
      return inSpan(this.options.tracer, SPAN.SUPERVISOR_INTERVENTION, options, () =>
        this.options.service.close(id, reason, "supervisor"),
      );
    })
      .catch(() => undefined)
      .finally(() => this.intervening.delete(id));
  }

  private logQuoteError(instrument: string, error: unknown): void {
    const now = this.options.clock.now();
    if (now - (this.quoteErrorLoggedAt.get(instrument) ?? -Infinity) < QUOTE_ERROR_LOG_INTERVAL_MS) return;
    this.quoteErrorLoggedAt.set(instrument, now);
    this.options.logger.warn("no quote for supervision", {
      event: "supervisor.quote_failed",
      instrument,
      err: (error as Error).message,
    });
  }
}
