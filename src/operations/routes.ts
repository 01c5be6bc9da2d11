import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { requireRole } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import { AUTH_ERRORS, BEARER, problem } from "../http/openapi.js";
import { validationHook } from "../http/problem.js";
import { DomainError } from "../platform/errors.js";
import type { RiskLimits } from "../risk/limits.js";
import type { OperationRepository } from "./repository.js";
import {
  CloseOperationBody,
  ListOperationsQuery,
  OperationIdParam,
  OperationList,
  OperationView,
  SubmitOperationBody,
} from "./schemas.js";
import type { OperationsService } from "./service.js";
import { toOperationView } from "./view.js";

const json = <T>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const submitRoute = createRoute({
  method: "post",
  path: "/v1/operations",
  tags: ["operations"],
  summary: "Submit an operation",
  description:
    "Risk-checks the operation, records it and executes it. Repeating the same `clientId` with the same body returns the existing operation (200) without executing again.",
  security: BEARER,
  middleware: [requireRole("operator")] as const,
  request: { body: { content: { "application/json": { schema: SubmitOperationBody } }, required: true } },
  responses: {
    201: json(OperationView, "Opened."),
    200: json(OperationView, "Already submitted with this clientId: the existing operation."),
    400: problem(
      "Malformed input; every problem is listed: fields, amounts out of range or with too many decimal places, numbers a JSON number cannot hold exactly, keys given twice.",
    ),
    ...AUTH_ERRORS,
    409: problem("The clientId was used with a different body."),
    413: problem("The body is larger than server.maxBodyBytes."),
    415: problem("The body is not sent as application/json."),
    422: problem("Risk checks failed; every failed check is listed with its limit and observed value."),
    502: problem("The executor failed to execute the operation (it is recorded as failed)."),
    503: problem(
      "EXECUTOR_UNAVAILABLE: no quote could be had from the executor; or NOT_READY: opsguard is starting and reconciling what its last run left unknown (Retry-After).",
    ),
    504: problem(
      "The executor did not confirm the execution: the operation stays pending and is reconciled; `operationId` names it. Repeat the request to see where it stands.",
    ),
  },
});

const closeRoute = createRoute({
  method: "post",
  path: "/v1/operations/{id}/close",
  tags: ["operations"],
  summary: "Close an open operation",
  description: "Closes at the executor and books the P&L. Closing a closed operation returns it unchanged.",
  security: BEARER,
  middleware: [requireRole("operator")] as const,
  request: {
    params: OperationIdParam,
    body: { content: { "application/json": { schema: CloseOperationBody } }, required: false },
  },
  responses: {
    200: json(OperationView, "Closed."),
    ...AUTH_ERRORS,
    404: problem("No such operation."),
    409: problem("The operation is not open (pending or failed)."),
    400: problem('A body that is not empty and not `{}` or `{"reason":"manual"}`.'),
    502: problem("The executor refused to close it; it stays open."),
    504: problem(
      "The executor did not confirm the close, or refused a close asked again while an earlier one is unconfirmed: the close request is kept and reconciled shortly.",
    ),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/operations",
  tags: ["operations"],
  summary: "List operations, newest first",
  security: BEARER,
  middleware: [requireRole("viewer")] as const,
  request: { query: ListOperationsQuery },
  responses: {
    200: json(OperationList, "A page of operations."),
    400: problem("Bad filter."),
    ...AUTH_ERRORS,
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/operations/{id}",
  tags: ["operations"],
  summary: "Get one operation",
  security: BEARER,
  middleware: [requireRole("viewer")] as const,
  request: { params: OperationIdParam },
  responses: {
    200: json(OperationView, "The operation."),
    ...AUTH_ERRORS,
    404: problem("No such operation."),
  },
});

export interface OperationRoutesDeps {
  service: OperationsService;
  repo: OperationRepository;
  limits: RiskLimits;
}

/** `/v1/operations`: submit, close, list and read. */
export function operationRoutes({ service, repo, limits }: OperationRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(submitRoute, async (c) => {
    const { operation, replayed } = await service.submit(c.req.valid("json"), c.get("principal").id);
    return c.json(toOperationView(operation, limits), replayed ? 200 : 201);
  });

  app.openapi(closeRoute, async (c) => {
    const op = await service.close(c.req.valid("param").id, "manual", c.get("principal").id);
    return c.json(toOperationView(op, limits), 200);
  });

  app.openapi(listRoute, (c) => {
    const { cursor, limit, ...filters } = c.req.valid("query");
    const items = repo.list({ ...filters, before: cursor, limit });
    const nextCursor = items.length === limit ? items.at(-1)!.id : null;
    return c.json({ items: items.map((op) => toOperationView(op, limits)), nextCursor }, 200);
  });

  app.openapi(getRoute, (c) => {
    const id = c.req.valid("param").id;
    const op = service.open.get(id) ?? repo.get(id);
    if (!op) throw new DomainError("NOT_FOUND", `no operation ${id}`);
    return c.json(toOperationView(op, limits), 200);
  });

  return app;
}
