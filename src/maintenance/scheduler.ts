import { Cron } from "croner";
import type { BackupConfig } from "../config/schema.js";
import { DomainError } from "../platform/errors.js";
import type { Logger } from "../platform/logger.js";
import type { BackupManager } from "./backups.js";
import type { MaintenanceKind } from "./runs.js";

/** The schedules running in `serve`; `stop` ends them and waits for nothing. */
export interface MaintenanceSchedule {
  stop(): void;
  /** The next time each scheduled kind runs. */
  next(): Partial<Record<MaintenanceKind, Date | null>>;
  /**
   * Settles (never rejects) when the backup taken at start of a fresh install has finished, or at
   * once when none was taken: what should judge the backups only after it waits for this.
   */
  firstBackup: Promise<void>;
}

/**
 * Runs backups, drills and checks on their cron schedules (croner; `"off"` leaves one out). A job
 * that finds another run under way, here or in another process, is skipped with a log line, and
 * croner's `protect` keeps a slow run from overlapping its own next turn. A run's failure is
 * recorded by the manager; nothing here throws into the event loop.
 */
export function scheduleMaintenance(
  manager: BackupManager,
  schedule: BackupConfig["schedule"],
  logger: Logger,
): MaintenanceSchedule {
  const jobs = new Map<MaintenanceKind, Cron>();
  for (const kind of ["backup", "drill", "check"] as const) {
    const pattern = schedule[kind];
    if (pattern === "off") continue;
    jobs.set(
      kind,
      new Cron(
        pattern,
        {
          protect: true,
          catch: (error) =>
            logger.error(`scheduled ${kind} failed to start`, {
              event: "maintenance.error",
              kind,
              err: error,
            }),
          name: `opsguard-${kind}`,
        },
        async () => {
          try {
            await manager[kind]("schedule").done;
          } catch (error) {
            if (!(error instanceof DomainError && error.code === "ALREADY_RUNNING")) throw error;
            logger.info(`scheduled ${kind} skipped: ${error.message}`, {
              event: "maintenance.skipped",
              kind,
            });
          }
        },
      ),
    );
  }
  return {
    stop: () => jobs.forEach((job) => job.stop()),
    next: () => Object.fromEntries([...jobs].map(([kind, job]) => [kind, job.nextRun()])),
    firstBackup: Promise.resolve(),
  };
}

/**
 * Starts the schedules of `serve`, and, on an instance that has never had one, a backup at once
 * followed by a drill and a repository check: a fresh install is protected, and proven
 * restorable, from its first minutes rather than from its first scheduled turn.
 */
export function startMaintenance(
  manager: BackupManager,
  config: BackupConfig,
  logger: Logger,
): MaintenanceSchedule {
  const schedule = scheduleMaintenance(manager, config.schedule, logger);
  if (manager.runs.summary("backup").lastSuccess === undefined && config.schedule.backup !== "off") {
    let backedUp!: () => void;
    schedule.firstBackup = new Promise((resolve) => (backedUp = resolve));
    void (async () => {
      const backup = await manager.backup("start").done.finally(backedUp);
      if (backup.status !== "succeeded") return;
      if (config.schedule.drill !== "off" && manager.runs.summary("drill").last === undefined) {
        await manager.drill("start").done;
      }
      if (config.schedule.check !== "off" && manager.runs.summary("check").last === undefined) {
        await manager.check("start").done;
      }
    })().catch((error: unknown) => {
      backedUp();
      // Another run may hold the lock (the CLI): the schedule takes it from here.
      logger.info(`first backup not started: ${(error as Error).message}`, {
        event: "maintenance.skipped",
        kind: "backup",
      });
    });
  }
  return schedule;
}
