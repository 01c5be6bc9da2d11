import type { Side } from "../operations/model.js";

/** Names of the executors opsguard ships. */
export type ExecutorName = "paper" | "webhook";

/** A price, in the instrument's scaled price units. */
export interface Quote {
  instrument: string;
  price: bigint;
  /** When the quote was taken, ms since the epoch. */
  at: number;
}

/** Where a circuit breaker stands: `open` fails its calls at once; `half_open` lets one trial through. */
export type CircuitStatus = "closed" | "open" | "half_open";

/** An execution of the whole requested size at a price (partial fills are not modelled). */
export interface Fill {
  price: bigint;
  at: number;
}

/** An order to open or close an operation's position, as the executor receives it. */
export interface OrderRequest {
  /** The opsguard operation id: the executor's idempotency key. */
  operationId: string;
  instrument: string;
  /** The side of the position: `close` trades the opposite way. */
  side: Side;
  size: bigint;
  /**
   * For an open: the worst price it may fill at, in the instrument's price units (the most a buy
   * pays, the least a sell receives). A venue must not fill beyond it. Closes have none: a close
   * must happen.
   */
  limitPrice?: bigint;
}

/** What the executor knows of an operation, for reconciliation after a restart. */
export type ExecutionStatus =
  { state: "unknown" } | { state: "open"; entry: Fill } | { state: "closed"; entry: Fill; exit: Fill };

/**
 * Where operations are really executed. Implementations must be idempotent by operation id:
 * asking twice to open (or close) the same operation executes it once and returns the same fill.
 */
export interface Executor {
  readonly name: ExecutorName;
  open(request: OrderRequest): Promise<Fill>;
  close(request: OrderRequest): Promise<Fill>;
  quote(instrument: string): Promise<Quote>;
  /** What the venue knows of an operation on `instrument`; prices in that instrument's units. */
  status(operationId: string, instrument: string): Promise<ExecutionStatus>;
  /**
   * Where each of the executor's circuit breakers stands, by call kind (`quote`, `open`); absent
   * when it has none.
   */
  circuits?(): Readonly<Record<string, CircuitStatus>>;
  /** Releases timers and connections. */
  stop?(): Promise<void>;
}

/**
 * Whether an execution that did not succeed may still have happened at the venue:
 * `refused` — the executor answered and nothing was executed;
 * `unknown` — no answer (timeout, connection lost, server error): it may have executed, so the
 * operation is reconciled later through {@link Executor.status} rather than marked failed.
 */
export type FailureOutcome = "refused" | "unknown";

/** An execution that did not succeed, and whether it may still have happened. */
export class ExecutionError extends Error {
  override name = "ExecutionError";
  constructor(
    message: string,
    readonly outcome: FailureOutcome,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
