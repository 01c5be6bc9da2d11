import { readdirSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { SpanKind, type Tracer } from "@opentelemetry/api";
import { monotonicFactory } from "ulid";
import type { BackupConfig } from "../config/schema.js";
import type { Clock } from "../platform/clock.js";
import type { Db } from "../platform/db.js";
import { DomainError } from "../platform/errors.js";
import type { GroupCommit } from "../platform/group-commit.js";
import type { Logger } from "../platform/logger.js";
import { pooledRandom } from "../platform/random-pool.js";
import { inSpan } from "../platform/spans.js";
import { PidLock } from "./pid-lock.js";
import type { BackupRepository, Snapshot } from "./repository.js";
import { RunRepository, type MaintenanceKind, type MaintenanceRun, type RunTrigger } from "./runs.js";
import { stageSnapshot } from "./stage.js";
import { readRestoredManifest, verifyRestored } from "./verify.js";

/** Log event names of each kind of run: `<prefix>.started`, `.succeeded`, `.failed`. */
export const EVENT_PREFIX: Record<MaintenanceKind, string> = {
  backup: "backup",
  drill: "restore_drill",
  check: "backup_check",
};

/** A step's progress, for a terminal: what it is doing and how far along, 0..1 when known. */
export interface Progress {
  step: string;
  ratio?: number;
  detail?: string;
}

/** What the backup manager works with. */
export interface BackupManagerOptions {
  config: BackupConfig;
  dataDir: string;
  db: Db;
  commits: GroupCommit;
  restic: BackupRepository;
  clock: Clock;
  logger: Logger;
  tracer: Tracer;
  /** The name of this instance: its snapshots are tagged `instance:<name>`. */
  instance: string;
  /** The config file in use, backed up with the database. */
  configPath?: string;
  /** The repository's folder when it is a local one: backed-up paths must not overlap it. */
  repositoryPath?: string;
  /** The live database file (`db` is a connection to it): copied in a worker thread. */
  databasePath: string;
}

/** A run under way: its record now, and the promise of how it ends. */
export interface StartedRun {
  run: MaintenanceRun;
  done: Promise<MaintenanceRun>;
}

/** A run that failed, with what it measured before it did. */
class RunFailure extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/**
 * Backups, restore drills and repository checks of opsguard's state with restic, one at a time —
 * in this process and across processes (a pid lock beside the database). Each run is recorded in
 * `maintenance_runs` when it starts and when it ends, is one trace with a span per step, and logs
 * one line when it starts and one when it ends. Nothing here touches trading: the database is
 * copied with SQLite's online backup API in short steps, and restic runs in its own process.
 */
export class BackupManager {
  readonly runs: RunRepository;
  private current: MaintenanceRun | undefined;
  private currentDone: Promise<unknown> | undefined;
  /** Aborts the restic command under way: at shutdown, a run stops rather than holding it up. */
  private abort = new AbortController();
  private closing = false;
  private readonly lock: PidLock;
  private readonly nextId = monotonicFactory(pooledRandom());

  constructor(private readonly options: BackupManagerOptions) {
    this.runs = new RunRepository(options.db);
    this.lock = new PidLock(join(options.dataDir, "backup.lock"));
  }

  /** The tags on this instance's snapshots; the first selects them. */
  get tags(): string[] {
    return [`instance:${this.options.instance}`, "opsguard", ...this.options.config.tags];
  }

  /** Resolves once no run is under way in this process. */
  async idle(): Promise<void> {
    while (this.currentDone) await this.currentDone.catch(() => undefined);
  }

  /**
   * Starts no more runs and stops the one under way (its restic command is interrupted, which
   * releases restic's lock; the run is recorded as failed), then waits for it to end.
   */
  async stop(): Promise<void> {
    this.closing = true;
    this.abort.abort(new Error("opsguard is stopping"));
    await this.idle();
  }

  /** The run under way in this process, if any. */
  running(): MaintenanceRun | undefined {
    return this.current;
  }

  /** Starts a backup; 409 `ALREADY_RUNNING` while another run is under way, here or elsewhere. */
  backup(trigger: RunTrigger, onProgress?: (p: Progress) => void): StartedRun {
    return this.begin("backup", trigger, (run) => this.takeBackup(run, onProgress));
  }

  /** Starts a restore drill of the latest snapshot. */
  drill(trigger: RunTrigger, onProgress?: (p: Progress) => void): StartedRun {
    return this.begin("drill", trigger, (run) => this.runDrill(run, onProgress));
  }

  /** Starts a `restic check`, reading back `checkReadDataSubset` of the data. */
  check(trigger: RunTrigger): StartedRun {
    return this.begin("check", trigger, () => this.runCheck());
  }

  /** This instance's snapshots in the repository, oldest first. */
  snapshots(): Promise<Snapshot[]> {
    return this.options.restic.snapshots({ tags: [this.tags[0]!] });
  }

  private begin(
    kind: MaintenanceKind,
    trigger: RunTrigger,
    work: (run: MaintenanceRun) => Promise<Record<string, unknown>>,
  ): StartedRun {
    const { clock, logger, commits } = this.options;
    if (this.closing)
      throw new DomainError("NOT_READY", "opsguard is stopping: no backup, drill or check starts now");
    if (this.current) {
      throw new DomainError("ALREADY_RUNNING", `a ${this.current.kind} is running (run ${this.current.id})`);
    }
    if (!this.lock.acquire()) {
      const holder = this.lock.liveHolder();
      throw new DomainError(
        "ALREADY_RUNNING",
        `a backup, drill or check is running in process ${holder ?? "?"}`,
      );
    }
    const startedAt = clock.now();
    const run: MaintenanceRun = {
      id: this.nextId(startedAt),
      kind,
      trigger,
      startedAt,
      finishedAt: null,
      status: "running",
      reason: null,
      details: {},
    };
    try {
      commits.write(() => {
        this.runs.abandonStale(startedAt, run.id);
        this.runs.start(run);
      });
    } catch (error) {
      this.lock.release();
      throw error;
    }
    this.current = run;
    const event = EVENT_PREFIX[kind];
    // What a killed run left behind (a staging copy, a drill's scratch folder): no run is under way.
    this.sweepLeftovers();
    logger.info(`${kind} started`, { event: `${event}.started`, runId: run.id, trigger });
    const span = {
      root: true,
      kind: SpanKind.INTERNAL,
      attributes: { "opsguard.run.id": run.id, "opsguard.run.trigger": trigger },
    };
    const done = inSpan(this.options.tracer, `maintenance.${kind}`, span, () => work(run))
      .then(
        (details) => this.finish(run, "succeeded", null, details),
        (error: unknown) => {
          const details = error instanceof RunFailure ? error.details : {};
          return this.finish(run, "failed", (error as Error).message, details);
        },
      )
      .finally(() => {
        this.current = undefined;
        this.currentDone = undefined;
        this.lock.release();
      });
    this.currentDone = done;
    return { run, done };
  }

  private async finish(
    run: MaintenanceRun,
    status: "succeeded" | "failed",
    reason: string | null,
    details: Record<string, unknown>,
  ): Promise<MaintenanceRun> {
    const { clock, logger, commits } = this.options;
    const finishedAt = clock.now();
    commits.write(() => this.runs.finish(run.id, finishedAt, status, reason, details));
    await commits.durable();
    const ended: MaintenanceRun = { ...run, finishedAt, status, reason, details };
    const fields = {
      event: `${EVENT_PREFIX[run.kind]}.${status}`,
      runId: run.id,
      durationMs: finishedAt - run.startedAt,
      ...details,
    };
    if (status === "succeeded") logger.info(`${run.kind} succeeded`, fields);
    else logger.error(`${run.kind} failed: ${reason}`, { ...fields, reason });
    return ended;
  }

  private sweepLeftovers(): void {
    const dataDir = resolve(this.options.dataDir);
    for (const name of readdirSync(dataDir)) {
      if (name === "backup-staging" || /^drill-[0-9A-Z]{26}$/.test(name)) {
        rmSync(join(dataDir, name), { recursive: true, force: true });
      }
    }
  }

  /**
   * The extra paths to back up, absolute; one that overlaps the data folder (the live database)
   * or the repository cannot be backed up sensibly.
   */
  private extraPaths(): string[] {
    const dataDir = resolve(this.options.dataDir);
    const repository = this.options.repositoryPath && resolve(this.options.repositoryPath);
    const within = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
    return this.options.config.paths.map((raw) => {
      const path = resolve(raw);
      if (within(path, dataDir))
        throw new RunFailure(`backup.paths ${raw} overlaps the data folder ${dataDir}`);
      if (repository && within(path, repository)) {
        throw new RunFailure(`backup.paths ${raw} overlaps the repository ${repository}`);
      }
      return path;
    });
  }

  private step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return inSpan(this.options.tracer, `maintenance.${name}`, { kind: SpanKind.INTERNAL }, fn);
  }

  private async takeBackup(
    run: MaintenanceRun,
    onProgress?: (p: Progress) => void,
  ): Promise<Record<string, unknown>> {
    const { restic, config } = this.options;
    // restic records absolute paths: a relative data folder (the default ./data) is resolved.
    const stagingDir = resolve(this.options.dataDir, "backup-staging");
    const paths = this.extraPaths();
    // The repository is created by the first backup only: once one has succeeded, a repository
    // that is not found (deleted, a mount missing, a typo) is a failure, never a fresh empty one.
    if (this.runs.summary("backup").lastSuccess === undefined)
      await this.step("restic.init", () => restic.init());
    try {
      onProgress?.({ step: "copying the database" });
      const staged = await this.step("backup.stage", () =>
        stageSnapshot({
          databasePath: this.options.databasePath,
          commits: this.options.commits,
          stagingDir,
          configPath: this.options.configPath,
          paths,
          instance: this.options.instance,
          now: new Date(run.startedAt),
          runId: run.id,
        }),
      );
      const summary = await this.step("restic.backup", () =>
        restic.backup(staged.paths, {
          tags: this.tags,
          host: this.options.instance,
          signal: this.abort.signal,
          onProgress: (p) =>
            onProgress?.({
              step: "backing up",
              ratio: p.percentDone,
              detail: `${p.filesDone}/${p.totalFiles} files`,
            }),
        }),
      );
      const details = {
        snapshotId: summary.snapshotId,
        files: summary.totalFilesProcessed,
        bytesProcessed: summary.totalBytesProcessed,
        bytesAdded: summary.dataAdded,
        operations: staged.manifest.facts.rows.operations,
        auditHead: staged.manifest.facts.auditHead?.seq ?? 0,
        ...(summary.warnings.length > 0 ? { warnings: summary.warnings.slice(0, 10) } : {}),
      };
      onProgress?.({ step: "applying retention" });
      const { retention } = config;
      const forgotten = await this.step("restic.forget", () =>
        restic.forget(retention, { tags: [this.tags[0]!] }),
      ).catch((error: unknown) => {
        throw new RunFailure(
          `the snapshot ${summary.snapshotId} was made, but retention failed: ${(error as Error).message}`,
          details,
        );
      });
      if (forgotten.removed.length > 0) await this.step("restic.prune", () => restic.prune());
      return { ...details, removed: forgotten.removed.length, snapshots: forgotten.kept.length };
    } finally {
      await rm(stagingDir, { recursive: true, force: true });
    }
  }

  private async runDrill(
    run: MaintenanceRun,
    onProgress?: (p: Progress) => void,
  ): Promise<Record<string, unknown>> {
    const { restic } = this.options;
    const dataDir = resolve(this.options.dataDir);
    const snapshots = await this.step("restic.snapshots", () => this.snapshots());
    const latest = snapshots.at(-1);
    if (!latest) throw new RunFailure("there is no snapshot of this instance to drill: take a backup first");
    const scratch = join(dataDir, `drill-${run.id}`);
    const details = { snapshotId: latest.shortId, snapshotTime: latest.time };
    try {
      onProgress?.({ step: `restoring ${latest.shortId}` });
      await this.step("restic.restore", () =>
        restic.restore(latest.id, scratch, {
          signal: this.abort.signal,
          onProgress: (p) => onProgress?.({ step: `restoring ${latest.shortId}`, ratio: p.percentDone }),
        }),
      );
      onProgress?.({ step: "verifying" });
      const stagingPath = latest.paths.find((p) => p.endsWith("backup-staging")) ?? latest.paths[0]!;
      const manifest = await readRestoredManifest(scratch, stagingPath).catch((error: unknown) => {
        throw new RunFailure((error as Error).message, details);
      });
      const verification = await this.step("drill.verify", () => verifyRestored(scratch, manifest));
      const result = {
        ...details,
        filesChecked: verification.filesChecked,
        auditEntries: verification.auditEntries,
        operations: manifest.facts.rows.operations,
        ...(verification.warnings.length > 0 ? { warnings: verification.warnings.slice(0, 10) } : {}),
      };
      if (!verification.ok)
        throw new RunFailure(
          `the restored snapshot does not match its manifest: ${verification.problems.join("; ")}`,
          result,
        );
      return result;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private async runCheck(): Promise<Record<string, unknown>> {
    const subset = this.options.config.checkReadDataSubset;
    const result = await this.step("restic.check", () =>
      this.options.restic.check({ readDataSubset: subset }),
    );
    if (!result.ok) {
      throw new RunFailure(
        `restic check found ${result.errors.length} error(s): ${result.errors.slice(0, 5).join("; ")}`,
        {
          errors: result.errors.length,
          readDataSubset: subset,
        },
      );
    }
    return { errors: 0, readDataSubset: subset };
  }
}
