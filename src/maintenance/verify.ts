import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { isDeepStrictEqual } from "node:util";
import { AuditLog } from "../platform/audit.js";
import { SYSTEM_CLOCK } from "../platform/clock.js";
import { databaseFacts, sha256File, type Manifest } from "./manifest.js";
import { STAGED } from "./stage.js";

/** What a restored snapshot was checked for, and every problem found. */
export interface Verification {
  ok: boolean;
  problems: string[];
  filesChecked: number;
  auditEntries: number;
}

/** Where the manifest of a snapshot restored under `target` is, given the snapshot's paths. */
export function restoredManifestPath(target: string, stagingPath: string): string {
  return join(target, stagingPath, STAGED.manifest);
}

/** Reads the manifest of a snapshot restored under `target`. */
export async function readRestoredManifest(target: string, stagingPath: string): Promise<Manifest> {
  const path = restoredManifestPath(target, stagingPath);
  if (!existsSync(path))
    throw new Error(`the snapshot has no manifest at ${join(stagingPath, STAGED.manifest)}`);
  return JSON.parse(await readFile(path, "utf8")) as Manifest;
}

/**
 * Checks a snapshot restored under `target` against its manifest: every file's sha256, then the
 * database opened read-only — `PRAGMA integrity_check`, the audit log's hash chain from end to
 * end, and its row counts, operations and ledger totals against what the manifest recorded.
 */
export async function verifyRestored(target: string, manifest: Manifest): Promise<Verification> {
  const problems: string[] = [];
  for (const file of manifest.files) {
    const path = join(target, file.path);
    if (!existsSync(path)) {
      problems.push(`${file.path}: missing from the restore`);
      continue;
    }
    const sha256 = await sha256File(path);
    if (sha256 !== file.sha256)
      problems.push(`${file.path}: sha256 ${sha256} differs from the manifest's ${file.sha256}`);
  }
  const database = join(target, manifest.database);
  let auditEntries = 0;
  if (!existsSync(database)) {
    problems.push(`${manifest.database}: the database is missing from the restore`);
  } else {
    const db = new Database(database, { readonly: true, fileMustExist: true });
    db.defaultSafeIntegers(true);
    try {
      const integrity = (db.pragma("integrity_check") as { integrity_check: string }[])
        .map((row) => row.integrity_check)
        .join("; ");
      if (integrity !== "ok") problems.push(`integrity_check: ${integrity}`);
      const chain = new AuditLog(db, SYSTEM_CLOCK).verify();
      if (chain.ok) auditEntries = chain.entries;
      else problems.push(`the audit hash chain is broken at entry ${chain.brokenAt}: ${chain.reason}`);
    } finally {
      db.close();
    }
    const facts = databaseFacts(database);
    for (const key of Object.keys(manifest.facts) as (keyof typeof facts)[]) {
      if (!isDeepStrictEqual(facts[key], manifest.facts[key])) {
        problems.push(
          `${key}: ${JSON.stringify(facts[key])} differs from the manifest's ${JSON.stringify(manifest.facts[key])}`,
        );
      }
    }
  }
  return { ok: problems.length === 0, problems, filesChecked: manifest.files.length, auditEntries };
}

/** The folder a snapshot's database was staged in: the manifest sits beside it. */
export const stagingPathOf = (manifest: Pick<Manifest, "database">): string => dirname(manifest.database);
