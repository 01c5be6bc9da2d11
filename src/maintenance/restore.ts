import { closeSync, existsSync, fsyncSync, openSync, readdirSync } from "node:fs";
import { chmod, link, mkdir, readdir, rename, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { Logger } from "../platform/logger.js";
import { StartupError } from "../platform/errors.js";
import type { Progress } from "./backups.js";
import type { BackupRepository, Snapshot } from "./repository.js";
import { PidLock } from "./pid-lock.js";
import { STAGED } from "./stage.js";
import { readRestoredManifest, stagingPathOf, verifyRestored } from "./verify.js";

/** What a restore needs. */
export interface RestoreOptions {
  restic: BackupRepository;
  /** This instance's snapshots, oldest first. */
  snapshots: () => Promise<Snapshot[]>;
  dataDir: string;
  logger: Logger;
  /** A snapshot id (long or short), of any instance; the latest of this instance when absent. */
  snapshot?: string;
  /** A folder to restore into; the data folder itself (in place) when absent. */
  to?: string;
  onProgress?: (p: Progress) => void;
}

/** Where the restored files went. */
export interface RestoreResult {
  snapshot: Snapshot;
  database: string;
  /** The restored config file, if the snapshot had one. */
  config?: string;
  /** Where the files a restore in place replaced were kept. */
  replaced?: string;
  /** Where the other backed-up paths were restored (under their original absolute paths). */
  files?: string;
}

/**
 * Restores a snapshot. Every file is first restored into a scratch folder and checked against the
 * snapshot's manifest (sha256, integrity_check, audit chain, row counts); only a sound restore is
 * moved into place.
 *
 * `to`: the database, config and manifest land in that folder (`opsguard.db`, `opsguard.yaml`),
 * the other backed-up paths under `<to>/files/<their absolute path>`; start opsguard on it with
 * `OPSGUARD_DATA_DIR=<to>`. In place: refused while a service runs on the data folder; the
 * database files it replaces are moved to `<dataDir>/replaced-<time>/`, and the next start
 * recovers from the restored state as after a crash (unknown outcomes are asked about).
 */
export async function restoreSnapshot(options: RestoreOptions): Promise<RestoreResult> {
  const { restic, logger, onProgress } = options;
  const dataDir = resolve(options.dataDir);
  const target = options.to === undefined ? dataDir : resolve(options.to);
  // --to the data folder itself is a restore in place, with all of its care.
  const inPlace = target === dataDir;
  if (!inPlace) refuseOccupied(target);
  await mkdir(target, { recursive: true, mode: 0o700 });
  // For the whole restore: no service may start on the folder, and no backup or drill may run.
  const locks = inPlace
    ? [
        holdLock(join(dataDir, "opsguard.pid"), "opsguard is running on"),
        holdLock(join(dataDir, "backup.lock"), "a backup, drill or check is running on"),
      ]
    : [];
  try {
    return await restoreInto(options, restic, logger, target, dataDir, inPlace, onProgress);
  } finally {
    for (const lock of locks) lock.release();
  }
}

async function restoreInto(
  options: RestoreOptions,
  restic: BackupRepository,
  logger: Logger,
  target: string,
  dataDir: string,
  inPlace: boolean,
  onProgress: RestoreOptions["onProgress"],
): Promise<RestoreResult> {
  const snapshot = await findSnapshot(options, restic);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const scratch = join(target, `.restore-${stamp}`);
  logger.info(`restoring snapshot ${snapshot.shortId}`, {
    event: "backup.restore_started",
    snapshotId: snapshot.shortId,
    target,
  });
  try {
    onProgress?.({ step: `restoring ${snapshot.shortId}` });
    await restic.restore(snapshot.id, scratch, {
      onProgress: (p) => onProgress?.({ step: `restoring ${snapshot.shortId}`, ratio: p.percentDone }),
    });
    onProgress?.({ step: "verifying" });
    const stagingPath = snapshot.paths.find((p) => p.endsWith("backup-staging")) ?? snapshot.paths[0]!;
    const manifest = await readRestoredManifest(scratch, stagingPath);
    const verification = await verifyRestored(scratch, manifest);
    if (!verification.ok) {
      throw new StartupError(
        `snapshot ${snapshot.shortId} does not match its manifest: ${verification.problems.join("; ")}`,
      );
    }
    const staged = join(scratch, stagingPathOf(manifest));
    const restoredDb = join(staged, STAGED.database);
    await chmod(restoredDb, 0o600);
    const result: RestoreResult = { snapshot, database: join(target, STAGED.database) };
    // Everything but the database itself goes aside first (in place: with what it replaces).
    const aside = inPlace ? join(dataDir, `replaced-${stamp}`) : target;
    if (inPlace) {
      result.replaced = aside;
      await mkdir(aside, { mode: 0o700 });
    }
    if (existsSync(join(staged, STAGED.config))) {
      // In place, the running config stays where it is: the restored one is kept beside it.
      result.config = join(aside, inPlace ? "restored-opsguard.yaml" : STAGED.config);
      await rename(join(staged, STAGED.config), result.config);
    }
    await rename(join(staged, STAGED.manifest), join(aside, STAGED.manifest));
    if (inPlace) await swapDatabase(dataDir, aside, restoredDb);
    else await rename(restoredDb, result.database);
    await rm(staged, { recursive: true, force: true });
    if (await holdsFiles(scratch)) {
      result.files = join(aside, "files");
      await rename(scratch, result.files);
    }
    logger.info(`restored snapshot ${snapshot.shortId}`, {
      event: "backup.restore_finished",
      snapshotId: snapshot.shortId,
      target,
      operations: manifest.facts.rows.operations,
      ...(verification.warnings.length > 0 ? { warnings: verification.warnings.slice(0, 10) } : {}),
    });
    return result;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Puts the restored database in place of the data folder's: the old `-wal` and `-shm` are moved
 * aside first (SQLite would replay the old log onto the new file), the old database is kept aside
 * by a hard link, and the restored one is renamed over it in one step, so the folder never lacks
 * a database. The folder is fsynced, so the swap survives a power loss.
 */
async function swapDatabase(dataDir: string, aside: string, restored: string): Promise<void> {
  const live = join(dataDir, STAGED.database);
  for (const suffix of ["-wal", "-shm"]) {
    if (existsSync(live + suffix)) await rename(live + suffix, join(aside, STAGED.database + suffix));
  }
  if (existsSync(live)) await link(live, join(aside, STAGED.database));
  await rename(restored, live);
  const dir = openSync(dataDir, "r");
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** A folder to restore beside must not hold a database (or a restore) already: none is overwritten. */
function refuseOccupied(target: string): void {
  if (!existsSync(target)) return;
  const taken = readdirSync(target).filter(
    (name) => name.startsWith(STAGED.database) || name === "files" || name === "opsguard.pid",
  );
  if (taken.length > 0) {
    throw new StartupError(
      `${target} already holds ${taken.join(", ")}: restore into a new or empty folder, or in place (without --to)`,
    );
  }
}

function holdLock(path: string, what: string): PidLock {
  const lock = new PidLock(path);
  if (!lock.acquire()) {
    throw new StartupError(
      `${what} ${dirname(path)} (pid ${lock.liveHolder() ?? "?"}): stop it before restoring in place, or restore beside it with --to DIR`,
    );
  }
  return lock;
}

/**
 * The snapshot to restore. An explicit id — 8 hex characters at least, matching one snapshot only —
 * is looked for among every instance's snapshots (a new machine restoring a lost one has another
 * host name); the default is this instance's latest.
 */
async function findSnapshot(options: RestoreOptions, restic: BackupRepository): Promise<Snapshot> {
  const wanted = options.snapshot;
  if (wanted === undefined) {
    const latest = (await options.snapshots()).at(-1);
    if (!latest) {
      throw new StartupError(
        "the repository has no snapshot of this instance: name one (opsguard backup list --all shows them), or set backup.instance to the instance that made them",
      );
    }
    return latest;
  }
  if (!/^[0-9a-f]{8,64}$/.test(wanted))
    throw new StartupError(`${wanted} is not a snapshot id: 8 to 64 hex characters`);
  const matches = (await restic.snapshots()).filter((s) => s.id.startsWith(wanted));
  if (matches.length === 0) throw new StartupError(`no snapshot ${wanted} in the repository`);
  if (matches.length > 1)
    throw new StartupError(`${wanted} names ${matches.length} snapshots: give more of its id`);
  return matches[0]!;
}

/** Whether `dir` holds any file, at any depth (the staging folder's empty parents do not count). */
async function holdsFiles(dir: string): Promise<boolean> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || (await holdsFiles(join(dir, entry.name)))) return true;
  }
  return false;
}
