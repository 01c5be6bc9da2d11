import { closeSync, existsSync, fsyncSync, openSync, readdirSync, statSync } from "node:fs";
import { getPriority } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  AuditLog,
  type AuditCheckpoint,
  type AuditIncrementalVerification,
  type AuditVerification,
} from "../platform/audit.js";
import { SYSTEM_CLOCK } from "../platform/clock.js";
import { findWorldWritable, fingerprintFiles, sha256File } from "../security/fingerprint.js";
import { compareWithBaseline, inspectBaseline } from "../security/integrity.js";
import { inspectDependencies } from "../security/dependencies.js";
import { loadPerformance } from "../reports/performance/load.js";
import { runLogReport } from "../reports/logs/service.js";
import { renderReport } from "../reports/render-task.js";
import { loadSystemSamples } from "../reports/system/load.js";
import { databaseFacts, type DatabaseFacts, type ManifestFile } from "./manifest.js";

// The checks of a database copy that read all of it. They block for as long as the file is large
// (integrity_check: seconds per 100 MB), so they run in a worker thread (off-thread.ts), never on
// the service's event loop; so do the security checks that read many files (TASKS, at the end).

/** What a staged copy was found to be, ready for the manifest. */
export interface PreparedCopy {
  quickCheck: string;
  facts: DatabaseFacts;
}

/**
 * Readies the staged copy of the database for a snapshot: a rollback journal instead of WAL (so no
 * `-wal` and `-shm` files go into the snapshot), the run that takes it recorded as succeeded in
 * the copy (a restore of the snapshot would otherwise find it still "running", then "failed"),
 * then `PRAGMA quick_check` and the facts the manifest records.
 */
export function prepareCopy(path: string, runId: string, finishedAt: number): PreparedCopy {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma("journal_mode = DELETE");
    db.prepare(
      "UPDATE maintenance_runs SET status = 'succeeded', finished_at = ?, reason = NULL WHERE id = ? AND status = 'running'",
    ).run(finishedAt, runId);
  } finally {
    db.close();
  }
  return { quickCheck: quickCheckOf(path), facts: databaseFacts(path) };
}

/** What a restored database was found to be. */
export interface RestoredCheck {
  integrity: string;
  chain: AuditVerification;
  facts: DatabaseFacts;
}

/** `PRAGMA integrity_check`, the audit hash chain from end to end, and the facts; read-only. */
export function checkRestored(path: string): RestoredCheck {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.defaultSafeIntegers(true);
  try {
    const integrity = (db.pragma("integrity_check") as { integrity_check: string }[])
      .map((row) => row.integrity_check)
      .join("; ");
    const chain = new AuditLog(db, SYSTEM_CLOCK).verify();
    return { integrity, chain, facts: databaseFacts(path) };
  } finally {
    db.close();
  }
}

function quickCheckOf(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma("quick_check") as { quick_check: string }[]).map((r) => r.quick_check).join("; ");
  } finally {
    db.close();
  }
}

/** Pages the copy moves per step (4 MiB of 4 KiB pages). */
const COPY_STEP_PAGES = 1024;

/**
 * Copies the database at `source` to `destination` with SQLite's online backup API, through a
 * read-only connection of its own that holds one read transaction for the whole copy: every step
 * reads the same snapshot, the committed state at its start, so the service's writes meanwhile
 * neither block the copy nor make it start over (they would, were each step a transaction of its
 * own). It costs less CPU than `VACUUM INTO` and keeps the pages where they are, which restic's
 * deduplication rewards (a later backup adds tens of megabytes, not hundreds). At full speed: a
 * copy that rested between its steps held its read transaction twice as long, the WAL could not be
 * checkpointed meanwhile, and the submits lost more than the copy's CPU gave back (69% of their
 * throughput during a backup against 83% at full speed, phase 7). Then readies the copy as
 * {@link prepareCopy} does and syncs it to disk, here rather than on the event loop.
 */
export async function copyDatabase(
  source: string,
  destination: string,
  runId: string,
  finishedAt: number,
): Promise<PreparedCopy> {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    db.exec("BEGIN");
    db.prepare("SELECT COUNT(*) FROM sqlite_schema").get(); // the snapshot is taken here
    await db.backup(destination, { progress: () => COPY_STEP_PAGES });
    db.exec("COMMIT");
  } finally {
    db.close();
  }
  const prepared = prepareCopy(destination, runId, finishedAt);
  // On disk before restic reads it: here, as syncing hundreds of megabytes takes a while.
  const fd = openSync(destination, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return prepared;
}

/** Every regular file under each of `roots` (or the root itself), with its absolute path, size and sha256. */
export function describeTrees(roots: string[]): ManifestFile[] {
  const files: ManifestFile[] = [];
  const walk = (path: string): void => {
    const info = statSync(path);
    if (info.isDirectory()) {
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else if (info.isFile()) {
      files.push({ path, bytes: info.size, sha256: sha256File(path) });
    }
  };
  for (const root of roots) walk(root);
  return files;
}

/** The sha256 of each file, or null for one that does not exist. */
export function sha256Files(paths: string[]): (string | null)[] {
  return paths.map((path) => (existsSync(path) ? sha256File(path) : null));
}

/**
 * Verifies the audit log's hash chain in the database at `path` from `checkpoint` on (read-only,
 * its own connection): see {@link AuditLog.verifyFrom}.
 */
export function verifyAuditChain(
  path: string,
  checkpoint: AuditCheckpoint | undefined,
): AuditIncrementalVerification {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.defaultSafeIntegers(true);
  try {
    return new AuditLog(db, SYSTEM_CLOCK).verifyFrom(checkpoint);
  } finally {
    db.close();
  }
}

/** What the database checks of the security checker found (OG-DB-001, OG-DB-002). */
export interface DatabaseCheck {
  /** `ok`, or the problems SQLite lists. */
  result: string;
  /** Rows of `foreign_key_check` (thorough only), as `table rowid → parent`. */
  foreignKeys: string[];
  /** Set when the file could not be read as a database at all; the SQLite code, e.g. SQLITE_NOTADB. */
  failure?: { code: string; message: string };
}

/**
 * `PRAGMA quick_check`, or with `thorough` `PRAGMA integrity_check` and `foreign_key_check`, on a
 * read-only connection of its own. A file SQLite cannot read is reported, not thrown: garbage in
 * a page is a finding.
 */
export function checkDatabase(path: string, thorough: boolean): DatabaseCheck {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const pragma = thorough ? "integrity_check" : "quick_check";
    const result = (db.pragma(pragma) as Record<string, string>[]).map((row) => row[pragma]).join("; ");
    const foreignKeys = thorough
      ? (db.pragma("foreign_key_check") as { table: string; rowid: number; parent: string }[]).map(
          (row) => `${row.table} rowid ${row.rowid} → ${row.parent}`,
        )
      : [];
    return { result, foreignKeys };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (typeof code === "string" && code.startsWith("SQLITE_"))
      return {
        result: (error as Error).message,
        foreignKeys: [],
        failure: { code, message: (error as Error).message },
      };
    throw error;
  } finally {
    db?.close();
  }
}

/** The nice value of the worker thread that runs it (on Linux, the thread's own). */
export function threadNice(): number {
  return getPriority(0);
}

/** The tasks a worker runs, by name. */
export const TASKS = {
  copyDatabase,
  checkRestored,
  checkDatabase,
  describeTrees,
  sha256Files,
  verifyAuditChain,
  fingerprintFiles,
  findWorldWritable,
  inspectBaseline,
  compareWithBaseline,
  inspectDependencies,
  threadNice,
  loadPerformance,
  loadSystemSamples,
  logReport: runLogReport,
  renderReport,
} as const;
export type TaskName = keyof typeof TASKS;
