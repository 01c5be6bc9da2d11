import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { Config } from "../config/schema.js";
import { writeSecretFile } from "../http/tokens.js";
import { StartupError } from "../platform/errors.js";

/** The backup settings with every default filled in from the data folder. */
export interface BackupSettings {
  repository: string;
  /** Whether the repository is a folder on this machine (not a remote backend). */
  local: boolean;
  passwordFile: string;
  /** restic's environment beyond the repository and password: credentials, from `environmentFile`. */
  env: Record<string, string>;
  instance: string;
  cacheDir: string;
}

/** A restic backend other than a local folder: `s3:…`, `sftp:…`, `rest:…`, `b2:…`, `rclone:…`. */
const REMOTE = /^(?!local:)[a-z][a-z0-9]*:/i;

/**
 * The variables restic's backends read their credentials from (s3, b2, azure, gs, swift, rclone,
 * rest). They are handed on from opsguard's own environment — a container's secrets — and nothing
 * else of it is.
 */
const BACKEND_ENV = /^(AWS_|B2_|AZURE_|GOOGLE_|OS_|ST_|RCLONE_|RESTIC_REST_)/;

/**
 * Resolves `backup.*` against the data folder: a local repository beside it (`<dataDir>-backups`)
 * and a password file in it by default; relative repository paths are under the data folder's
 * parent. restic's environment gets the backend credentials of `env` (opsguard's environment) and
 * then of `environmentFile` (KEY=value lines); neither is ever logged.
 */
export function backupSettings(config: Config, env: NodeJS.ProcessEnv = {}): BackupSettings {
  const dataDir = resolve(config.dataDir);
  const { backup } = config;
  const raw = backup.repository ?? join(dirname(dataDir), `${basename(dataDir)}-backups`);
  const local = !REMOTE.test(raw);
  const path = raw.replace(/^local:/, "");
  const repository = local ? resolve(dirname(dataDir), path) : raw;
  return {
    repository,
    local,
    passwordFile: resolve(dataDir, backup.passwordFile ?? "backup-password"),
    env: {
      ...Object.fromEntries(
        Object.entries(env).filter(
          (entry): entry is [string, string] => BACKEND_ENV.test(entry[0]) && entry[1] !== undefined,
        ),
      ),
      ...(backup.environmentFile ? readEnvironmentFile(backup.environmentFile) : {}),
    },
    instance: backup.instance ?? hostname().replace(/[^\w.-]/g, "-"),
    cacheDir: join(dataDir, "restic-cache"),
  };
}

/**
 * Creates the password file of a local repository that does not exist yet: 32 random bytes,
 * mode 0600. Without this file the backups cannot be read: keep a copy away from the data folder.
 * A repository that exists without its password file is an error, never a new password: that
 * file is what the backups need (after the loss of the data folder, put back the kept copy).
 * Returns whether it created one.
 */
export function ensurePasswordFile(settings: BackupSettings): boolean {
  if (existsSync(settings.passwordFile) || !settings.local) return false;
  if (existsSync(join(settings.repository, "config"))) {
    throw new StartupError(
      `backup.passwordFile ${settings.passwordFile} is missing, but the repository ${settings.repository} exists: put back the copy of its password file (or name it with backup.passwordFile)`,
    );
  }
  writeSecretFile(settings.passwordFile, `${randomBytes(32).toString("base64url")}\n`);
  return true;
}

/** Reads `KEY=value` lines; blank lines and `#` comments are skipped, quotes around values removed. */
export function readEnvironmentFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  readFileSync(path, "utf8")
    .split(/\r?\n/)
    .forEach((line, index) => {
      const text = line.trim();
      if (text === "" || text.startsWith("#")) return;
      const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(text);
      if (!match) throw new Error(`${path}:${index + 1}: not a KEY=value line`);
      env[match[1]!] = match[2]!.replace(/^(["'])(.*)\1$/, "$2");
    });
  return env;
}
