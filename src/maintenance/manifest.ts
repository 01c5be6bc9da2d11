import Database from "better-sqlite3";
import { VERSION } from "../platform/version.js";

/** The tables whose row counts a manifest records and a drill compares. */
export const COUNTED_TABLES = [
  "operations",
  "audit_log",
  "api_tokens",
  "paper_orders",
  "risk_state",
  "strategy_state",
] as const;

/** One file of a snapshot: its absolute path as backed up (restored under a target folder), size and sha256. */
export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** What the database held when it was copied: enough to tell a sound restore from a wrong one. */
export interface DatabaseFacts {
  schemaVersion: number;
  rows: Record<string, number>;
  operations: { pending: number; open: number; closed: number; failed: number };
  /** SUM(pnl) of closed operations, in the account's money units (an integer, as text). */
  realizedPnlUnits: string;
  /** SUM(notional) of pending and open operations, in money units (as text). */
  openNotionalUnits: string;
  /** The last audit entry: the head of the hash chain. */
  auditHead: { seq: number; hash: string } | null;
}

/** Written into every snapshot as `manifest.json`, and read back by a drill. */
export interface Manifest {
  format: 1;
  createdAt: string;
  opsguardVersion: string;
  instance: string;
  /** The database copy's absolute path as backed up; the manifest sits beside it. */
  database: string;
  facts: DatabaseFacts;
  files: ManifestFile[];
}

/** Reads the facts of the database file at `path`, read-only. */
export function databaseFacts(path: string): DatabaseFacts {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.defaultSafeIntegers(true);
  try {
    const count = (sql: string): number => Number(db.prepare(sql).pluck().get());
    const rows = Object.fromEntries(COUNTED_TABLES.map((t) => [t, count(`SELECT COUNT(*) FROM ${t}`)]));
    const byStatus = (status: string): number =>
      Number(db.prepare("SELECT COUNT(*) FROM operations WHERE status = ?").pluck().get(status));
    const sum = (sql: string): string => String((db.prepare(sql).pluck().get() as bigint | null) ?? 0n);
    const head = db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").get() as
      { seq: bigint; hash: string } | undefined;
    return {
      schemaVersion: Number(db.pragma("user_version", { simple: true })),
      rows,
      operations: {
        pending: byStatus("pending"),
        open: byStatus("open"),
        closed: byStatus("closed"),
        failed: byStatus("failed"),
      },
      realizedPnlUnits: sum("SELECT SUM(pnl) FROM operations WHERE status = 'closed'"),
      openNotionalUnits: sum("SELECT SUM(notional) FROM operations WHERE status IN ('pending', 'open')"),
      auditHead: head ? { seq: Number(head.seq), hash: head.hash } : null,
    };
  } finally {
    db.close();
  }
}

/** A manifest for a snapshot of `files`, with the facts of its database copy. */
export function buildManifest(input: {
  createdAt: Date;
  instance: string;
  database: string;
  facts: DatabaseFacts;
  files: ManifestFile[];
}): Manifest {
  return {
    format: 1,
    createdAt: input.createdAt.toISOString(),
    opsguardVersion: VERSION,
    instance: input.instance,
    database: input.database,
    facts: input.facts,
    files: input.files,
  };
}
