import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS } from "./migrations.js";
import { describeStorageError, StorageError, unwritableDatabaseFiles } from "./storage.js";

export type Db = Database.Database;

export interface OpenDatabaseOptions {
  /** File path, or `:memory:` for tests. */
  path: string;
  /**
   * Whether commits on this connection move the WAL into the database when it passes 1,000 pages
   * (SQLite's default). The service turns it off and checkpoints on a thread of its own
   * (`wal-checkpoint.ts`). @default true
   */
  autoCheckpoint?: boolean;
}

/**
 * Opens (creating with mode 0600 if needed) the SQLite database and brings its schema up to date.
 *
 * WAL with `synchronous = NORMAL`: a committed transaction survives a crash of the process
 * (kill -9), which is the failure that matters for a service; only a power loss can lose the
 * last commits, and `FULL` would cost about five times the write throughput to close that.
 * Integers come back as `bigint`, so scaled money never loses a digit on the way out.
 */
export function openDatabase({ path, autoCheckpoint = true }: OpenDatabaseOptions): Db {
  if (path === ":memory:") return configure(new Database(path), autoCheckpoint);
  let file = dirname(path);
  try {
    mkdirSync(file, { recursive: true, mode: 0o700 });
    const unwritable = unwritableDatabaseFiles(path);
    if (unwritable.length > 0) throw new StorageError(unwritable.join("; "));
    file = path;
    // SQLite gives its -wal and -shm files the mode of the main file, so set it tight up front.
    closeSync(openSync(path, "a", 0o600));
    return configure(new Database(path), autoCheckpoint);
  } catch (error) {
    if (error instanceof StorageError) throw error;
    throw new StorageError(describeStorageError(error, file), { cause: error });
  }
}

function configure(db: Db, autoCheckpoint: boolean): Db {
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    if (!autoCheckpoint) db.pragma("wal_autocheckpoint = 0");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    db.defaultSafeIntegers(true);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Applies every migration not yet applied, each in its own transaction. */
export function migrate(db: Db): void {
  const current = Number(db.pragma("user_version", { simple: true }));
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this opsguard (${MIGRATIONS.length})`);
  }
  MIGRATIONS.slice(current).forEach((migration, index) => {
    db.transaction(() => {
      if (typeof migration === "string") db.exec(migration);
      else migration(db);
      db.pragma(`user_version = ${current + index + 1}`);
    })();
  });
}

/**
 * Runs `PRAGMA quick_check` on a database file without changing it (read-only, no migrations)
 * and returns what SQLite reports: `"ok"` for a sound file. Throws when the file is not a
 * database, or its schema is newer than this opsguard.
 */
export function quickCheck(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const version = Number(db.pragma("user_version", { simple: true }));
    if (version > MIGRATIONS.length) {
      throw new Error(
        `database schema version ${version} is newer than this opsguard (${MIGRATIONS.length})`,
      );
    }
    const rows = db.pragma("quick_check") as { quick_check: string }[];
    return rows.map((row) => row.quick_check).join("; ");
  } finally {
    db.close();
  }
}

/** The id and instrument of every pending or open operation in the database file at `path`, read-only. */
export function liveOperations(path: string): { id: string; instrument: string }[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT id, instrument FROM operations WHERE status IN ('pending', 'open')").all() as {
      id: string;
      instrument: string;
    }[];
  } finally {
    db.close();
  }
}
