import type { Config } from "../config/schema.js";
import type { Logger } from "../platform/logger.js";
import type { BackupRepository } from "./repository.js";
import { Restic } from "./restic.js";
import { backupSettings, ensurePasswordFile, type BackupSettings } from "./settings.js";

/** The repository backups go to, and the settings it was made from (absent when they are broken). */
export interface BackupSetup {
  repository: BackupRepository;
  settings: BackupSettings | undefined;
}

/**
 * Builds the restic repository of `backup.*`, creating the password of a new local repository.
 * Settings that cannot be used (an unreadable `environmentFile`, a repository that exists without
 * its password file) never stop the service: they are logged once, and every backup, drill and
 * check fails with that reason until they are fixed (alerts OpsguardBackupFailing and
 * OpsguardBackupTooOld say so).
 */
export function createBackupRepository(config: Config, env: NodeJS.ProcessEnv, logger: Logger): BackupSetup {
  let settings: BackupSettings | undefined;
  try {
    settings = backupSettings(config, env);
    ensurePasswordFile(settings);
    const repository = new Restic({
      binary: config.backup.resticBinary,
      repository: settings.repository,
      passwordFile: settings.passwordFile,
      env: settings.env,
      timeoutMs: config.backup.timeoutMs,
      cacheDir: settings.cacheDir,
    });
    return { repository, settings };
  } catch (error) {
    const reason = (error as Error).message;
    logger.error(`backups cannot run: ${reason}`, { event: "backup.misconfigured", reason });
    return { repository: failing(reason), settings };
  }
}

/** A repository whose every call fails with `reason`. */
function failing(reason: string): BackupRepository {
  return new Proxy({} as BackupRepository, {
    get: (_target, name) => (name === "then" ? undefined : () => Promise.reject(new Error(reason))),
  });
}
