import { z } from "@hono/zod-openapi";

/** The RFC 9457 problem document every error response carries. */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    code: z.string().openapi({ example: "RISK_REJECTED" }),
    requestId: z.string(),
    instance: z.string().optional(),
    operationId: z.string().optional().openapi({
      description:
        "The operation the error is about, when there is one (an execution that failed or is not confirmed): follow it up with GET /v1/operations/{id}.",
    }),
    errors: z
      .array(
        z.object({
          code: z.string(),
          message: z.string(),
          path: z.string().optional(),
          limit: z.union([z.string(), z.number()]).optional(),
          observed: z.union([z.string(), z.number()]).optional(),
        }),
      )
      .optional(),
  })
  .openapi("Problem");

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: Problem } },
});

/** Error responses shared by authenticated routes. */
export const AUTH_ERRORS = {
  401: problem("Missing or invalid bearer token."),
  403: problem("The token's role is too weak for this route."),
} as const;

export { problem };

/** Security requirement of routes that need a bearer token. */
export const BEARER = [{ Bearer: [] }];
