import {
  INVALID_SPAN_CONTEXT,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Span,
  type SpanOptions,
  type Tracer,
} from "@opentelemetry/api";

/** Attribute keys of opsguard's own spans (OpenTelemetry conventions where one exists). */
export const ATTR = {
  OPERATION_ID: "opsguard.operation.id",
  STRATEGY: "opsguard.strategy",
  INSTRUMENT: "opsguard.instrument",
  RISK_DECISION: "opsguard.risk.decision",
  RISK_FAILED_CODES: "opsguard.risk.failed_codes",
  EXECUTOR: "opsguard.executor",
  CLOSE_REASON: "opsguard.close_reason",
  ERROR_CODE: "opsguard.error.code",
  DB_SYSTEM: "db.system.name",
  DB_OPERATION: "db.operation.name",
} as const;

/** Span names of opsguard's own spans; the HTTP server span is `<METHOD> <route>`. */
export const SPAN = {
  RISK_CHECK: "risk.check",
  DB_WRITE: "db.write",
  SUPERVISOR_INTERVENTION: "supervisor.intervention",
  executor: (action: string) => `executor.${action}`,
} as const;

/** Marks a span failed with the error, as the OpenTelemetry conventions ask. */
export function recordError(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/** Handed to the work of a span that is not recorded: every call on it does nothing. */
const UNRECORDED: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Whether a span started now would be recorded at all. Under a parent that is not (a request the
 * sampler left out), a child would not be either: it is not started, which saves its ids,
 * attributes and context switch on every request that will never be seen.
 */
function underUnrecordedParent(options?: SpanOptions): boolean {
  if (options?.root) return false;
  const parent = trace.getActiveSpan();
  if (parent === undefined || parent.isRecording()) return false;
  // A remote parent is never recording here, yet a sampled one asks for its children.
  return (parent.spanContext().traceFlags & TraceFlags.SAMPLED) === 0;
}

/**
 * Runs `fn` inside an active span that ends when `fn` settles; an error is recorded on the span
 * and rethrown. Spans started inside `fn` are its children.
 */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  if (underUnrecordedParent(options)) return fn(UNRECORDED);
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * A span around synchronous work that starts no spans of its own, such as a SQLite write: a
 * child of the active span, but never made active itself (nothing inside could be its child).
 */
export function inSpanSync<T>(
  tracer: Tracer,
  name: string,
  attributes: Attributes,
  fn: (span: Span) => T,
): T {
  if (underUnrecordedParent()) return fn(UNRECORDED);
  const span = tracer.startSpan(name, { attributes });
  try {
    return fn(span);
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** A database write: one SQLite transaction, named by what it records. */
export function dbWrite<T>(tracer: Tracer, operation: string, fn: () => T): T {
  return inSpanSync(
    tracer,
    SPAN.DB_WRITE,
    { [ATTR.DB_SYSTEM]: "sqlite", [ATTR.DB_OPERATION]: operation },
    fn,
  );
}
