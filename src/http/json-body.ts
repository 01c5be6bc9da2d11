import type { IncomingMessage } from "node:http";
import type { MiddlewareHandler } from "hono";
import { DomainError } from "../platform/errors.js";
import { parseExactJson } from "../platform/exact-json.js";
import type { AppEnv } from "./env.js";

const WITH_BODY = new Set(["POST", "PUT", "PATCH"]);
/** `application/json` and `application/<something>+json`, as Hono's validator accepts them. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Options of {@link limitBody} and {@link exactJsonBody}. */
export interface BodyLimitOptions {
  /** Largest request body accepted, in bytes (`server.maxBodyBytes`). */
  maxBytes: number;
}

const tooLarge = (maxBytes: number): DomainError =>
  new DomainError(
    "PAYLOAD_TOO_LARGE",
    `The request body is larger than ${maxBytes} bytes (server.maxBodyBytes).`,
  );

/**
 * Refuses a body whose `content-length` is larger than `maxBytes` with 413 `PAYLOAD_TOO_LARGE`,
 * before anything reads it; a body without one is counted as it is read ({@link exactJsonBody}).
 * Mount it after authentication, so that a caller without a token never gets a body read at all.
 *
 * Only the header is looked at: `hono/body-limit` asks for the request's body stream, which makes
 * @hono/node-server build a whole `Request` and a web stream for every POST (about 18 KB each).
 */
export function limitBody({ maxBytes }: BodyLimitOptions): MiddlewareHandler<AppEnv> {
  return async function limitBody(c, next) {
    const length = c.req.header("content-length");
    if (length !== undefined && Number(length) > maxBytes) throw tooLarge(maxBytes);
    await next();
  };
}

/**
 * Reads a JSON request body exactly (see {@link parseExactJson}): a number with more digits than a
 * double holds, or a key given twice, is a 400 `VALIDATION_FAILED` naming the field. An empty body
 * with a JSON content type reads as `{}`, so an optional body may be sent empty. Bodies of other
 * types are left to the route, which answers 415 where it needs JSON. A body beyond `maxBytes` is
 * a 413, counted as it arrives.
 */
export function exactJsonBody({ maxBytes }: BodyLimitOptions): MiddlewareHandler<AppEnv> {
  return async function exactJsonBody(c, next) {
    const type = c.req.header("content-type");
    if (!WITH_BODY.has(c.req.method) || !type || !JSON_MEDIA_TYPE.test(type.split(";")[0]!.trim())) {
      return next();
    }
    const incoming = c.env?.incoming;
    const text = await (incoming ? readIncoming(incoming, maxBytes) : readStream(c.req.raw.body, maxBytes));
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

/**
 * The body of a request served by Node's HTTP server, read from the socket's message itself: no
 * `Request`, no web stream (see {@link limitBody}).
 */
function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const fail = (error: Error): void => {
      incoming.off("data", onData);
      // Whatever is left is drained by the server once the answer is sent.
      incoming.pause();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) fail(tooLarge(maxBytes));
      else chunks.push(chunk);
    };
    incoming.on("data", onData);
    incoming.once("end", () =>
      resolve(chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString()),
    );
    incoming.once("error", fail);
    incoming.once("aborted", () =>
      fail(new Error("the client closed the connection while sending the body")),
    );
  });
}

/** The body of a request made in process (`app.request`), counted as it is read. */
async function readStream(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<string> {
  if (!body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString();
}
