import type { Hook } from "@hono/zod-openapi";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { DomainError, ERROR_CODES, type ErrorCode, type ProblemDetail } from "../platform/errors.js";
import type { Logger } from "../platform/logger.js";
import type { AppEnv } from "./env.js";

/** Media type of every error response (RFC 9457 §3). */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Problem `type` URIs are this plus the code in lower-case-dashes; stable, so clients may key on them. */
export const PROBLEM_TYPE_BASE = "https://opsguard.dev/problems/";

const TITLES: Record<ErrorCode, string> = {
  VALIDATION_FAILED: "The request is not valid",
  UNAUTHORIZED: "Authentication required",
  FORBIDDEN: "Not allowed",
  NOT_FOUND: "Not found",
  IDEMPOTENCY_CONFLICT: "Idempotency key reused with another request",
  INVALID_STATE: "Not possible in the current state",
  ALREADY_RUNNING: "Already running",
  PAYLOAD_TOO_LARGE: "Request body too large",
  UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
  RISK_REJECTED: "Rejected by risk controls",
  EXECUTION_FAILED: "Execution failed",
  EXECUTOR_UNAVAILABLE: "Executor unavailable",
  EXECUTION_UNCONFIRMED: "Execution not confirmed",
  NOT_READY: "Not ready",
  TOO_MANY_STREAMS: "Too many event streams",
  GLOBAL_LIMITS_UNAVAILABLE: "Firm-wide limits unavailable",
  INTERNAL: "Internal error",
};

const INTERNAL_DETAIL = "An internal error occurred. Quote the request id when reporting it.";

/** The RFC 9457 document opsguard sends; see `Problem` in `openapi.ts` for its schema. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  instance: string;
  /** The operation the error is about, when there is one. */
  operationId?: string;
  errors?: ProblemDetail[];
}

/** What a caller supplies; the rest of {@link ProblemBody} comes from the code and the request. */
export interface ProblemInit {
  code: ErrorCode;
  detail: string;
  /** @default a fixed title per code */
  title?: string;
  operationId?: string;
  errors?: ProblemDetail[];
}

/** The `type` URI of a code, e.g. `https://opsguard.dev/problems/risk-rejected`. */
export function problemType(code: ErrorCode): string {
  return PROBLEM_TYPE_BASE + code.toLowerCase().replaceAll("_", "-");
}

/**
 * Answers with an `application/problem+json` document carrying the code and the request id.
 * A 401 also carries the `WWW-Authenticate` challenge that RFC 9110 §15.5.2 requires.
 */
export function problemJson(c: Context<AppEnv>, status: ContentfulStatusCode, init: ProblemInit): Response {
  // Undefined only when the request-id middleware is not mounted (a wiring mistake).
  const requestId: string | undefined = c.get("requestId");
  const body: ProblemBody = {
    type: problemType(init.code),
    title: init.title ?? TITLES[init.code],
    status,
    detail: init.detail,
    code: init.code,
    requestId: requestId ?? "unknown",
    instance: c.req.path,
    ...(init.operationId ? { operationId: init.operationId } : {}),
    ...(init.errors && init.errors.length > 0 ? { errors: init.errors } : {}),
  };
  const headers: Record<string, string> = { "content-type": PROBLEM_CONTENT_TYPE };
  if (status === 401) headers["www-authenticate"] = bearerChallenge(c.req.header("authorization"));
  // c.body, not `new Response`, so headers set earlier (X-Request-Id) are kept.
  return c.body(JSON.stringify(body), status, headers);
}

/** RFC 6750 §3: name the error only when a bearer token was actually presented. */
function bearerChallenge(authorization: string | undefined): string {
  const presented = authorization !== undefined && /^Bearer\s/i.test(authorization);
  return presented ? 'Bearer realm="opsguard", error="invalid_token"' : 'Bearer realm="opsguard"';
}

/**
 * The `app.onError` handler: a `DomainError` becomes its mapped status with its details, a Hono
 * `HTTPException` keeps its status, and anything else is logged whole (`http.unhandled_error`)
 * and answered with a generic 500 that never echoes the internal message.
 */
export function createErrorHandler(logger: Logger): ErrorHandler<AppEnv> {
  return function handleError(error, c) {
    const context = { requestId: c.get("requestId"), method: c.req.method, path: c.req.path };
    if (error instanceof DomainError && error.code !== "INTERNAL") {
      const status = ERROR_CODES[error.code];
      if (status >= 500) {
        logger.warn(error.message, {
          event: "http.request_failed",
          code: error.code,
          ...context,
          error: describe(error),
        });
      }
      return problemJson(c, status, {
        code: error.code,
        detail: error.message,
        operationId: error.operationId,
        errors: error.details,
      });
    }
    if (error instanceof HTTPException && error.status < 500) {
      return problemJson(c, error.status, fromHttpException(error));
    }
    logger.error("unhandled error", { event: "http.unhandled_error", ...context, error: describe(error) });
    const status = error instanceof HTTPException ? error.status : 500;
    return problemJson(c, status, { code: "INTERNAL", detail: INTERNAL_DETAIL });
  };
}

const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
};

/** Maps Hono's own 4xx exceptions (malformed JSON, 415, body limits) onto the closed code set. */
function fromHttpException(error: HTTPException): ProblemInit {
  // Other 4xx mean the request as sent cannot be accepted: bad input.
  const code = HTTP_EXCEPTION_CODES[error.status] ?? "VALIDATION_FAILED";
  const detail =
    code === "UNSUPPORTED_MEDIA_TYPE"
      ? "The request body must be JSON, sent with content-type: application/json."
      : error.message || TITLES[code];
  // hono/validator throws "Malformed JSON in request body" / "Malformed FormData request. …".
  const errors = /^Malformed/.test(detail)
    ? [{ code: "MALFORMED_BODY", path: "body", message: detail }]
    : undefined;
  return { code, detail, errors };
}

/** The `app.notFound` handler: a 404 `NOT_FOUND` problem. */
export const notFoundHandler: NotFoundHandler<AppEnv> = (c) =>
  problemJson(c, 404, { code: "NOT_FOUND", detail: `No route for ${c.req.method} ${c.req.path}.` });

// Hono's validation targets, named as a client thinks of them.
const TARGET_NAMES: Record<string, string> = { json: "body", form: "body" };

type ZodIssue = ZodError["issues"][number];

/**
 * The `defaultHook` for `new OpenAPIHono({ defaultHook })`: a failed zod validation becomes a 400
 * `VALIDATION_FAILED` problem listing every issue, each with a dotted path such as `body.size`
 * or `query.limit`, and the zod issue code in upper case (e.g. `INVALID_TYPE`).
 */
export const validationHook: Hook<unknown, AppEnv, string, Response | undefined> = (result, c) => {
  if (result.success) return undefined;
  const prefix = TARGET_NAMES[result.target] ?? result.target;
  const errors = result.error.issues.flatMap((issue) => toDetails(issue, prefix));
  const detail = `The request has ${errors.length} invalid field${errors.length === 1 ? "" : "s"}.`;
  return problemJson(c, 400, { code: "VALIDATION_FAILED", detail, errors });
};

function toDetails(issue: ZodIssue, prefix: string): ProblemDetail[] {
  const path = [prefix, ...issue.path.map(String)].join(".");
  const code = issue.code ? issue.code.toUpperCase() : "INVALID_FIELD";
  // One entry per unknown key, so each has a path the client can point at.
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({ code, path: `${path}.${key}`, message: `unknown field "${key}"` }));
  }
  return [{ code, path, message: issue.message }];
}

/** An error as plain data for the log: JSON loses an Error's non-enumerable name, message and stack. */
function describe(error: unknown, depth = 0): unknown {
  if (!(error instanceof Error)) return error;
  const described: Record<string, unknown> = {
    ...error,
    name: error.name,
    message: error.message,
    stack: error.stack,
  };
  if (error.cause !== undefined && depth < 3) described.cause = describe(error.cause, depth + 1);
  return described;
}
