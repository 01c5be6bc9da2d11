import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  handleWhen,
  retry,
  TaskCancelledError,
  timeout,
  TimeoutStrategy,
  wrap,
  type CircuitBreakerPolicy,
  type IPolicy,
  type ICancellationContext,
  type IDefaultPolicyContext,
} from "cockatiel";
import { context, propagation } from "@opentelemetry/api";
import { z } from "zod";
import type { InstrumentConfig, WebhookExecutorConfig } from "../config/schema.js";
import type { Clock } from "../platform/clock.js";
import { FixedPointError, formatFixed, parseFixed, rescale } from "../platform/fixed-point.js";
import type { Logger } from "../platform/logger.js";
import { VERSION } from "../platform/version.js";
import {
  type CircuitStatus,
  ExecutionError,
  type ExecutionStatus,
  type Executor,
  type FailureOutcome,
  type Fill,
  type OrderRequest,
  type Quote,
} from "./executor.js";

/** Where the broker bridge is and how it is called. */
export interface WebhookExecutorOptions {
  config: WebhookExecutorConfig;
  instruments: Readonly<Record<string, InstrumentConfig>>;
  clock: Clock;
  logger: Logger;
  /** Bearer token sent to the bridge. */
  token?: string;
}

/** Decimal places accepted in the bridge's answers before rounding to the instrument's precision. */
const MAX_ANSWER_SCALE = 18;

const Amount = z.union([z.string(), z.number()]);
const Timestamp = z.union([z.string(), z.number()]).optional();
/** A fill, or a quote: a price and when it was taken. */
const FillBody = z.object({ price: Amount, at: Timestamp });
const StatusBody = z.discriminatedUnion("state", [
  z.object({ state: z.literal("unknown") }),
  z.object({ state: z.literal("open"), entry: FillBody }),
  z.object({ state: z.literal("closed"), entry: FillBody, exit: FillBody }),
]);
type FillBody = z.infer<typeof FillBody>;

/** One failed HTTP attempt: whether to try again, and whether the bridge may have acted on it. */
class AttemptError extends Error {
  override name = "AttemptError";
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly outcome: FailureOutcome,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Transport failures: what is retried and what trips the circuit breaker. */
const isTransient = (error: Error): boolean =>
  error instanceof TaskCancelledError || (error instanceof AttemptError && error.retryable);

/** The kinds of call opsguard makes to the bridge; each has a resilience policy of its own. */
export const CALL_KINDS = ["quote", "open", "close", "status"] as const;
export type CallKind = (typeof CALL_KINDS)[number];

/**
 * The kinds a circuit breaker may fail fast. Closes only reduce risk and status checks are how an
 * unknown outcome is resolved: both always reach the bridge (each attempt still has its deadline).
 */
type GuardedKind = Extract<CallKind, "quote" | "open">;

type CallPolicy = IPolicy<ICancellationContext & IDefaultPolicyContext>;

/**
 * Forwards executions to an external HTTP bridge (the user's broker connection); the protocol is
 * in `docs/webhook-executor.md`. Each attempt has a deadline that really aborts the request;
 * transport failures are retried with exponential backoff and jitter. Quotes and opens each have a
 * circuit breaker that counts failed calls (after their retries, not each attempt) and, once
 * open, fails that kind at once until a trial call, `resetMs` later, succeeds: a failing price
 * feed does not stop opens, and nothing stops closes or status checks. Retrying an open or a
 * close is safe because the bridge is idempotent by operation id.
 */
export class WebhookExecutor implements Executor {
  readonly name = "webhook" as const;
  private readonly base: URL;
  private readonly policies: Record<CallKind, CallPolicy>;
  private readonly breakers: Record<GuardedKind, CircuitBreakerPolicy>;

  constructor(private readonly options: WebhookExecutorOptions) {
    const { config, logger } = options;
    if (!config.url) throw new Error("executor.webhook.url is required for the webhook executor");
    this.base = new URL(config.url.endsWith("/") ? config.url : `${config.url}/`);
    const attempts = wrap(
      retry(handleWhen(isTransient), {
        maxAttempts: config.retries,
        backoff: new ExponentialBackoff({
          initialDelay: config.backoffMs,
          maxDelay: Math.max(config.backoffMs, 5_000),
        }),
      }),
      timeout(config.timeoutMs, TimeoutStrategy.Aggressive),
    );
    const guard = (kind: GuardedKind): CircuitBreakerPolicy => {
      const breaker = circuitBreaker(handleWhen(isTransient), {
        halfOpenAfter: config.circuitBreaker.resetMs,
        breaker: new ConsecutiveBreaker(config.circuitBreaker.failureThreshold),
      });
      breaker.onBreak(() => {
        logger.error(
          `webhook executor ${kind} circuit opened: ${kind} calls fail at once until a trial call succeeds`,
          {
            event: "executor.circuit_opened",
            call: kind,
            resetMs: config.circuitBreaker.resetMs,
          },
        );
      });
      breaker.onReset(() =>
        logger.info(`webhook executor ${kind} circuit closed`, {
          event: "executor.circuit_closed",
          call: kind,
        }),
      );
      return breaker;
    };
    this.breakers = { quote: guard("quote"), open: guard("open") };
    this.policies = {
      quote: wrap(this.breakers.quote, attempts),
      open: wrap(this.breakers.open, attempts),
      close: attempts,
      status: attempts,
    };
  }

  circuits(): Record<GuardedKind, CircuitStatus> {
    const status = (breaker: CircuitBreakerPolicy): CircuitStatus =>
      breaker.state === CircuitState.Closed
        ? "closed"
        : breaker.state === CircuitState.HalfOpen
          ? "half_open"
          : "open";
    return { quote: status(this.breakers.quote), open: status(this.breakers.open) };
  }

  async open(request: OrderRequest): Promise<Fill> {
    const body = await this.call("open", `orders/${encodeURIComponent(request.operationId)}/open`, request);
    return this.fill(this.parse(FillBody, body, "open"), request.instrument);
  }

  async close(request: OrderRequest): Promise<Fill> {
    const body = await this.call("close", `orders/${encodeURIComponent(request.operationId)}/close`, request);
    return this.fill(this.parse(FillBody, body, "close"), request.instrument);
  }

  async quote(instrument: string): Promise<Quote> {
    const body = await this.call("quote", `quotes/${encodeURIComponent(instrument)}`);
    const parsed = this.parse(FillBody, body, "quote");
    return { instrument, ...this.fill(parsed, instrument) };
  }

  async status(operationId: string, instrument: string): Promise<ExecutionStatus> {
    let body: unknown;
    try {
      body = await this.call("status", `orders/${encodeURIComponent(operationId)}`);
    } catch (error) {
      // 404 is the bridge's word that it never executed this id (and never will).
      if (error instanceof ExecutionError && (error.cause as AttemptError | undefined)?.status === 404) {
        return { state: "unknown" };
      }
      throw error;
    }
    const parsed = this.parse(StatusBody, body, "status");
    if (parsed.state === "unknown") return parsed;
    const entry = this.fill(parsed.entry, instrument);
    if (parsed.state === "open") return { state: "open", entry };
    return { state: "closed", entry, exit: this.fill(parsed.exit, instrument) };
  }

  /**
   * One logical call: attempts under the retry, breaker and timeout policies. The resulting error
   * is `unknown` if any attempt may have reached the bridge, so an execution is never assumed
   * not to have happened when it might have.
   */
  private async call(kind: CallKind, path: string, order?: OrderRequest): Promise<unknown> {
    const method = kind === "open" || kind === "close" ? "POST" : "GET";
    const url = new URL(path, this.base);
    const headers: Record<string, string> = {
      accept: "application/json",
      "user-agent": `opsguard/${VERSION}`,
    };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    // W3C traceparent: the bridge's own spans join the operation's trace.
    propagation.inject(context.active(), headers);
    let body: string | undefined;
    if (order) {
      const scales = this.options.instruments[order.instrument];
      if (!scales) throw new ExecutionError(`webhook: unknown instrument ${order.instrument}`, "refused");
      headers["content-type"] = "application/json";
      // One key per action: a bridge that caches answers by this header alone must not answer a
      // close with the open's fill.
      headers["idempotency-key"] = `${order.operationId}:${kind}`;
      body = JSON.stringify({
        operationId: order.operationId,
        instrument: order.instrument,
        side: order.side,
        size: formatFixed(order.size, scales.sizePrecision),
        ...(order.limitPrice === undefined
          ? {}
          : { limitPrice: formatFixed(order.limitPrice, scales.pricePrecision) }),
      });
    }
    let mayHaveActed = false;
    try {
      return await this.policies[kind].execute(async ({ signal }) => {
        try {
          return await this.attempt(url, { method, headers, body, signal });
        } catch (error) {
          if (!(error instanceof AttemptError) || error.outcome === "unknown") mayHaveActed = true;
          throw error;
        }
      });
    } catch (error) {
      // A timed-out attempt may have reached the bridge, whichever handler saw the error first.
      const acted = mayHaveActed || error instanceof TaskCancelledError;
      const outcome: FailureOutcome = acted && method === "POST" ? "unknown" : "refused";
      if (error instanceof AttemptError && !error.retryable) {
        // The bridge answered and refused: a definite answer, whatever earlier attempts did.
        throw new ExecutionError(`webhook: ${error.message}`, "refused", { cause: error });
      }
      if (error instanceof BrokenCircuitError) {
        throw new ExecutionError(
          `webhook: ${kind} circuit open after repeated failures; not calling the bridge`,
          outcome,
          { cause: error },
        );
      }
      if (error instanceof TaskCancelledError) {
        throw new ExecutionError(`webhook: no answer within ${this.options.config.timeoutMs} ms`, outcome, {
          cause: error,
        });
      }
      throw new ExecutionError(`webhook: ${(error as Error).message}`, outcome, { cause: error });
    }
  }

  private async attempt(url: URL, init: RequestInit & { signal: AbortSignal }): Promise<unknown> {
    let response: Response;
    try {
      // A redirect would turn a POST into a GET; a 3xx is answered as a refusal instead.
      response = await fetch(url, { ...init, redirect: "manual" });
    } catch (error) {
      if (init.signal.aborted) throw error;
      const code = (error as { cause?: { code?: string } }).cause?.code;
      // A refused connection never carried the request; anything else may have.
      const outcome = code === "ECONNREFUSED" ? "refused" : "unknown";
      throw new AttemptError(
        `${init.method} ${url.pathname}: ${code ?? (error as Error).message}`,
        true,
        outcome,
      );
    }
    const text = await response.text();
    if (response.ok) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new AttemptError(
          `${init.method} ${url.pathname}: the answer is not JSON`,
          true,
          "unknown",
          response.status,
        );
      }
    }
    const detail = readError(text) ?? response.statusText;
    const message = `${init.method} ${url.pathname} answered ${response.status}${detail ? `: ${detail}` : ""}`;
    // 429 and 503 say "not now" before acting; other 5xx (a proxy's 502, a crash) may hide a fill.
    if (response.status === 429 || response.status === 503)
      throw new AttemptError(message, true, "refused", response.status);
    if (response.status >= 500 || response.status === 408) {
      throw new AttemptError(message, true, "unknown", response.status);
    }
    throw new AttemptError(message, false, "refused", response.status);
  }

  private parse<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
    const result = schema.safeParse(body);
    if (!result.success) {
      const problem = result.error.issues
        .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
        .join("; ");
      throw new ExecutionError(`webhook: malformed ${what} answer: ${problem}`, "unknown");
    }
    return result.data;
  }

  private fill(body: FillBody, instrument: string): Fill {
    const scales = this.options.instruments[instrument];
    if (!scales) throw new ExecutionError(`webhook: unknown instrument ${instrument}`, "refused");
    return { price: this.decimal(body.price, scales.pricePrecision), at: this.time(body.at) };
  }

  /** Reads a decimal and rounds it half-even to `scale`: the bridge is the authority on fills. */
  private decimal(value: string | number, scale: number): bigint {
    let units: bigint | undefined;
    try {
      units = rescale(parseFixed(value, MAX_ANSWER_SCALE), MAX_ANSWER_SCALE, scale);
    } catch (error) {
      if (!(error instanceof FixedPointError)) throw error;
    }
    if (units === undefined || units <= 0n) {
      throw new ExecutionError(
        `webhook: price ${JSON.stringify(value)} is not a positive decimal`,
        "unknown",
      );
    }
    return units;
  }

  private time(value: string | number | undefined): number {
    if (value === undefined) return this.options.clock.now();
    const ms = typeof value === "number" ? value : Date.parse(value);
    return Number.isFinite(ms) ? ms : this.options.clock.now();
  }
}

function readError(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: unknown; detail?: unknown; message?: unknown };
    const message = parsed.error ?? parsed.detail ?? parsed.message;
    return typeof message === "string" ? message.slice(0, 300) : undefined;
  } catch {
    return text.slice(0, 300) || undefined;
  }
}
