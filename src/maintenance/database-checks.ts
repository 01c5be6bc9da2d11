import Database from "better-sqlite3";
import { AuditLog, type AuditVerification } from "../platform/audit.js";
import { SYSTEM_CLOCK } from "../platform/clock.js";
import { databaseFacts, type DatabaseFacts } from "./manifest.js";

// The checks of a database copy that read all of it. They block for as long as the file is large
// (integrity_check: seconds per 100 MB), so they run in a worker thread (off-thread.ts), never on
// the service's event loop.

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

/** The tasks a worker runs, by name. */
export const TASKS = { prepareCopy, checkRestored } as const;
export type TaskName = keyof typeof TASKS;
