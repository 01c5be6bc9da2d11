import { TraceFlags, type Context } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base";

/**
 * Spans between "finished" and "exported or given up on", shared by the processor that admits
 * them and the exporter that lets them go.
 */
export class SpanBudget {
  private inFlight = 0;

  constructor(
    /** Spans held at most; beyond this new ones are dropped. */
    readonly capacity: number,
    /** Called with the number of spans dropped. */
    readonly onDropped: (count: number) => void,
  ) {}

  /** Spans finished and not yet exported or dropped. */
  get held(): number {
    return this.inFlight;
  }

  admit(): boolean {
    if (this.inFlight >= this.capacity) {
      this.onDropped(1);
      return false;
    }
    this.inFlight += 1;
    return true;
  }

  release(count: number, dropped: boolean): void {
    this.inFlight = Math.max(0, this.inFlight - count);
    if (dropped) this.onDropped(count);
  }
}

/**
 * Wraps the batch processor so that a full queue drops the newest span *and counts it*: the SDK's
 * own BatchSpanProcessor drops silently (a diag message at most). The budget covers queued and
 * in-flight spans, so the inner processor never reaches its own limit.
 */
export class CountingSpanProcessor implements SpanProcessor {
  constructor(
    private readonly inner: SpanProcessor,
    private readonly budget: SpanBudget,
  ) {}

  onStart(span: Span, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    // Unsampled spans are never exported; the batch processor ignores them too.
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.budget.admit()) this.inner.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/**
 * Wraps an exporter so that every export answers within `deadlineMs` (a hung collector is given
 * up on) and every span that was not delivered is counted as dropped.
 */
export class CountingSpanExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly budget: SpanBudget,
    private readonly deadlineMs: number,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    let done = false;
    const finish = (result: ExportResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.budget.release(spans.length, result.code !== ExportResultCode.SUCCESS);
      resultCallback(result);
    };
    const timer = setTimeout(
      () =>
        finish({
          code: ExportResultCode.FAILED,
          error: new Error(`span export took over ${this.deadlineMs} ms`),
        }),
      this.deadlineMs,
    );
    timer.unref();
    try {
      this.inner.export(spans, finish);
    } catch (error) {
      finish({ code: ExportResultCode.FAILED, error: error as Error });
    }
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
