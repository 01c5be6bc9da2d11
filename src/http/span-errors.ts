import { trace } from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { DomainError, ERROR_CODES } from "../platform/errors.js";
import { ATTR } from "../platform/spans.js";

/**
 * Keeps client errors off the HTTP server span's status. The OpenTelemetry HTTP conventions mark
 * a SERVER span as an error only for 5xx; `@hono/otel` records every handled error, so a risk
 * rejection (422) would otherwise show as a failed request in Tempo. The domain error code is
 * kept as an attribute, so the trace still says why the request was refused. Mount it just inside
 * the OpenTelemetry middleware.
 */
export function spanErrors(): MiddlewareHandler {
  return async function spanErrors(c, next) {
    await next();
    const error = c.error;
    if (error instanceof DomainError) {
      trace.getActiveSpan()?.setAttribute(ATTR.ERROR_CODE, error.code);
      if (ERROR_CODES[error.code] < 500) c.error = undefined;
    } else if (error instanceof HTTPException && error.status < 500) {
      c.error = undefined;
    }
  };
}
