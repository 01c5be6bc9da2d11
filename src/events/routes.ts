import { ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { requireRole } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import { AUTH_ERRORS, BEARER, problem } from "../http/openapi.js";
import { validationHook } from "../http/problem.js";
import { EVENT_KINDS, type EventFilter } from "./model.js";
import { acceptsGzip, type EventStreams, type Resume } from "./streams.js";

/** An event id as a client sends it back: plain decimal digits. */
const EventId = z
  .string()
  .regex(/^(0|[1-9]\d{0,15})$/, "an event id: a whole number in plain decimal digits")
  .transform(Number);

/** A comma-separated list of names, each one of `allowed`; what it names, as a set. */
function nameList<T extends string>(allowed: readonly T[], what: string) {
  return z
    .string()
    .max(4096)
    .transform((value, ctx) => {
      const names = value.split(",");
      for (const name of names) {
        if (!(allowed as readonly string[]).includes(name)) {
          ctx.addIssue({
            code: "custom",
            message: `"${name}" is not a ${what}; one of: ${allowed.join(", ")}`,
          });
        }
      }
      return new Set(names as T[]);
    });
}

function eventsRoute(strategies: readonly string[], instruments: readonly string[]) {
  return createRoute({
    method: "get",
    path: "/v1/events",
    tags: ["events"],
    summary: "Stream operation and account events (Server-Sent Events)",
    description:
      "Every state change as it is committed: `operation.opened`, `operation.closed`, `operation.failed`, `operation.reconciled`, `trading.state_changed`, `risk.limit_threshold`. Each SSE frame has the event's id, its kind as the event name and its JSON as data. Reconnect with `Last-Event-ID` (EventSource does it by itself) to get exactly the events missed, also across a restart. Without it the stream starts with the next event; `lastEventId=0` replays every event kept. opsguard also sends `stream.gap` (events pruned by `events.retentionHours`) and `stream.closed` (why it ended the stream: `slow_consumer`, `shutdown`). A client that sends `Accept-Encoding: gzip` gets a gzip stream (unless `events.gzip` is off).",
    security: BEARER,
    middleware: [requireRole("viewer")] as const,
    request: {
      headers: z.object({
        "last-event-id": EventId.optional().openapi({
          description: "The id of the last event received; the stream resumes after it.",
        }),
      }),
      query: z.object({
        kinds: nameList(EVENT_KINDS, "event kind")
          .optional()
          .openapi({ type: "string", description: "Comma-separated event kinds; all by default." }),
        strategy: nameList(strategies, "declared strategy").optional().openapi({
          type: "string",
          description:
            "Comma-separated strategies. Account-wide events (trading state, limits) are always included.",
        }),
        instrument: nameList(instruments, "declared instrument").optional().openapi({
          type: "string",
          description:
            "Comma-separated instruments. Account-wide events (trading state, limits) are always included.",
        }),
        lastEventId: EventId.optional().openapi({
          type: "string",
          description: "As the Last-Event-ID header, for clients that cannot set headers; the header wins.",
        }),
      }),
    },
    responses: {
      200: {
        description: "The stream: `id`, `event` and `data` (the event's JSON) per event.",
        content: { "text/event-stream": { schema: z.string() } },
      },
      400: problem("A bad filter, or a Last-Event-ID that is not an event id or is beyond the last event."),
      ...AUTH_ERRORS,
      503: problem("TOO_MANY_STREAMS: events.maxClients streams are open."),
    },
  });
}

export interface EventRoutesDeps {
  streams: EventStreams;
  /** events.gzip: clients that accept gzip get a gzip stream. */
  gzipStreams: boolean;
  strategies: readonly string[];
  instruments: readonly string[];
}

/** `GET /v1/events`: the live event stream. */
export function eventRoutes({ streams, gzipStreams, strategies, instruments }: EventRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(eventsRoute(strategies, instruments), (c) => {
    const query = c.req.valid("query");
    const header = c.req.valid("header");
    const filter: EventFilter = {
      kinds: query.kinds,
      strategies: query.strategy,
      instruments: query.instrument,
    };
    // The header wins: it is what EventSource sends when it reconnects, after the URL's id.
    const resume: Resume | undefined =
      header["last-event-id"] !== undefined
        ? { afterId: header["last-event-id"], field: "header.last-event-id" }
        : query.lastEventId !== undefined
          ? { afterId: query.lastEventId, field: "query.lastEventId" }
          : undefined;
    const headers: Record<string, string> = {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      // Tells nginx not to buffer the stream.
      "x-accel-buffering": "no",
    };
    const requestId = c.get("requestId");
    if (requestId) headers["x-request-id"] = requestId;
    const gzip = gzipStreams && acceptsGzip(c.req.header("accept-encoding"));
    if (gzipStreams) headers.vary = "accept-encoding";
    if (gzip) headers["content-encoding"] = "gzip";
    // No bindings at all when the app is called in-process (`app.request`).
    const outgoing = (c.env as AppEnv["Bindings"] | undefined)?.outgoing;
    if (outgoing instanceof ServerResponse) {
      // Served by Node: the events are written to the connection itself.
      streams.openResponse(outgoing, resume, filter, headers, gzip);
      return RESPONSE_ALREADY_SENT;
    }
    return c.body(streams.open(resume, filter, gzip), 200, headers);
  });
  return app;
}
