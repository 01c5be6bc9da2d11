import type { Db } from "../platform/db.js";

/** The kinds of maintenance work: a backup, a restore drill, a repository check. */
export const MAINTENANCE_KINDS = ["backup", "drill", "check"] as const;
export type MaintenanceKind = (typeof MAINTENANCE_KINDS)[number];

/** Who started a run. */
export type RunTrigger = "schedule" | "api" | "cli" | "start";

/** One backup, drill or check: how it went, with what it measured in `details`. */
export interface MaintenanceRun {
  id: string;
  kind: MaintenanceKind;
  trigger: RunTrigger;
  startedAt: number;
  finishedAt: number | null;
  status: "running" | "succeeded" | "failed";
  reason: string | null;
  details: Record<string, unknown>;
}

interface RunRow {
  id: string;
  kind: MaintenanceKind;
  trigger: RunTrigger;
  started_at: bigint;
  finished_at: bigint | null;
  status: MaintenanceRun["status"];
  reason: string | null;
  details: string;
}

const fromRow = (row: RunRow): MaintenanceRun => ({
  id: row.id,
  kind: row.kind,
  trigger: row.trigger,
  startedAt: Number(row.started_at),
  finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  status: row.status,
  reason: row.reason,
  details: JSON.parse(row.details) as Record<string, unknown>,
});

/** What the metrics read of one kind: its last run, its last success, and runs by status. */
export interface KindSummary {
  last: MaintenanceRun | undefined;
  lastSuccess: MaintenanceRun | undefined;
  counts: Record<"succeeded" | "failed", number>;
}

/**
 * The `maintenance_runs` table: every backup, drill and check, written when it starts and when it
 * ends, by whichever process ran it (the service, or the CLI beside it). The metrics read it at
 * scrape time, so a run made from the CLI shows too.
 */
export class RunRepository {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO maintenance_runs (id, kind, trigger, started_at, status, details)
         VALUES (@id, @kind, @trigger, @startedAt, 'running', '{}')`,
      ),
      finish: db.prepare(
        `UPDATE maintenance_runs SET finished_at = ?, status = ?, reason = ?, details = ? WHERE id = ?`,
      ),
      recent: db.prepare<[number], RunRow>(
        "SELECT * FROM maintenance_runs ORDER BY started_at DESC, id DESC LIMIT ?",
      ),
      get: db.prepare<[string], RunRow>("SELECT * FROM maintenance_runs WHERE id = ?"),
      last: db.prepare<[string], RunRow>(
        "SELECT * FROM maintenance_runs WHERE kind = ? AND status != 'running' ORDER BY started_at DESC, id DESC LIMIT 1",
      ),
      lastSuccess: db.prepare<[string], RunRow>(
        "SELECT * FROM maintenance_runs WHERE kind = ? AND status = 'succeeded' ORDER BY started_at DESC, id DESC LIMIT 1",
      ),
      counts: db.prepare<[string], { status: string; n: bigint }>(
        "SELECT status, COUNT(*) AS n FROM maintenance_runs WHERE kind = ? GROUP BY status",
      ),
      abandon: db.prepare(
        "UPDATE maintenance_runs SET finished_at = ?, status = 'failed', reason = ? WHERE status = 'running' AND id != ?",
      ),
    };
  }

  start(run: Pick<MaintenanceRun, "id" | "kind" | "trigger" | "startedAt">): void {
    this.stmts.insert.run(run);
  }

  finish(
    id: string,
    at: number,
    status: "succeeded" | "failed",
    reason: string | null,
    details: object,
  ): void {
    this.stmts.finish.run(at, status, reason, JSON.stringify(details), id);
  }

  /**
   * Marks as failed every run still `running` but `current`: their process was stopped or killed
   * before it could finish them. Called under the cross-process lock, so none of them is live.
   */
  abandonStale(at: number, current: string): number {
    return this.stmts.abandon.run(at, "the process running it stopped before it finished", current).changes;
  }

  get(id: string): MaintenanceRun | undefined {
    const row = this.stmts.get.get(id);
    return row ? fromRow(row) : undefined;
  }

  recent(limit: number): MaintenanceRun[] {
    return this.stmts.recent.all(limit).map(fromRow);
  }

  summary(kind: MaintenanceKind): KindSummary {
    const counts = { succeeded: 0, failed: 0 };
    for (const { status, n } of this.stmts.counts.all(kind)) {
      if (status === "succeeded" || status === "failed") counts[status] = Number(n);
    }
    const last = this.stmts.last.get(kind);
    const lastSuccess = this.stmts.lastSuccess.get(kind);
    return { last: last && fromRow(last), lastSuccess: lastSuccess && fromRow(lastSuccess), counts };
  }
}
