import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { requireRole } from "../http/auth.js";
import type { AppEnv } from "../http/env.js";
import { AUTH_ERRORS, BEARER, problem } from "../http/openapi.js";
import { validationHook } from "../http/problem.js";
import { DomainError } from "../platform/errors.js";
import type { Logger } from "../platform/logger.js";
import type { BackupManager } from "./backups.js";
import { MAINTENANCE_KINDS, type MaintenanceRun } from "./runs.js";

const RunView = z
  .object({
    id: z.string(),
    kind: z.enum(MAINTENANCE_KINDS),
    trigger: z.string().openapi({ description: "schedule, api, cli or start" }),
    status: z.enum(["running", "succeeded", "failed"]),
    reason: z.string().nullable().openapi({ description: "Why it failed." }),
    startedAt: z.string().openapi({ format: "date-time" }),
    finishedAt: z.string().nullable().openapi({ format: "date-time" }),
    details: z.record(z.string(), z.unknown()).openapi({
      description: "What it measured: snapshot id, files, bytes processed and added, snapshots kept, …",
    }),
  })
  .openapi("MaintenanceRun");

const SnapshotView = z
  .object({
    id: z.string(),
    shortId: z.string(),
    time: z.string(),
    hostname: z.string(),
    tags: z.array(z.string()),
  })
  .openapi("Snapshot");

const BackupsView = z
  .object({
    running: RunView.nullable(),
    runs: z.array(RunView).openapi({ description: "The latest backups, drills and checks, newest first." }),
    snapshots: z.array(SnapshotView).openapi({ description: "This instance's snapshots, oldest first." }),
    snapshotsError: z
      .string()
      .optional()
      .openapi({ description: "Why the repository could not be listed, when it could not." }),
  })
  .openapi("Backups");

const RunIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" } }),
});

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const started = (what: string) => ({
  202: json(RunView, `The ${what} started; follow it with GET /v1/backups/runs/{id}.`),
  409: problem("A backup, drill or check is already running (ALREADY_RUNNING), here or in another process."),
  ...AUTH_ERRORS,
});

const runBackupRoute = createRoute({
  method: "post",
  path: "/v1/backups",
  tags: ["maintenance"],
  summary: "Take a backup now",
  description:
    "Copies the database consistently while trading goes on, backs it up with the config and `backup.paths` to the restic repository, then applies the retention.",
  security: BEARER,
  middleware: [requireRole("admin")] as const,
  responses: started("backup"),
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/backups",
  tags: ["maintenance"],
  summary: "Recent backups, drills and checks, and the snapshots in the repository",
  security: BEARER,
  middleware: [requireRole("admin")] as const,
  responses: { 200: json(BackupsView, "Runs and snapshots."), ...AUTH_ERRORS },
});

const getRunRoute = createRoute({
  method: "get",
  path: "/v1/backups/runs/{id}",
  tags: ["maintenance"],
  summary: "One backup, drill or check",
  security: BEARER,
  middleware: [requireRole("admin")] as const,
  request: { params: RunIdParam },
  responses: { 200: json(RunView, "The run."), 404: problem("No such run."), ...AUTH_ERRORS },
});

const drillRoute = createRoute({
  method: "post",
  path: "/v1/backups/restore-drill",
  tags: ["maintenance"],
  summary: "Run a restore drill now",
  description:
    "Restores the latest snapshot to a scratch folder and checks it: every file against the manifest, PRAGMA integrity_check, the audit hash chain, row counts and ledger totals.",
  security: BEARER,
  middleware: [requireRole("admin")] as const,
  responses: started("drill"),
});

/** A run as the API shows it. */
export function runView(run: MaintenanceRun): z.infer<typeof RunView> {
  return {
    id: run.id,
    kind: run.kind,
    trigger: run.trigger,
    status: run.status,
    reason: run.reason,
    startedAt: new Date(run.startedAt).toISOString(),
    finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
    details: run.details,
  };
}

/** `/v1/backups`: take a backup or a drill now, and see how the recent ones went. Admin only. */
export function maintenanceRoutes({ manager, logger }: { manager: BackupManager; logger: Logger }) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  // The run goes on after the answer; its end is recorded and logged by the manager.
  const detach = (done: Promise<MaintenanceRun>): void =>
    void done.catch((error: unknown) =>
      logger.error("maintenance run failed", { event: "maintenance.error", err: error }),
    );

  app.openapi(runBackupRoute, (c) => {
    const { run, done } = manager.backup("api");
    detach(done);
    return c.json(runView(run), 202);
  });
  app.openapi(drillRoute, (c) => {
    const { run, done } = manager.drill("api");
    detach(done);
    return c.json(runView(run), 202);
  });
  app.openapi(listRoute, async (c) => {
    const running = manager.running();
    const base = { running: running ? runView(running) : null, runs: manager.runs.recent(20).map(runView) };
    try {
      const snapshots = (await manager.snapshots()).map(({ id, shortId, time, hostname, tags }) => ({
        id,
        shortId,
        time,
        hostname,
        tags,
      }));
      return c.json({ ...base, snapshots }, 200);
    } catch (error) {
      return c.json({ ...base, snapshots: [], snapshotsError: (error as Error).message }, 200);
    }
  });
  app.openapi(getRunRoute, (c) => {
    const run = manager.runs.get(c.req.valid("param").id);
    if (!run) throw new DomainError("NOT_FOUND", `no backup, drill or check ${c.req.valid("param").id}`);
    return c.json(runView(run), 200);
  });
  return app;
}
