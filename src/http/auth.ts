import { hash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { DomainError } from "../platform/errors.js";
import type { AppEnv, Principal } from "./env.js";
import { roleAtLeast, type Role, type TokenStore } from "./tokens.js";

/** Options of {@link authenticate}. */
export interface AuthenticateOptions {
  tokens: TokenStore;
  /** When false every caller is {@link ANONYMOUS_ADMIN}; only for local, trusted setups. */
  enabled: boolean;
}

/** The principal used for every request when authentication is disabled. */
export const ANONYMOUS_ADMIN: Readonly<Principal> = Object.freeze({
  id: "anonymous",
  name: "anonymous",
  role: "admin",
});

/**
 * Reads the bearer token (`Authorization: Bearer <token>`, RFC 6750 §2.1), verifies it and sets
 * `principal`. Anything missing or wrong is an `UNAUTHORIZED` error; the error handler adds the
 * `WWW-Authenticate` challenge.
 */
export function authenticate({ tokens, enabled }: AuthenticateOptions): MiddlewareHandler<AppEnv> {
  return async function authenticate(c, next) {
    if (!enabled) {
      c.set("principal", { ...ANONYMOUS_ADMIN });
      await next();
      return;
    }
    const token = readBearer(c.req.header("authorization"));
    const principal = token === undefined ? null : tokens.verify(token);
    if (!principal) {
      throw new DomainError(
        "UNAUTHORIZED",
        token === undefined ? "a bearer token is required" : "the token is not valid",
      );
    }
    c.set("principal", principal);
    await next();
  };
}

/** Lets the request through only when the principal's role is at least `role`; otherwise `FORBIDDEN`. */
export function requireRole(role: Role): MiddlewareHandler<AppEnv> {
  return async function requireRole(c, next) {
    // Undefined only when `authenticate` was not mounted in front: fail closed.
    const principal = c.get("principal") as Principal | undefined;
    if (!principal) throw new DomainError("UNAUTHORIZED", "a bearer token is required");
    if (!roleAtLeast(principal.role, role)) {
      throw new DomainError("FORBIDDEN", `this needs the ${role} role; the token has ${principal.role}`);
    }
    await next();
  };
}

/**
 * Guards a route (such as `/metrics`) with one static bearer token, compared in constant time.
 * Throws at once when `expected` is empty, since that would let anyone through.
 */
export function bearerGuard(expected: string): MiddlewareHandler<AppEnv> {
  if (expected.length === 0) throw new Error("bearerGuard needs a non-empty token");
  const expectedDigest = digest(expected);
  return async function bearerGuard(c, next) {
    const token = readBearer(c.req.header("authorization"));
    // Comparing digests gives equal lengths, so neither the comparison nor an early length
    // check reveals how long the expected token is.
    if (token === undefined || !timingSafeEqual(digest(token), expectedDigest)) {
      throw new DomainError("UNAUTHORIZED", "a valid bearer token is required");
    }
    await next();
  };
}

/** The token of a `Bearer` authorization header; the scheme is case-insensitive (RFC 9110 §11.1). */
function readBearer(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer +([^\s]+) *$/i.exec(header);
  return match?.[1];
}

function digest(value: string): Buffer {
  return hash("sha256", value, "buffer");
}
