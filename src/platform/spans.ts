import {
  SpanStatusCode,
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

/**
 * Runs `fn` inside an active span that ends when `fn` settles; an error is recorded on the span
 * and rethrown.
 */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
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

/** {@link inSpan} for synchronous work, such as a SQLite transaction. */
export function inSpanSync<T>(
  tracer: Tracer,
  name: string,
  attributes: Attributes,
  fn: (span: Span) => T,
): T {
  return tracer.startActiveSpan(name, { attributes }, (span) => {
    try {
      return fn(span);
    } catch (error) {
      recordError(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
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
