import { join } from "node:path";
import { trace } from "@opentelemetry/api";
import type { Config } from "../config/schema.js";
import { BackupManager, type Progress } from "../maintenance/backups.js";
import { restoreSnapshot } from "../maintenance/restore.js";
import { Restic } from "../maintenance/restic.js";
import type { MaintenanceRun } from "../maintenance/runs.js";
import { backupSettings, ensurePasswordFile, type BackupSettings } from "../maintenance/settings.js";
import { SYSTEM_CLOCK } from "../platform/clock.js";
import { openDatabase } from "../platform/db.js";
import { GroupCommit } from "../platform/group-commit.js";
import { createLogging, type Logger } from "../platform/logger.js";
import { UsageError } from "./usage-error.js";

/** `opsguard backup …` usage, for the CLI's help. */
export const BACKUP_USAGE = `opsguard backup run                      take a backup now
opsguard backup list [--all]             this instance's snapshots (--all: every instance's) and the latest runs
opsguard backup drill                    restore the latest snapshot to a scratch folder and verify it
opsguard backup check                    run restic check (reads back backup.checkReadDataSubset)
opsguard backup restore [SNAPSHOT] [--to DIR]
                                         restore a snapshot (the latest by default) beside (--to)
                                         or in place of the data folder (the service must be stopped)`;

/** Output of a command: where lines go, and whether progress can be drawn in place. */
export interface CommandOutput {
  out: (line: string) => void;
  err: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * Runs `opsguard backup <sub>` in this process, beside a service that may be running on the same
 * data folder: the database is copied in one read transaction (a consistent read that the
 * service's writes cannot disturb), and the cross-process lock keeps it from overlapping the service's own
 * runs. Log lines go to the configured file and Loki outputs, not the console: the console shows
 * progress (on a terminal) and the result. Returns the exit status.
 */
export async function runBackupCommand(
  sub: string | undefined,
  args: { snapshot?: string; to?: string; all?: boolean },
  config: Config,
  configPath: string | undefined,
  output: CommandOutput,
): Promise<number> {
  if (!["run", "drill", "check", "list", "restore"].includes(sub ?? ""))
    throw new UsageError(`usage:\n${BACKUP_USAGE}`);
  const settings = backupSettings(config, process.env);
  ensurePasswordFile(settings);
  const logging = createLogging({
    config: { ...config.logging, console: { ...config.logging.console, enabled: false } },
    dataDir: config.dataDir,
    env: config.env,
    service: "opsguard",
  });
  const restic = new Restic({
    binary: config.backup.resticBinary,
    repository: settings.repository,
    passwordFile: settings.passwordFile,
    env: settings.env,
    timeoutMs: config.backup.timeoutMs,
    cacheDir: settings.cacheDir,
  });
  const tags = [`instance:${settings.instance}`];
  const progress = progressLine(output.err);
  try {
    // A restore never opens the database: it may be the damaged file a restore is for.
    if (sub === "restore") {
      const result = await restoreSnapshot({
        restic,
        snapshots: () => restic.snapshots({ tags }),
        dataDir: config.dataDir,
        logger: logging.logger,
        snapshot: args.snapshot,
        to: args.to,
        onProgress: progress.show,
      });
      progress.clear();
      output.out(
        `restored snapshot ${result.snapshot.shortId} (${result.snapshot.time}): ${result.database}`,
      );
      if (result.config) output.out(`its config: ${result.config}`);
      if (result.files) output.out(`its other files: ${result.files}`);
      if (result.replaced) output.out(`the files it replaced: ${result.replaced}`);
      output.out(
        args.to && !result.replaced
          ? `start a copy on it (its own port, no backups of its own): OPSGUARD_DATA_DIR=${args.to} OPSGUARD_SERVER_PORT=8081 OPSGUARD_BACKUP_ENABLED=false opsguard serve${result.config ? ` --config ${result.config}` : ""}`
          : "start opsguard: it recovers from the restored state as after a crash",
      );
      return 0;
    }
    return await withManager(config, configPath, restic, settings, logging.logger, async (manager) => {
      switch (sub) {
        case "run":
          return report(await manager.backup("cli", progress.show).done, output, progress);
        case "drill":
          return report(await manager.drill("cli", progress.show).done, output, progress);
        case "check":
          return report(await manager.check("cli").done, output, progress);
        case "list": {
          const snapshots = args.all ? await restic.snapshots() : await manager.snapshots();
          output.out(
            `repository ${settings.local ? settings.repository : "(remote)"}, instance ${settings.instance}`,
          );
          output.out(snapshots.length === 0 ? "no snapshots" : "snapshot  time                      tags");
          for (const s of snapshots)
            output.out(`${s.shortId.padEnd(9)} ${s.time.slice(0, 25).padEnd(25)} ${s.tags.join(",")}`);
          for (const run of manager.runs.recent(10)) output.out(describeRun(run));
          return 0;
        }
        default:
          throw new UsageError(`usage:\n${BACKUP_USAGE}`);
      }
    });
  } finally {
    progress.clear();
    await logging.close(2_000);
  }
}

/** Runs `work` with a backup manager on the data folder's database, closed afterwards. */
async function withManager(
  config: Config,
  configPath: string | undefined,
  restic: Restic,
  settings: BackupSettings,
  logger: Logger,
  work: (manager: BackupManager) => Promise<number>,
): Promise<number> {
  const databasePath = join(config.dataDir, "opsguard.db");
  const db = openDatabase({ path: databasePath });
  const commits = new GroupCommit(db, (error) => {
    throw error;
  });
  try {
    const manager = new BackupManager({
      config: config.backup,
      dataDir: config.dataDir,
      db,
      commits,
      restic,
      clock: SYSTEM_CLOCK,
      logger,
      tracer: trace.getTracer("opsguard"),
      instance: settings.instance,
      repositoryPath: settings.local ? settings.repository : undefined,
      configPath,
      databasePath,
    });
    return await work(manager);
  } finally {
    commits.commit();
    db.close();
  }
}

function report(run: MaintenanceRun, output: CommandOutput, progress: { clear(): void }): number {
  progress.clear();
  output.out(describeRun(run));
  return run.status === "succeeded" ? 0 : 1;
}

function describeRun(run: MaintenanceRun): string {
  const seconds =
    run.finishedAt === null ? "" : ` in ${((run.finishedAt - run.startedAt) / 1000).toFixed(1)} s`;
  const facts = Object.entries(run.details)
    .filter(([, v]) => typeof v !== "object")
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ");
  const when = new Date(run.startedAt).toISOString();
  return `${when} ${run.kind} ${run.status}${seconds}${run.reason ? `: ${run.reason}` : ""}${facts ? ` (${facts})` : ""}`;
}

/** One line redrawn in place on a terminal; nothing elsewhere (logs and CI output stay clean). */
function progressLine(stream: CommandOutput["err"]) {
  let drawn = false;
  return {
    show: (p: Progress): void => {
      if (!stream.isTTY) return;
      const ratio = p.ratio === undefined ? "" : ` ${Math.round(p.ratio * 100)}%`;
      stream.write(`\r\u001b[2K${p.step}${ratio}${p.detail ? ` (${p.detail})` : ""}`);
      drawn = true;
    },
    clear: (): void => {
      if (drawn) stream.write("\r\u001b[2K");
      drawn = false;
    },
  };
}
