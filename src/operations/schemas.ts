import { z } from "@hono/zod-openapi";
import { queryInteger } from "../http/query.js";
import { CLOSE_REASONS, OPERATION_STATUSES, SIDES } from "./model.js";

/** A positive decimal, as a JSON number or (exactly) as a string. */
export const DecimalInput = z
  .union([z.string().regex(/^\d+(\.\d+)?$/, 'a decimal number such as "65000.25"'), z.number().positive()])
  .openapi({ example: "0.25", description: "A decimal number; strings keep every digit exactly." });

export const SubmitOperationBody = z
  .object({
    clientId: z
      .string()
      .min(1)
      .max(128)
      .openapi({ description: "Idempotency key, unique per strategy.", example: "sig-2026-11-22-0001" }),
    strategy: z.string().min(1).max(64).openapi({ example: "trend-follow" }),
    instrument: z.string().min(1).max(64).openapi({ example: "BTC-USD" }),
    side: z.enum(SIDES),
    size: z
      .union([z.literal("auto"), DecimalInput])
      .openapi({ description: 'A size, or "auto": equity × risk.riskPerOperation ÷ stop-loss distance.' }),
    stopLoss: DecimalInput.optional(),
    takeProfit: DecimalInput.optional(),
    maxDurationSec: z
      .number()
      .int()
      .positive()
      .max(30 * 86_400)
      .optional()
      .openapi({ description: "Close with reason timeout after this many seconds." }),
    pattern: z.string().min(1).max(64).optional().openapi({ example: "double-bottom" }),
    confidence: z.number().min(0).max(1).optional(),
  })
  .strict()
  .openapi("SubmitOperation");
export type SubmitOperationBody = z.infer<typeof SubmitOperationBody>;

export const CloseOperationBody = z
  .object({ reason: z.literal("manual").optional() })
  .strict()
  .openapi("CloseOperation");

export const OperationView = z
  .object({
    id: z.string(),
    clientId: z.string(),
    strategy: z.string(),
    instrument: z.string(),
    side: z.enum(SIDES),
    size: z.string(),
    autoSized: z.boolean(),
    stopLoss: z.string().nullable(),
    takeProfit: z.string().nullable(),
    maxDurationSec: z.number().nullable(),
    pattern: z.string().nullable(),
    confidence: z.number().nullable(),
    status: z.enum(OPERATION_STATUSES),
    notional: z.string(),
    entryPrice: z.string().nullable(),
    exitPrice: z.string().nullable(),
    closeReason: z.enum(CLOSE_REASONS).nullable(),
    pnl: z.string().nullable(),
    failureReason: z.string().nullable(),
    createdAt: z.string().openapi({ format: "date-time" }),
    openedAt: z.string().nullable().openapi({ format: "date-time" }),
    closedAt: z.string().nullable().openapi({ format: "date-time" }),
  })
  .openapi("Operation");
export type OperationView = z.infer<typeof OperationView>;

export const ListOperationsQuery = z.object({
  status: z.enum(OPERATION_STATUSES).optional(),
  strategy: z.string().max(64).optional(),
  instrument: z.string().max(64).optional(),
  cursor: z.string().max(64).optional().openapi({ description: "`nextCursor` of the previous page." }),
  limit: queryInteger(1, 500)
    .default(50)
    .openapi({ type: "integer", minimum: 1, maximum: 500, description: "Operations per page, 1 to 500." }),
});

export const OperationList = z
  .object({ items: z.array(OperationView), nextCursor: z.string().nullable() })
  .openapi("OperationList");

export const OperationIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "01JD3Z8Q4N5X7W2B6C9F0H1K2M" }),
});
