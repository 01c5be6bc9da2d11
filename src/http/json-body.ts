import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { DomainError } from "../platform/errors.js";
import { parseExactJson } from "../platform/exact-json.js";
import type { AppEnv } from "./env.js";
import { problemJson } from "./problem.js";

const WITH_BODY = new Set(["POST", "PUT", "PATCH"]);
/** `application/json` and `application/<something>+json`, as Hono's validator accepts them. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Options of {@link limitBody}. */
export interface BodyLimitOptions {
  /** Largest request body accepted, in bytes (`server.maxBodyBytes`). */
  maxBytes: number;
}

/**
 * Refuses a body larger than `maxBytes` with 413 `PAYLOAD_TOO_LARGE` before it is read: by its
 * `content-length` when it has one, else while it streams in. Mount it after authentication, so
 * that a caller without a token never gets a body read at all.
 */
export function limitBody({ maxBytes }: BodyLimitOptions): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c: Context<AppEnv>) =>
      problemJson(c, 413, {
        code: "PAYLOAD_TOO_LARGE",
        detail: `The request body is larger than ${maxBytes} bytes (server.maxBodyBytes).`,
      }),
  });
}

/**
 * Reads a JSON request body exactly (see {@link parseExactJson}): a number with more digits than a
 * double holds, or a key given twice, is a 400 `VALIDATION_FAILED` naming the field. An empty body
 * with a JSON content type reads as `{}`, so an optional body may be sent empty. Bodies of other
 * types are left to the route, which answers 415 where it needs JSON.
 */
export function exactJsonBody(): MiddlewareHandler<AppEnv> {
  return async function exactJsonBody(c, next) {
    const type = c.req.header("content-type");
    if (!WITH_BODY.has(c.req.method) || !type || !JSON_MEDIA_TYPE.test(type.split(";")[0]!.trim())) {
      return next();
    }
    const text = await c.req.text();
    let value: unknown = {};
    if (text.trim() !== "") {
      const parsed = parseExactJson(text);
      if (!parsed.ok) {
        throw new DomainError("VALIDATION_FAILED", "The request body is not exact JSON.", parsed.problems);
      }
      value = parsed.value;
    }
    // Hono's validators read the body through c.req.json(), which would parse the text again with
    // JSON.parse: it answers with what was read here instead.
    c.req.json = <T>() => Promise.resolve(value as T);
    await next();
  };
}
