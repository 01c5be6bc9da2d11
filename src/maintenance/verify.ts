import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import type { Manifest } from "./manifest.js";
import { runOffThread } from "./off-thread.js";
import { STAGED } from "./stage.js";

/** What a restored snapshot was checked for, and every problem found. */
export interface Verification {
  ok: boolean;
  /** What makes the snapshot unfit to restore: its database or config is not what was backed up. */
  problems: string[];
  /**
   * Differences in the other backed-up paths (`backup.paths`): a file that changed while restic
   * read it. They do not make the database unfit.
   */
  warnings: string[];
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
 * database — `PRAGMA integrity_check`, the audit log's hash chain from end to end, and its row
 * counts, operations and ledger totals against what the manifest recorded. The database is read
 * in a worker thread: a large one takes seconds, which the event loop does not wait for.
 */
export async function verifyRestored(target: string, manifest: Manifest): Promise<Verification> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const staged = `${stagingPathOf(manifest)}/`;
  const hashes = await runOffThread(
    "sha256Files",
    manifest.files.map((file) => join(target, file.path)),
  );
  manifest.files.forEach((file, i) => {
    const report = file.path.startsWith(staged) ? problems : warnings;
    const sha256 = hashes[i];
    if (sha256 === null || sha256 === undefined) report.push(`${file.path}: missing from the restore`);
    else if (sha256 !== file.sha256) {
      report.push(`${file.path}: sha256 ${sha256} differs from the manifest's ${file.sha256}`);
    }
  });
  const database = join(target, manifest.database);
  let auditEntries = 0;
  if (!existsSync(database)) {
    problems.push(`${manifest.database}: the database is missing from the restore`);
  } else {
    const checked = await runOffThread("checkRestored", database);
    if (checked.integrity !== "ok") problems.push(`integrity_check: ${checked.integrity}`);
    if (checked.chain.ok) auditEntries = checked.chain.entries;
    else
      problems.push(
        `the audit hash chain is broken at entry ${checked.chain.brokenAt}: ${checked.chain.reason}`,
      );
    for (const key of Object.keys(manifest.facts) as (keyof typeof checked.facts)[]) {
      if (!isDeepStrictEqual(checked.facts[key], manifest.facts[key])) {
        problems.push(
          `${key}: ${JSON.stringify(checked.facts[key])} differs from the manifest's ${JSON.stringify(manifest.facts[key])}`,
        );
      }
    }
  }
  return { ok: problems.length === 0, problems, warnings, filesChecked: manifest.files.length, auditEntries };
}

/** The folder a snapshot's database was staged in: the manifest sits beside it. */
export const stagingPathOf = (manifest: Pick<Manifest, "database">): string => dirname(manifest.database);
