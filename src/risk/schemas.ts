import { z } from "@hono/zod-openapi";
import { TRADING_STATES } from "./codes.js";

export const TradingStateBody = z
  .object({
    state: z.enum(TRADING_STATES),
    reason: z.string().min(1).max(500).openapi({ example: "exchange maintenance" }),
    flatten: z
      .boolean()
      .optional()
      .openapi({ description: "With `halted`: close every open operation (close reason `halt`)." }),
  })
  .strict()
  .openapi("TradingStateChange");

export const TradingStateView = z
  .object({ state: z.enum(TRADING_STATES), reason: z.string(), changedAt: z.string() })
  .openapi("TradingState");

export const RiskView = z
  .object({
    tradingState: TradingStateView,
    currency: z.string(),
    equity: z.string(),
    startingEquity: z.string(),
    peakEquity: z.string(),
    realizedPnl: z.string(),
    drawdownRatio: z.string(),
    dailyLoss: z.string(),
    limits: z.record(z.string(), z.unknown()),
    usage: z.object({
      dailyOperations: z.number(),
      dailyOperationsByStrategy: z.record(z.string(), z.number()),
      exposureTotal: z.string(),
      exposureByInstrument: z.record(z.string(), z.string()),
      openOperations: z.number(),
      lossStreaks: z.record(
        z.string(),
        z.object({ losses: z.number(), cooldownUntil: z.string().nullable() }),
      ),
    }),
    utilization: z.record(z.string(), z.number()).openapi({ description: "0..1 per stateful limit." }),
  })
  .openapi("Risk");
