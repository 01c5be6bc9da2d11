import type { Metrics } from "../platform/metrics.js";
import type { Executor, OrderRequest } from "./executor.js";

/**
 * Wraps an executor so that every call is timed in `opsguard_execution_duration_seconds` and
 * every failure counted in `opsguard_execution_errors_total`.
 */
export function instrumentExecutor(executor: Executor, metrics: Metrics): Executor {
  const timed = <A extends unknown[], R>(action: string, call: (...args: A) => Promise<R>) => {
    const labels = { executor: executor.name, action };
    const histogram = metrics.executionDuration.labels(labels);
    const errors = metrics.executionErrors.labels(labels);
    return async (...args: A): Promise<R> => {
      const stop = histogram.startTimer();
      try {
        return await call(...args);
      } catch (error) {
        errors.inc();
        throw error;
      } finally {
        stop();
      }
    };
  };
  return {
    name: executor.name,
    open: timed("open", (request: OrderRequest) => executor.open(request)),
    close: timed("close", (request: OrderRequest) => executor.close(request)),
    quote: timed("quote", (instrument: string) => executor.quote(instrument)),
    status: timed("status", (operationId: string, instrument: string) =>
      executor.status(operationId, instrument),
    ),
    stop: () => executor.stop?.() ?? Promise.resolve(),
  };
}
