import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { requireRole } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import { AUTH_ERRORS, BEARER, problem } from "../http/openapi.js";
import { validationHook } from "../http/problem.js";
import type { OperationsService } from "../operations/service.js";
import { formatFixed } from "../platform/fixed-point.js";
import { drawdownRatio } from "./evaluate.js";
import type { RiskLedger } from "./ledger.js";
import { RATIO_SCALE, type RiskLimits } from "./limits.js";
import { RiskView, TradingStateBody, TradingStateView } from "./schemas.js";

const getRiskRoute = createRoute({
  method: "get",
  path: "/v1/risk",
  tags: ["risk"],
  summary: "Limits, current usage and the trading state",
  security: BEARER,
  middleware: [requireRole("viewer")] as const,
  responses: {
    200: { description: "Risk overview.", content: { "application/json": { schema: RiskView } } },
    ...AUTH_ERRORS,
  },
});

const putStateRoute = createRoute({
  method: "put",
  path: "/v1/risk/state",
  tags: ["risk"],
  summary: "Halt, reduce or resume trading",
  description:
    "`halted`: nothing new opens (add `flatten: true` to close every open operation). `reducing`: only closes. `active`: everything allowed; resuming from a halt restarts the daily-loss count and the drawdown peak.",
  security: BEARER,
  middleware: [requireRole("admin")] as const,
  request: { body: { content: { "application/json": { schema: TradingStateBody } }, required: true } },
  responses: {
    200: { description: "The new state.", content: { "application/json": { schema: TradingStateView } } },
    400: problem("Malformed input."),
    ...AUTH_ERRORS,
  },
});

export interface RiskRoutesDeps {
  ledger: RiskLedger;
  limits: RiskLimits;
  service: OperationsService;
  currency: string;
}

/** `/v1/risk`: what the limits are, how much of them is used, and the trading state. */
export function riskRoutes({ ledger, limits, service, currency }: RiskRoutesDeps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const money = (value: bigint): string => formatFixed(value, limits.moneyScale);
  const stateView = () => ({
    state: ledger.state.tradingState,
    reason: ledger.state.stateReason,
    changedAt: new Date(ledger.state.stateChangedAt).toISOString(),
  });

  app.openapi(getRiskRoute, (c) => {
    const view = ledger.view();
    const limitsView = {
      maxDailyOperations: limits.maxDailyOperations,
      maxPositionSize: Object.fromEntries(
        [...limits.instruments].map(([name, i]) => [name, formatFixed(i.maxPositionSize, i.size)]),
      ),
      maxNotionalPerOperation: money(limits.maxNotionalPerOperation),
      maxExposure: {
        total: money(limits.maxExposure.total),
        perInstrument: money(limits.maxExposure.perInstrument),
      },
      minOperationIntervalMs: limits.minOperationIntervalMs,
      maxSubmitRate: limits.maxSubmitRate,
      maxDailyLoss: money(limits.maxDailyLoss),
      maxDrawdown: formatFixed(limits.maxDrawdown, RATIO_SCALE),
      lossStreak: {
        maxConsecutive: limits.lossStreak.maxConsecutive,
        cooldownSec: limits.lossStreak.cooldownMs / 1000,
      },
      riskPerOperation: formatFixed(limits.riskPerOperation, RATIO_SCALE),
    };
    return c.json(
      {
        tradingState: stateView(),
        currency,
        equity: money(ledger.equity),
        startingEquity: money(limits.startingEquity),
        peakEquity: money(ledger.state.peakEquity),
        realizedPnl: money(ledger.state.realizedPnl),
        drawdownRatio: formatFixed(drawdownRatio(ledger.equity, ledger.state.peakEquity), RATIO_SCALE),
        dailyLoss: money(ledger.dailyLoss),
        limits: limitsView,
        usage: {
          dailyOperations: view.dailyOperations,
          dailyOperationsByStrategy: Object.fromEntries(view.dailyOperationsByStrategy),
          exposureTotal: money(view.exposureTotal),
          exposureByInstrument: Object.fromEntries(
            [...view.exposureByInstrument].map(([k, v]) => [k, money(v)]),
          ),
          openOperations: service.open.size,
          lossStreaks: Object.fromEntries(
            [...view.streaks].map(([k, v]) => [
              k,
              {
                losses: v.losses,
                cooldownUntil: v.cooldownUntil > 0 ? new Date(v.cooldownUntil).toISOString() : null,
              },
            ]),
          ),
        },
        utilization: ledger.utilization(),
      },
      200,
    );
  });

  app.openapi(putStateRoute, async (c) => {
    const body = c.req.valid("json");
    await service.setTradingState({ ...body, actor: c.get("principal").id, trigger: "manual" });
    return c.json(stateView(), 200);
  });

  return app;
}
