import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
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
  const { restic, dataDir, logger, onProgress } = options;
  const inPlace = options.to === undefined;
  const serving = new PidLock(join(dataDir, "opsguard.pid"));
  if (inPlace && serving.liveHolder() !== undefined) {
    throw new StartupError(
      `opsguard is running on ${dataDir} (pid ${serving.liveHolder()}): stop it before restoring in place, or restore beside it with --to DIR`,
    );
  }
  // An explicit id is looked for among every instance's snapshots (a new machine restoring a lost
  // one has another host name); the default is this instance's latest.
  const wanted = options.snapshot;
  const snapshot = wanted
    ? (await restic.snapshots()).find(
        (s) => s.id === wanted || s.shortId === wanted || s.id.startsWith(wanted),
      )
    : (await options.snapshots()).at(-1);
  if (!snapshot) {
    throw new StartupError(
      wanted
        ? `no snapshot ${wanted} in the repository`
        : "the repository has no snapshot of this instance: name one (opsguard backup list --all shows them), or set backup.instance to the instance that made them",
    );
  }
  const target = options.to ?? dataDir;
  await mkdir(target, { recursive: true, mode: 0o700 });
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
    const result: RestoreResult = { snapshot, database: join(target, STAGED.database) };
    if (inPlace) {
      result.replaced = join(dataDir, `replaced-${stamp}`);
      await mkdir(result.replaced, { mode: 0o700 });
      for (const suffix of ["", "-wal", "-shm"]) {
        const file = join(dataDir, `${STAGED.database}${suffix}`);
        if (existsSync(file)) await rename(file, join(result.replaced, `${STAGED.database}${suffix}`));
      }
    }
    await chmod(join(staged, STAGED.database), 0o600);
    await rename(join(staged, STAGED.database), result.database);
    if (existsSync(join(staged, STAGED.config))) {
      // In place, the running config stays where it is: the restored one is kept beside it.
      result.config = inPlace
        ? join(result.replaced!, "restored-opsguard.yaml")
        : join(target, STAGED.config);
      await rename(join(staged, STAGED.config), result.config);
    }
    await rename(join(staged, STAGED.manifest), join(inPlace ? result.replaced! : target, STAGED.manifest));
    await rm(staged, { recursive: true, force: true });
    if (await holdsFiles(scratch)) {
      result.files = join(inPlace ? result.replaced! : target, "files");
      await rename(scratch, result.files);
    }
    logger.info(`restored snapshot ${snapshot.shortId}`, {
      event: "backup.restore_finished",
      snapshotId: snapshot.shortId,
      target,
      operations: manifest.facts.rows.operations,
    });
    return result;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Whether `dir` holds any file, at any depth (the staging folder's empty parents do not count). */
async function holdsFiles(dir: string): Promise<boolean> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || (await holdsFiles(join(dir, entry.name)))) return true;
  }
  return false;
}
