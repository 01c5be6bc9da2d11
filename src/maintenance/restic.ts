import { homedir } from "node:os";
import { isAbsolute } from "node:path";
import { z } from "zod";
import {
  jsonLine,
  parseJsonOutput,
  parseOutput,
  type ProcessOptions,
  type ProcessResult,
  redactorFor,
  repositoryDamage,
  ResticError,
  retryingStaleLocks,
  runProcess,
} from "./restic-errors.js";

export { ResticError, type ResticErrorKind } from "./restic-errors.js";

/*
 * Minimum supported restic: 0.14 (Debian bookworm, what CI installs). What changes up to 0.19
 * (restic's source and changelog) and how it is handled here:
 * - backup --json summary: `snapshot_id` is the 8-hex short id on 0.14, the full id from 0.15
 *   (#2724); a short one is resolved with `snapshots`.
 * - backup/restore --json error lines carry the raw Go error before 0.18, `{message}` after.
 * - restore --json exists from 0.16 (#426), check --json from 0.18 (#1378): before, restore
 *   reports no progress and check's findings are stderr text.
 * - exit codes 10/11/12 (no repository, locked, wrong password) come with 0.17, JSON exit errors
 *   on stderr with 0.18; before, every failure is exit 1 and only stderr says which.
 * - restic removes its lock on SIGTERM only from 0.17 (#4703); before, only on SIGINT.
 */

/** How to run restic against one repository. */
export interface ResticOptions {
  /** The restic binary. @default "restic" */
  binary?: string;
  /**
   * Repository, e.g. /var/backups/opsguard, s3:..., sftp:..., rest:... — passed as
   * RESTIC_REPOSITORY, never on the command line (it may hold credentials).
   */
  repository: string;
  /** File holding the repository password — passed as RESTIC_PASSWORD_FILE. */
  passwordFile: string;
  /**
   * More environment for restic (cloud credentials such as AWS_ACCESS_KEY_ID), never logged.
   * Besides it restic gets only PATH (@default {@link DEFAULT_PATH}) and HOME (@default the
   * user's home), both overridable here, and its RESTIC_* variables.
   */
  env?: Record<string, string>;
  /**
   * Deadline of one restic command; past it the process is killed (SIGTERM, SIGINT before restic
   * 0.17, then SIGKILL `killGraceMs` later).
   */
  timeoutMs: number;
  /** How long a stopped restic may take to remove its lock before SIGKILL. @default 10000 */
  killGraceMs?: number;
  /** restic's cache folder (RESTIC_CACHE_DIR). */
  cacheDir?: string;
  /** Upload limit in KiB/s (`--limit-upload`), for backups over a shared link. @default unlimited */
  uploadLimitKiBps?: number;
}

export type ResticVersion = { text: string; major: number; minor: number; patch: number };
/** Backup progress; `percentDone` is 0 to 1. */
export interface BackupProgress {
  percentDone: number;
  filesDone: number;
  totalFiles: number;
  bytesDone: number;
  totalBytes: number;
  secondsElapsed?: number;
}
export interface BackupSummary {
  /** The full (64-hex) snapshot id, on every version. */
  snapshotId: string;
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  dataAdded: number;
  totalFilesProcessed: number;
  totalBytesProcessed: number;
  totalDurationSeconds: number;
  /** What restic warned about; with exit code 3, the files it could not read. */
  warnings: string[];
}
export interface Snapshot {
  id: string;
  shortId: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
}
/** How many snapshots to keep: the last n, and the newest of each of the last n hours, days… */
export type ForgetPolicy = Partial<Record<keyof typeof POLICY_FLAGS, number>>;
export interface ForgetResult {
  kept: string[];
  removed: string[];
}
/** Restore progress (restic 0.16+); `percentDone` is 0 to 1. */
export interface RestoreProgress {
  percentDone: number;
  filesDone?: number;
  bytesDone?: number;
}

/** PATH for restic (and the ssh or rclone it may start) unless `env.PATH` says otherwise. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const POLICY_FLAGS = {
  keepLast: "--keep-last",
  keepHourly: "--keep-hourly",
  keepDaily: "--keep-daily",
  keepWeekly: "--keep-weekly",
  keepMonthly: "--keep-monthly",
} as const;

const count = z.number().nonnegative().default(0);
const BackupSummaryLine = z.object({
  files_new: count,
  files_changed: count,
  files_unmodified: count,
  data_added: count,
  total_files_processed: count,
  total_bytes_processed: count,
  total_duration: count,
  snapshot_id: z.string().regex(/^[0-9a-f]{8,64}$/),
});
const SnapshotList = z.array(
  z.object({
    id: z.string().regex(/^[0-9a-f]{64}$/),
    time: z.string(),
    hostname: z.string().default(""),
    paths: z.array(z.string()).nullish(),
    tags: z.array(z.string()).nullish(),
  }),
);
const SnapshotRefs = z.array(z.object({ id: z.string() })).nullish();
const ForgetGroups = z.array(z.object({ keep: SnapshotRefs, remove: SnapshotRefs }));

type RunOptions = Pick<ProcessOptions, "signal" | "onLine">;
const atLeast = (v: ResticVersion, minor: number): boolean => v.major > 0 || v.minor >= minor;
const num = (value: unknown): number => (typeof value === "number" ? value : 0);
function assertTags(tags: readonly string[]): void {
  for (const tag of tags) {
    // restic splits a --tag value on commas.
    if (tag === "" || tag.includes(",")) throw new TypeError(`invalid restic tag: ${JSON.stringify(tag)}`);
  }
}

/**
 * Runs restic against one repository and parses what it prints. Each command gets a minimal
 * environment and a deadline; no secret is on a command line or in an error. backup, forget,
 * prune and check clear stale locks once and retry when the repository is locked.
 */
export class Restic {
  private readonly binary: string;
  private readonly env: Record<string, string>;
  private readonly redact: (text: string) => string;
  private versionPromise: Promise<ResticVersion> | undefined;

  constructor(private readonly options: ResticOptions) {
    this.binary = options.binary ?? "restic";
    const extra = options.env ?? {};
    this.redact = redactorFor(options.repository, extra);
    this.env = {
      PATH: DEFAULT_PATH,
      HOME: homedir(),
      ...extra,
      RESTIC_REPOSITORY: options.repository,
      RESTIC_PASSWORD_FILE: options.passwordFile,
      RESTIC_PROGRESS_FPS: "4", // --json status lines a second (restic's default: 60)
      ...(options.cacheDir ? { RESTIC_CACHE_DIR: options.cacheDir } : {}),
    };
  }

  /** restic's version, read once; versions older than 0.14 are refused. */
  version(): Promise<ResticVersion> {
    this.versionPromise ??= this.readVersion().catch((error: unknown) => {
      this.versionPromise = undefined;
      throw error;
    });
    return this.versionPromise;
  }

  /** Creates the repository if it does not exist yet; true when it created it. */
  async init(): Promise<boolean> {
    // Opening it checks the password too: an existing repository with another one fails here.
    const probe = await this.exec("cat", ["--no-lock", "config"]);
    if (!probe.error) return false;
    if (probe.error.kind !== "no_repository") throw probe.error;
    const created = await this.exec("init", []);
    if (!created.error) return true;
    if (created.stderr.some((line) => line.includes("config file already exists"))) return false; // a race
    throw created.error;
  }

  /** Backs up absolute `paths` into a snapshot; exit code 3 (unreadable files) is a success with warnings. */
  async backup(
    paths: string[],
    opts: { tags: string[]; host?: string; onProgress?: (p: BackupProgress) => void; signal?: AbortSignal },
  ): Promise<BackupSummary> {
    if (paths.length === 0 || !paths.every((p) => isAbsolute(p))) {
      throw new TypeError("backup needs one or more absolute paths");
    }
    assertTags(opts.tags);
    const args = ["--json", ...opts.tags.map((tag) => `--tag=${tag}`)];
    if (opts.host) args.push(`--host=${opts.host}`);
    args.push("--", ...paths);

    const { summary, warnings } = await this.withStaleLocksCleared(async () => {
      let summary: unknown;
      const onLine = (line: string): boolean => {
        const m = jsonLine(line);
        if (m?.message_type === "summary") summary = m;
        if (m?.message_type !== "status") return false;
        opts.onProgress?.({
          percentDone: num(m.percent_done),
          filesDone: num(m.files_done),
          totalFiles: num(m.total_files),
          bytesDone: num(m.bytes_done),
          totalBytes: num(m.total_bytes),
          ...(typeof m.seconds_elapsed === "number" ? { secondsElapsed: m.seconds_elapsed } : {}),
        });
        return true;
      };
      const result = await this.exec("backup", args, { signal: opts.signal, onLine });
      if (result.error && result.exitCode !== 3) throw result.error;
      if (!summary) throw new ResticError("failed", "restic backup printed no summary");
      return { summary: parseOutput(BackupSummaryLine, summary, "backup"), warnings: result.stderr };
    });

    let snapshotId = summary.snapshot_id;
    if (snapshotId.length < 64) {
      // 0.14 prints the short id. The snapshot exists either way: a failed look-up only warns.
      const found = await this.listSnapshots([snapshotId]).catch((error: unknown) => {
        warnings.push(`could not resolve snapshot id ${snapshotId}: ${(error as Error).message}`);
        return [];
      });
      snapshotId = found[0]?.id ?? snapshotId;
    }
    return {
      snapshotId,
      filesNew: summary.files_new,
      filesChanged: summary.files_changed,
      filesUnmodified: summary.files_unmodified,
      dataAdded: summary.data_added,
      totalFilesProcessed: summary.total_files_processed,
      totalBytesProcessed: summary.total_bytes_processed,
      totalDurationSeconds: summary.total_duration,
      warnings,
    };
  }

  /** The snapshots carrying all of `tags` (every snapshot without), oldest first. */
  async snapshots(opts: { tags?: string[] } = {}): Promise<Snapshot[]> {
    const tags = opts.tags ?? [];
    assertTags(tags);
    const list = await this.listSnapshots(tags.length > 0 ? [`--tag=${tags.join(",")}`] : []);
    return list.sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || a.time.localeCompare(b.time));
  }

  /**
   * Forgets the snapshots carrying all of `tags` that the policy does not keep, per group of
   * host and paths unless `groupBy` says otherwise. Their data stays until {@link prune}: 0.14
   * mixes prune's text into `forget --prune --json`, so the two run apart.
   */
  async forget(
    policy: ForgetPolicy,
    opts: { tags: string[]; groupBy?: ("host" | "paths" | "tags")[] },
  ): Promise<ForgetResult> {
    const keep = Object.entries(POLICY_FLAGS).flatMap(([key, flag]) => {
      const n = policy[key as keyof ForgetPolicy] ?? 0;
      if (!Number.isInteger(n) || n < 0) throw new TypeError(`${key} must be a non-negative integer`);
      return n > 0 ? [`${flag}=${n}`] : [];
    });
    // With no policy 0.14 keeps everything and 0.16+ refuses; with no tags the policy would
    // reach every backup set in the repository.
    if (keep.length === 0) throw new TypeError("forget needs a keep* count above 0");
    if (opts.tags.length === 0) throw new TypeError("forget needs tags to select snapshots");
    assertTags(opts.tags);
    const args = ["--json", `--tag=${opts.tags.join(",")}`, ...keep];
    if (opts.groupBy) args.push(`--group-by=${opts.groupBy.join(",")}`);

    const { stdout } = await this.withStaleLocksCleared(() => this.run("forget", args));
    const json = stdout.split("\n").findLast((line) => line.startsWith("[")); // none when nothing matched
    const groups = json ? parseJsonOutput(ForgetGroups, json, "forget") : [];
    return {
      kept: groups.flatMap((g) => (g.keep ?? []).map((s) => s.id)),
      removed: groups.flatMap((g) => (g.remove ?? []).map((s) => s.id)),
    };
  }

  /** Removes the data no snapshot references any more. */
  async prune(): Promise<void> {
    await this.withStaleLocksCleared(() => this.run("prune", []));
  }

  /**
   * Checks the repository, reading back `readDataSubset` of its data ("5%", "1/10", "500M"). A
   * damaged repository is `ok: false` with restic's findings; failing to check at all throws.
   */
  async check(opts: { readDataSubset?: string } = {}): Promise<{ ok: boolean; errors: string[] }> {
    // One argument: a value restic does not accept is its error, never another flag.
    const args = opts.readDataSubset === undefined ? [] : [`--read-data-subset=${opts.readDataSubset}`];
    if (atLeast(await this.version(), 18)) args.unshift("--json");
    return this.withStaleLocksCleared(async () => {
      const result = await this.exec("check", args);
      if (!result.error) return { ok: true, errors: [] };
      const errors = repositoryDamage(result.stderr);
      if (!errors) throw result.error;
      return { ok: false, errors };
    });
  }

  /** Removes stale locks only (older than 30 minutes, or of a process gone from this host): restic's own rule. */
  async unlock(): Promise<void> {
    await this.run("unlock", []);
  }

  /** Restores a snapshot (an id, or "latest") into `target`. Progress needs restic 0.16+. */
  async restore(
    snapshotId: string,
    target: string,
    opts: { include?: string[]; onProgress?: (p: RestoreProgress) => void; signal?: AbortSignal } = {},
  ): Promise<void> {
    if (!/^(latest|[0-9a-f]{8,64})$/.test(snapshotId)) {
      throw new TypeError(`invalid snapshot id: ${JSON.stringify(snapshotId)}`);
    }
    if (target === "") throw new TypeError("restore needs a target folder");
    const json = atLeast(await this.version(), 16);
    const args = [...(json ? ["--json"] : []), `--target=${target}`];
    for (const pattern of opts.include ?? []) args.push(`--include=${pattern}`);
    args.push(snapshotId);
    const onLine = (line: string): boolean => {
      const m = jsonLine(line);
      if (m?.message_type !== "status") return false;
      opts.onProgress?.({
        percentDone: num(m.percent_done),
        filesDone: num(m.files_restored),
        bytesDone: num(m.bytes_restored),
      });
      return true;
    };
    await this.run("restore", args, { signal: opts.signal, ...(json ? { onLine } : {}) });
  }

  private async listSnapshots(args: string[]): Promise<Snapshot[]> {
    // Without a lock: listing is safe beside a running prune, whose exclusive lock would block it.
    const { stdout } = await this.run("snapshots", ["--json", "--no-lock", ...args]);
    const list = parseJsonOutput(SnapshotList, stdout || "[]", "snapshots");
    return list.map((s) => ({
      id: s.id,
      shortId: s.id.slice(0, 8), // `short_id` is deprecated in 0.18; it was always the first 8 hex digits
      time: s.time,
      hostname: s.hostname,
      paths: s.paths ?? [],
      tags: s.tags ?? [],
    }));
  }

  private withStaleLocksCleared<T>(attempt: () => Promise<T>): Promise<T> {
    return retryingStaleLocks(attempt, () => this.unlock());
  }

  private async readVersion(): Promise<ResticVersion> {
    const text = (await this.run("version", [])).stdout.trim();
    const match = /^restic (\d+)\.(\d+)\.(\d+)/m.exec(text);
    if (!match) throw new ResticError("failed", `unrecognised restic version: ${text.slice(0, 100)}`);
    const [major, minor, patch] = match.slice(1, 4).map(Number) as [number, number, number];
    const version = { text, major, minor, patch };
    if (atLeast(version, 14)) return version;
    throw new ResticError("failed", `restic ${match[0].slice(7)} is older than 0.14, the oldest supported`);
  }

  /** Runs a command and throws its {@link ResticError} unless it succeeded. */
  private async run(command: string, args: string[], opts: RunOptions = {}): Promise<ProcessResult> {
    const result = await this.exec(command, args, opts);
    if (result.error) throw result.error;
    return result;
  }

  /** Runs a command; a failure is returned, not thrown. */
  private async exec(command: string, args: string[], opts: RunOptions = {}): Promise<ProcessResult> {
    // `version` runs before the version is known; it stores nothing to clean up.
    const version = command === "version" ? undefined : await this.version();
    const limit = this.options.uploadLimitKiBps;
    const globals = limit !== undefined && version ? [`--limit-upload=${limit}`] : [];
    return runProcess(this.binary, command, [...globals, ...args], {
      env: this.env,
      timeoutMs: this.options.timeoutMs,
      // Before 0.17 restic dies on SIGTERM leaving its lock behind; SIGINT is its clean stop.
      killSignal: version && !atLeast(version, 17) ? "SIGINT" : "SIGTERM",
      killGraceMs: this.options.killGraceMs ?? 10_000,
      redact: this.redact,
      ...opts,
    });
  }
}
