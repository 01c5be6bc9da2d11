import { context, ROOT_CONTEXT, SpanKind, type Tracer } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import type { Executor } from "../execution/executor.js";
import type { Clock } from "../platform/clock.js";
import { multiply, toNumber } from "../platform/fixed-point.js";
import type { Logger } from "../platform/logger.js";
import type { RiskLimits } from "../risk/limits.js";
import { ATTR, inSpan, SPAN } from "../platform/spans.js";
import { direction, exitTriggered, type CloseReason } from "./model.js";
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

/** How often one failing instrument's quote is logged, at most. */
const QUOTE_ERROR_LOG_INTERVAL_MS = 60_000;

/**
 * Watches every open operation each `intervalMs`: closes those whose stop-loss, take-profit or
 * time limit is reached (an intervention), values the rest, and finishes executions that a
 * previous process left unknown.
 */
export class Supervisor {
  /** Unrealized P&L at the last tick, by instrument, in account currency. */
  readonly unrealized = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Closes started by the loop and not yet finished: the next tick does not wait for them. */
  private readonly interventions = new Set<Promise<unknown>>();
  private readonly quoteErrorLoggedAt = new Map<string, number>();

  constructor(private readonly options: SupervisorOptions) {}

  start(): void {
    if (this.timer) return;
    const loop = (): void => {
      // A slow close (a webhook timing out and retrying) must not hold back the next tick: the
      // other operations' stops are checked on time while it finishes.
      this.running = this.pass()
        .then((closes) => {
          for (const close of closes) {
            this.interventions.add(close);
            void close.finally(() => this.interventions.delete(close));
          }
        })
        .catch((error: unknown) => {
          this.options.logger.error("supervisor tick failed", { event: "supervisor.error", err: error });
        })
        .finally(() => {
          if (this.timer) this.timer = setTimeout(loop, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(loop, this.options.intervalMs);
  }

  /** Stops ticking and waits for the tick under way and the closes it started. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await Promise.allSettled([...this.interventions]);
  }

  /** One pass over every open operation, plus reconciliation; resolves once its closes are done. */
  async tick(): Promise<void> {
    await Promise.allSettled(await this.pass());
  }

  /**
   * Quotes every instrument with open operations, starts a close for each operation whose exit is
   * reached, values the rest, and reconciles unknown outcomes. Returns the closes it started (each
   * settles; a failure is logged where it happens) without waiting for them.
   */
  private async pass(): Promise<Promise<unknown>[]> {
    const { service, executor, limits, clock } = this.options;
    const instruments = new Set<string>();
    for (const op of service.open.values()) instruments.add(op.instrument);
    const quotes = new Map<string, bigint>();
    // Routine quotes are not traced: a trace every tick per instrument would bury the ones that
    // matter. Interventions below get a trace of their own.
    await context.with(suppressTracing(ROOT_CONTEXT), () =>
      Promise.all(
        [...instruments].map(async (instrument) => {
          try {
            quotes.set(instrument, (await executor.quote(instrument)).price);
          } catch (error) {
            this.logQuoteError(instrument, error);
          }
        }),
      ),
    );

    const now = clock.now();
    const closes: Promise<unknown>[] = [];
    const unrealized = new Map<string, bigint>();
    for (const op of service.open.values()) {
      const price = quotes.get(op.instrument);
      if (price === undefined || op.entryPrice === null || op.closeRequestedAt !== null) continue;
      const reason = exitTriggered(op, price, now);
      if (reason) {
        // Handled at once: it may fail while this pass still awaits reconciliation below.
        closes.push(this.intervene(op.id, reason).catch(() => undefined));
        continue;
      }
      const scales = limits.instruments.get(op.instrument)!;
      const pnl =
        direction(op.side) *
        multiply(price - op.entryPrice, scales.price, op.size, scales.size, limits.moneyScale);
      unrealized.set(op.instrument, (unrealized.get(op.instrument) ?? 0n) + pnl);
    }
    this.unrealized.clear();
    // Instruments without a quote this tick are left out rather than shown as 0.
    for (const instrument of quotes.keys()) {
      this.unrealized.set(instrument, toNumber(unrealized.get(instrument) ?? 0n, limits.moneyScale));
    }
    await service.reconcileUnresolved();
    return closes;
  }

  /** Closes an operation on the supervisor's own initiative, in a trace of its own. */
  private intervene(id: string, reason: CloseReason): Promise<unknown> {
    const options = {
      root: true,
      kind: SpanKind.INTERNAL,
      attributes: { [ATTR.OPERATION_ID]: id, [ATTR.CLOSE_REASON]: reason },
    };
    return inSpan(this.options.tracer, SPAN.SUPERVISOR_INTERVENTION, options, () =>
      this.options.service.close(id, reason, "supervisor"),
    );
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
