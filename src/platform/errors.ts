/**
 * The closed set of error codes the domain raises; the HTTP layer maps each to a status.
 * Risk rejection codes live in `risk/codes.ts` and travel inside `RISK_REJECTED`.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  IDEMPOTENCY_CONFLICT: 409,
  INVALID_STATE: 409,
  ALREADY_RUNNING: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RISK_REJECTED: 422,
  EXECUTION_FAILED: 502,
  EXECUTOR_UNAVAILABLE: 503,
  EXECUTION_UNCONFIRMED: 504,
  NOT_READY: 503,
  TOO_MANY_STREAMS: 503,
  GLOBAL_LIMITS_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem with one field of the input, or one failed check. */
export interface ProblemDetail {
  code: string;
  message: string;
  path?: string;
  limit?: string | number;
  observed?: string | number;
}

/** What else a {@link DomainError} may carry. */
export interface DomainErrorOptions extends ErrorOptions {
  /** The operation the error is about, for the client to follow up. */
  operationId?: string;
}

/** An error the domain expects and the caller can act on. */
export class DomainError extends Error {
  override name = "DomainError";
  readonly operationId: string | undefined;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ProblemDetail[] = [],
    options?: DomainErrorOptions,
  ) {
    super(message, options);
    this.operationId = options?.operationId;
  }
}

/**
 * A reason the service cannot start that the operator must fix, told in one line (the CLI prints
 * the message alone and exits 1).
 */
export class StartupError extends Error {
  override name = "StartupError";
}
