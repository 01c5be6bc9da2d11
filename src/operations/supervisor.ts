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
  private readonly quoteErrorLoggedAt = new Map<string, number>();

  constructor(private readonly options: SupervisorOptions) {}

  start(): void {
    if (this.timer) return;
    const loop = (): void => {
      this.running = this.tick()
        .catch((error: unknown) => {
          this.options.logger.error("supervisor tick failed", { event: "supervisor.error", err: error });
        })
        .finally(() => {
          if (this.timer) this.timer = setTimeout(loop, this.options.intervalMs);
        });
    };
    this.timer = setTimeout(loop, this.options.intervalMs);
  }

  /** Stops ticking and waits for the tick under way. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over every open operation, plus reconciliation of unknown outcomes. */
  async tick(): Promise<void> {
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
        closes.push(this.intervene(op.id, reason));
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
    await Promise.allSettled(closes);
    await service.reconcileUnresolved();
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
