import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { context, propagation, trace, TraceFlags, type Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { TracesConfig } from "../config/schema.js";
import { CountingSpanExporter, CountingSpanProcessor, SpanBudget } from "./span-drops.js";

/** Name of the tracer (instrumentation scope) of opsguard's own spans. */
export const TRACER_NAME = "opsguard";

/**
 * Spans per OTLP export. The exporter turns a whole batch into JSON in one synchronous call on the
 * event loop: 512 spans (the SDK's default) took 2–7 ms each under load, every request behind it
 * waiting; 128 take a quarter of that, for the same CPU in all.
 */
const EXPORT_BATCH_SPANS = 128;

/** What {@link startTracing} needs: the config and the resource attributes of every span. */
export interface TracingOptions {
  config: TracesConfig;
  service: string;
  version: string;
  env: string;
  /** Called with the number of spans dropped (queue full, collector down or too slow). */
  onDropped: (count: number) => void;
}

/** The tracer every part uses, and how to stop exporting. */
export interface Tracing {
  tracer: Tracer;
  /** Whether spans are exported (an endpoint is configured). */
  readonly enabled: boolean;
  /** Spans finished and not yet exported. */
  readonly heldSpans: number;
  /** Exports what is queued, giving up at the deadline, and unregisters the SDK. */
  shutdown(deadlineMs: number): Promise<void>;
}

/**
 * Starts OpenTelemetry tracing when an endpoint is configured: the Node tracer provider with an
 * OTLP/HTTP exporter behind a bounded, counted batch processor, W3C trace-context propagation and
 * the resource attributes Tempo and Grafana key on. The tracer provider alone, not the whole
 * `sdk-node`: that one also loads gRPC, protobuf, Zipkin, Prometheus and the OTLP metric and log
 * exporters, none of which opsguard uses. Without an endpoint nothing is registered: the API
 * hands out no-op spans, which cost next to nothing.
 *
 * No auto-instrumentation is loaded, so nothing depends on module patching under ESM: the HTTP
 * server span comes from `http/server-span.ts`, and the risk check, database writes, executor calls and
 * supervisor interventions are spanned by hand.
 */
export function startTracing({ config, service, version, env, onDropped }: TracingOptions): Tracing {
  if (!config.endpoint) {
    return {
      tracer: trace.getTracer(TRACER_NAME, version),
      enabled: false,
      heldSpans: 0,
      shutdown: () => Promise.resolve(),
    };
  }
  const budget = new SpanBudget(config.maxQueueSize, onDropped);
  const exporter = new CountingSpanExporter(
    new OTLPTraceExporter({
      url: config.endpoint,
      headers: config.headers,
      timeoutMillis: config.exportTimeoutMs,
    }),
    budget,
    config.exportTimeoutMs,
  );
  const processor = new CountingSpanProcessor(
    new BatchSpanProcessor(exporter, {
      maxQueueSize: config.maxQueueSize,
      maxExportBatchSize: Math.min(EXPORT_BATCH_SPANS, config.maxQueueSize),
      scheduledDelayMillis: 1000,
      // Longer than the exporter's own deadline, so a give-up is always counted there first.
      exportTimeoutMillis: config.exportTimeoutMs + 1000,
    }),
    budget,
  );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: service,
      [ATTR_SERVICE_VERSION]: version,
      "service.instance.id": randomUUID(),
      "deployment.environment": env,
      "deployment.environment.name": env,
    }),
    spanProcessors: [processor],
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
  });
  // The global tracer provider, AsyncLocalStorage context and W3C trace-context propagation.
  provider.register();
  let stopped: Promise<void> | undefined;
  return {
    tracer: trace.getTracer(TRACER_NAME, version),
    enabled: true,
    get heldSpans() {
      return budget.held;
    },
    shutdown(deadlineMs) {
      stopped ??= Promise.race([
        provider.shutdown().catch(() => undefined),
        sleep(deadlineMs, undefined, { ref: false }),
      ]).then(() => {
        // Leave the globals free for the next start (tests start several in one process).
        trace.disable();
        context.disable();
        propagation.disable();
      });
      return stopped;
    },
  };
}

/**
 * The exemplar labels of the active span: `{ trace_id }` when it is sampled (so the trace exists
 * in Tempo), otherwise none.
 */
export function traceExemplar(): Record<string, string> {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || (spanContext.traceFlags & TraceFlags.SAMPLED) === 0) return {};
  return { trace_id: spanContext.traceId };
}
