import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type TextMapGetter,
  type Tracer,
} from "@opentelemetry/api";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from "@opentelemetry/semantic-conventions";
import type { MiddlewareHandler } from "hono";
import { DomainError } from "../platform/errors.js";
import { ATTR } from "../platform/spans.js";
import { matchedRoute } from "./route.js";

/** Reads `traceparent` and `tracestate` one by one, without building every header into objects. */
const headers: TextMapGetter<Headers> = {
  get: (carrier, key) => carrier.get(key) ?? undefined,
  keys: (carrier) => [...carrier.keys()],
};

/**
 * The HTTP SERVER span of every request, as the OpenTelemetry HTTP conventions describe it: named
 * `<METHOD> <route template>`, continuing the caller's trace from `traceparent`, active while the
 * request is handled so that every span below is its child.
 *
 * Only 5xx answers mark it an error (a risk rejection is a correct answer, not a failed request);
 * the domain error code is kept as an attribute either way, so the trace says why a request was
 * refused. Mount it outermost, and only when spans are exported. Requests to `untracedPaths`
 * (scrapes, health probes) get no span at all.
 */
export function serverSpan(
  tracer: Tracer,
  { untracedPaths = [] }: { untracedPaths?: readonly string[] } = {},
): MiddlewareHandler {
  const untraced = new Set(untracedPaths);
  return async function serverSpan(c, next) {
    if (untraced.has(c.req.path)) return next();
    const method = c.req.method;
    const parent = propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headers);
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_URL_PATH]: c.req.path,
          [ATTR_URL_SCHEME]: c.req.url.startsWith("https:") ? "https" : "http",
        },
      },
      parent,
    );
    let thrown: unknown;
    try {
      await context.with(trace.setSpan(parent, span), next);
    } catch (error) {
      thrown = error;
      throw error;
    } finally {
      const status = thrown === undefined ? c.res.status : 500;
      const route = matchedRoute(c);
      if (route !== undefined) {
        span.setAttribute(ATTR_HTTP_ROUTE, route);
        span.updateName(`${method} ${route}`);
      }
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      const error = thrown ?? c.error;
      if (error instanceof DomainError) span.setAttribute(ATTR.ERROR_CODE, error.code);
      if (status >= 500) {
        const unexpected = error instanceof Error && !(error instanceof DomainError);
        if (unexpected) span.recordException(error);
        span.setAttribute(ATTR_ERROR_TYPE, unexpected ? error.name : String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    }
  };
}
