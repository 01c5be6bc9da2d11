import { SpanKind, type Tracer } from "@opentelemetry/api";
import type { Metrics } from "../platform/metrics.js";
import { ATTR, inSpan, SPAN } from "../platform/spans.js";
import { traceExemplar } from "../platform/tracing.js";
import type { Executor, OrderRequest } from "./executor.js";

/**
 * Wraps an executor so that every call is a CLIENT span (`executor.open`, …), is timed in
 * `opsguard_execution_duration_seconds` with the trace id as exemplar, and counts its failures in
 * `opsguard_execution_errors_total`.
 */
export function instrumentExecutor(executor: Executor, metrics: Metrics, tracer: Tracer): Executor {
  const timed = <A extends unknown[], R>(
    action: string,
    attributes: (...args: A) => Record<string, string>,
    call: (...args: A) => Promise<R>,
  ) => {
    const labels = { executor: executor.name, action };
    const errors = metrics.executionErrors.labels(labels);
    const options = (args: A) => ({
      kind: SpanKind.CLIENT,
      attributes: { [ATTR.EXECUTOR]: executor.name, ...attributes(...args) },
    });
    return (...args: A): Promise<R> =>
      inSpan(tracer, SPAN.executor(action), options(args), async () => {
        const started = performance.now();
        try {
          return await call(...args);
        } catch (error) {
          errors.inc();
          throw error;
        } finally {
          // Inside the span, so the exemplar points at this very call.
          const value = (performance.now() - started) / 1000;
          metrics.executionDuration.observe({ labels, value, exemplarLabels: traceExemplar() });
        }
      });
  };
  const order = (request: OrderRequest) => ({
    [ATTR.OPERATION_ID]: request.operationId,
    [ATTR.INSTRUMENT]: request.instrument,
  });
  const circuits = executor.circuits?.bind(executor);
  return {
    name: executor.name,
    open: timed("open", order, (request: OrderRequest) => executor.open(request)),
    close: timed("close", order, (request: OrderRequest) => executor.close(request)),
    quote: timed(
      "quote",
      (instrument: string) => ({ [ATTR.INSTRUMENT]: instrument }),
      (instrument: string) => executor.quote(instrument),
    ),
    status: timed(
      "status",
      (operationId: string, instrument: string) => ({
        [ATTR.OPERATION_ID]: operationId,
        [ATTR.INSTRUMENT]: instrument,
      }),
      (operationId: string, instrument: string) => executor.status(operationId, instrument),
    ),
    ...(circuits ? { circuits } : {}),
    stop: () => executor.stop?.() ?? Promise.resolve(),
  };
}
