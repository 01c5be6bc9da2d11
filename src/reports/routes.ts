import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Config } from "../config/schema.js";
import { requireRole } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import { AUTH_ERRORS, BEARER, problem } from "../http/openapi.js";
import { validationHook } from "../http/problem.js";
import type { Clock } from "../platform/clock.js";
import { runOffThread } from "../maintenance/off-thread.js";
import { REPORT_FORMATS, type ReportFormat } from "./format.js";
import type { ReportKind } from "./render-task.js";
import { LOG_WINDOWS, logReport } from "./logs/service.js";
import { performanceReport } from "./performance/service.js";
import { systemReport, systemWindow } from "./system/service.js";
import { TIMEFRAMES } from "./timeframe.js";

const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "a date, YYYY-MM-DD")
  .openapi({ type: "string", format: "date" });

export const ReportQuery = z.object({
  timeframe: z.enum(TIMEFRAMES).optional().openapi({
    description: "day (today, UTC), week (the last 7 days, the default), month (the last 30), all.",
  }),
  from: Day.optional().openapi({ description: "First UTC day, included; instead of `timeframe`." }),
  to: Day.optional().openapi({ description: "Last UTC day, included; today by default." }),
  format: z
    .enum(REPORT_FORMATS)
    .default("json")
    .openapi({ description: "json, markdown, html (self-contained, with charts) or table (plain text)." }),
});

const PerformanceReportView = z
  .object({
    kind: z.literal("performance"),
    generatedAt: z.string().openapi({ format: "date-time" }),
    timeframe: z.object({ name: z.string(), first: z.string(), last: z.string(), days: z.number().int() }),
    currency: z.string(),
    book: z
      .record(z.string(), z.unknown())
      .openapi({ description: "Statistics, drawdown and ratios of the whole book." }),
    byStrategy: z.array(z.record(z.string(), z.unknown())),
    byInstrument: z.array(z.record(z.string(), z.unknown())),
    byPattern: z.array(z.record(z.string(), z.unknown())),
    patterns: z.array(z.record(z.string(), z.unknown())),
    risk: z.record(z.string(), z.unknown()),
    recommendations: z.array(
      z.object({
        id: z.string(),
        rule: z.string(),
        severity: z.enum(["info", "warning", "high"]),
        subject: z.string(),
        title: z.string(),
        evidence: z.array(z.string()),
        recommendation: z.string(),
      }),
    ),
  })
  .openapi("PerformanceReport", { description: "Every field and formula: docs/reports.md." });

/** A report's 200: JSON by `schema`, or the rendered formats. */
function reportAnswer(schema: z.ZodType) {
  return {
    description: "The report, in the format asked for.",
    content: {
      "application/json": { schema },
      "text/markdown": { schema: z.string() },
      "text/html": { schema: z.string() },
      "text/plain": { schema: z.string() },
    },
  };
}

/** Answers with the report as JSON, or rendered in a worker thread in the format asked for. */
async function answer(c: Context<AppEnv>, kind: ReportKind, report: object, format: ReportFormat) {
  if (format === "json") return c.json(report as Record<string, unknown>, 200);
  const rendered = await runOffThread("renderReport", kind, report, format);
  return c.body(rendered.body, 200, { "content-type": rendered.contentType });
}

const performanceRoute = createRoute({
  method: "get",
  path: "/v1/reports/performance",
  tags: ["reports"],
  summary: "The performance report: statistics, risk and recommendations",
  description:
    "Win rate, profit factor, expectancy, SQN, drawdown, Sharpe, Sortino and Calmar of the book and by strategy, instrument and pattern, pattern calibration, rejections and trading states over whole UTC days, with the recommendations that apply.",
  security: BEARER,
  middleware: [requireRole("viewer")] as const,
  request: { query: ReportQuery },
  responses: {
    200: reportAnswer(PerformanceReportView),
    400: problem("The timeframe is not valid (VALIDATION_FAILED, naming the field)."),
    ...AUTH_ERRORS,
  },
});

export const LogReportQuery = z.object({
  window: z
    .enum(Object.keys(LOG_WINDOWS) as [keyof typeof LOG_WINDOWS, ...(keyof typeof LOG_WINDOWS)[]])
    .optional()
    .openapi({ description: "The window that ends now: 15m, 1h (the default), 6h, 24h, 7d." }),
  from: z
    .string()
    .optional()
    .openapi({ format: "date-time", description: "Start of the window; instead of `window`." }),
  to: z
    .string()
    .optional()
    .openapi({ format: "date-time", description: "End of the window; now by default." }),
  format: ReportQuery.shape.format,
});

const logsRoute = createRoute({
  method: "get",
  path: "/v1/reports/logs",
  tags: ["reports"],
  summary: "The log report: rates, top events, common issues and trends",
  description:
    "Error and warning rates, the most common issues grouped by event and by message template (numbers and ids masked), and what is new, rising or gone against the window before, from the log files or Loki (`reports.logs.source`).",
  security: BEARER,
  middleware: [requireRole("viewer")] as const,
  request: { query: LogReportQuery },
  responses: {
    200: reportAnswer(z.record(z.string(), z.unknown()).openapi("LogReport")),
    400: problem("The window is not valid (VALIDATION_FAILED, naming the field)."),
    ...AUTH_ERRORS,
  },
});

const systemRoute = createRoute({
  method: "get",
  path: "/v1/reports/system",
  tags: ["reports"],
  summary: "The system report: CPU, memory, event loop, database and disk, with recommendations",
  description:
    "The process and host over whole UTC days, from the samples the service takes every minute: each figure's range and trend, the database and WAL growth, when the data volume fills, and the recommendations that apply (docs/reports-system.md).",
  security: BEARER,
  middleware: [requireRole("viewer")] as const,
  request: { query: ReportQuery },
  responses: {
    200: reportAnswer(z.record(z.string(), z.unknown()).openapi("SystemReport")),
    400: problem("The timeframe is not valid (VALIDATION_FAILED, naming the field)."),
    ...AUTH_ERRORS,
  },
});

/** `/v1/reports/*`: the reports. Viewer and up. */
export function reportRoutes({
  databasePath,
  config,
  clock,
}: {
  databasePath: string;
  config: Config;
  clock: Clock;
}) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(performanceRoute, async (c) => {
    const { format, ...query } = c.req.valid("query");
    return answer(c, "performance", await performanceReport(databasePath, query, config, clock), format);
  });
  app.openapi(logsRoute, async (c) => {
    const { format, ...query } = c.req.valid("query");
    return answer(c, "logs", await logReport(config, query, clock), format);
  });
  app.openapi(systemRoute, async (c) => {
    const { format, ...query } = c.req.valid("query");
    const now = clock.now();
    const window = systemWindow(databasePath, query, now);
    return answer(c, "system", await systemReport(databasePath, window, config, now), format);
  });
  return app;
}
