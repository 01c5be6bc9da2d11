import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { requireRole } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import { AUTH_ERRORS, BEARER, problem } from "../http/openapi.js";
import { validationHook } from "../http/problem.js";
import { queryInteger } from "../http/query.js";
import type { AuditLog } from "../platform/audit.js";
import { DomainError } from "../platform/errors.js";
import type { AuditChainWatch } from "./audit-chain.js";
import { CHECKS, type CheckId } from "./catalog.js";
import type { SecurityChecker } from "./checker.js";
import { CHECK_STATUSES, countStatuses, type SecurityReport } from "./report.js";

const Instant = z
  .string()
  .datetime({ offset: true, message: "an ISO 8601 time such as 2026-12-01T00:00:00Z" })
  .transform((text) => Date.parse(text));

export const AuditQuery = z.object({
  actor: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .openapi({ description: "A token id, `supervisor` or `system`." }),
  action: z.string().min(1).max(64).optional().openapi({ example: "operation.submit" }),
  from: Instant.optional().openapi({
    type: "string",
    format: "date-time",
    description: "Entries at or after.",
  }),
  to: Instant.optional().openapi({ type: "string", format: "date-time", description: "Entries before." }),
  cursor: queryInteger(1, Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ type: "integer", description: "`nextCursor` of the previous page." }),
  limit: queryInteger(1, 500)
    .default(100)
    .openapi({ type: "integer", minimum: 1, maximum: 500, description: "Entries per page, 1 to 500." }),
});

const AuditEntryView = z
  .object({
    seq: z.number().int(),
    at: z.string().openapi({ format: "date-time" }),
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
  })
  .openapi("AuditEntry");

const ChainView = z
  .object({
    ok: z
      .boolean()
      .openapi({ description: "Whether every entry links to the one before and hashes to its contents." }),
    verifiedEntries: z.number().int(),
    brokenAt: z.number().int().optional().openapi({ description: "The first entry that breaks the chain." }),
    reason: z.string().optional(),
    verifiedAt: z.string().openapi({ format: "date-time" }),
  })
  .openapi("AuditChain");

const AuditPage = z
  .object({ items: z.array(AuditEntryView), nextCursor: z.string().nullable(), chain: ChainView })
  .openapi("AuditPage");

const auditRoute = createRoute({
  method: "get",
  path: "/v1/audit",
  tags: ["security"],
  summary: "The audit log, and whether its hash chain verifies",
  description:
    "Every state-changing call, newest first, filtered by actor, action and time. `chain` is a verification made for this answer, going on from the last entry found sound: a break names the first entry that breaks it.",
  security: BEARER,
  middleware: [requireRole("admin")] as const,
  request: { query: AuditQuery },
  responses: {
    200: { description: "A page of entries.", content: { "application/json": { schema: AuditPage } } },
    400: problem("A filter is not valid."),
    ...AUTH_ERRORS,
  },
});

/** `/v1/audit`: the audit log, readable and verifiable. Admin only. */
export function auditRoutes({ audit, watch }: { audit: AuditLog; watch: AuditChainWatch }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(auditRoute, async (c) => {
    const query = c.req.valid("query");
    const chain = await watch.verify();
    const entries = audit.search({ ...query, beforeSeq: query.cursor, limit: query.limit + 1 });
    const items = entries.slice(0, query.limit);
    return c.json(
      {
        items: items.map((e) => ({ ...e, at: new Date(e.at).toISOString() })),
        nextCursor: entries.length > query.limit ? String(items.at(-1)!.seq) : null,
        chain: { ...chain, verifiedAt: new Date(chain.verifiedAt).toISOString() },
      },
      200,
    );
  });
  return app;
}

const CheckResultView = z
  .object({
    id: z.enum(CHECKS.map((check) => check.id) as [CheckId, ...CheckId[]]),
    title: z.string(),
    status: z.enum(CHECK_STATUSES),
    evidence: z.array(z.string()).openapi({ description: "What was looked at and what was seen." }),
    recommendation: z.string().optional().openapi({ description: "What to do; on a finding." }),
    reason: z.string().optional().openapi({ description: "Why it could not run; when unavailable." }),
    checkedAt: z.string().openapi({ format: "date-time" }),
    durationMs: z.number().int(),
  })
  .openapi("SecurityCheckResult");

const SecurityReportView = z
  .object({
    id: z.string(),
    trigger: z.string().openapi({ description: "schedule, start or api" }),
    startedAt: z.string().openapi({ format: "date-time" }),
    finishedAt: z.string().openapi({ format: "date-time" }),
    counts: z.object({
      ok: z.number().int(),
      warning: z.number().int(),
      critical: z.number().int(),
      unavailable: z.number().int(),
    }),
    results: z.array(CheckResultView),
  })
  .openapi("SecurityReport");

const reportJson = (description: string) => ({
  description,
  content: { "application/json": { schema: SecurityReportView } },
});

const runChecksRoute = createRoute({
  method: "post",
  path: "/v1/security-checks",
  tags: ["security"],
  summary: "Run every security check now",
  description:
    "Runs the checks (integrity, dependencies, database, permissions, settings) and answers with the report when they are done, in seconds; a run under way is joined, not repeated.",
  security: BEARER,
  middleware: [requireRole("admin")] as const,
  responses: { 200: reportJson("The report of the run."), ...AUTH_ERRORS },
});

const latestRoute = createRoute({
  method: "get",
  path: "/v1/security-checks/latest",
  tags: ["security"],
  summary: "The latest security report",
  description:
    "The latest run of every check, with the quick checks (audit chain, quick_check) as of their latest run.",
  security: BEARER,
  middleware: [requireRole("admin")] as const,
  responses: {
    200: reportJson("The latest report."),
    404: problem("No check has run since the service started (NOT_FOUND)."),
    ...AUTH_ERRORS,
  },
});

function viewReport(report: SecurityReport) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: report.id,
    trigger: report.trigger,
    startedAt: iso(report.startedAt),
    finishedAt: iso(report.finishedAt),
    counts: countStatuses(report.results),
    results: report.results.map((result) => ({ ...result, checkedAt: iso(result.checkedAt) })),
  };
}

/** `/v1/security-checks`: run the checks now, read the latest report. Admin only. */
export function securityRoutes({ checker }: { checker: SecurityChecker }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.openapi(runChecksRoute, async (c) =>
    c.json(viewReport(await checker.run("api", c.get("principal").id)), 200),
  );
  app.openapi(latestRoute, (c) => {
    const report = checker.latest();
    if (!report) throw new DomainError("NOT_FOUND", "no security check has run since the service started");
    return c.json(viewReport(report), 200);
  });
  return app;
}
