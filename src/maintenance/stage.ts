import { chmodSync, closeSync, existsSync, fsyncSync, openSync } from "node:fs";
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Db } from "../platform/db.js";
import type { GroupCommit } from "../platform/group-commit.js";
import { buildManifest, describeFiles, type Manifest } from "./manifest.js";
import { runOffThread } from "./off-thread.js";

/** The files a snapshot is made of, as they are laid out in the staging folder. */
export const STAGED = {
  database: "opsguard.db",
  config: "opsguard.yaml",
  manifest: "manifest.json",
} as const;

/** What to put in a snapshot. */
export interface StageInput {
  db: Db;
  commits: GroupCommit;
  /** A folder of its own, emptied first. */
  stagingDir: string;
  /** The config file in use, copied in when there is one. */
  configPath?: string;
  /** More files and folders, backed up where they are. */
  paths: readonly string[];
  instance: string;
  now: Date;
  /** The run taking the snapshot: recorded as succeeded in the copy. */
  runId: string;
  /** Called as the database copy progresses, 0..1. */
  onProgress?: (ratio: number) => void;
  /**
   * How the database is copied. `online` (the service): SQLite's backup API on the writing
   * connection, in short steps between event-loop turns. `vacuum` (the CLI, beside a running
   * service): `VACUUM INTO` in one read transaction, a consistent snapshot that another
   * connection's writes cannot restart (they would restart an online backup, possibly forever).
   * @default "online"
   */
  copy?: "online" | "vacuum";
}

/** What restic is then asked to back up, and the manifest that describes it. */
export interface Staged {
  manifest: Manifest;
  /** Absolute paths: the staging folder first, then the extra paths. */
  paths: string[];
}

/**
 * Stages a consistent snapshot: a copy of the database made with SQLite's online backup API on
 * the writing connection — trading goes on meanwhile, and every operation acknowledged before the
 * copy started is in it, since an answer is sent only once its rows are committed — plus the
 * config file and a manifest with each file's sha256 and the database's facts. The copy is
 * fsynced and checked (`quick_check`) before it is handed on; restic never sees the live files.
 */
export async function stageSnapshot(input: StageInput): Promise<Staged> {
  const { stagingDir } = input;
  await rm(stagingDir, { recursive: true, force: true });
  await mkdir(stagingDir, { recursive: true, mode: 0o700 });
  const database = join(stagingDir, STAGED.database);
  // Whatever this turn wrote is committed first, so the copy starts from a committed state.
  await input.commits.durable();
  if (input.copy === "vacuum") {
    input.db.prepare("VACUUM INTO ?").run(database);
  } else {
    await onlineBackup(input.db, database, input.onProgress);
  }
  // SQLite creates the copy with the umask's mode; it holds everything the database does.
  chmodSync(database, 0o600);
  const prepared = await runOffThread("prepareCopy", database, input.runId, input.now.getTime());
  if (prepared.quickCheck !== "ok")
    throw new Error(`the database copy failed its quick_check: ${prepared.quickCheck}`);
  fsyncFile(database);
  if (input.configPath) {
    await copyFile(input.configPath, join(stagingDir, STAGED.config));
    chmodSync(join(stagingDir, STAGED.config), 0o600);
  }

  const files = [...(await describeFiles(stagingDir, "/")), ...(await describeAll(input.paths))].map((f) => ({
    ...f,
    path: `/${f.path}`,
  }));
  const manifest = buildManifest({
    createdAt: input.now,
    instance: input.instance,
    database: join(stagingDir, STAGED.database),
    facts: prepared.facts,
    files,
  });
  const manifestPath = join(stagingDir, STAGED.manifest);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  fsyncFile(manifestPath);
  return { manifest, paths: [stagingDir, ...input.paths] };
}

async function describeAll(paths: readonly string[]) {
  const files = [];
  for (const path of paths) files.push(...(await describeFiles(path, "/")));
  return files;
}

/** How often an online backup is started again when SQLite was busy before its first step. */
const BACKUP_ATTEMPTS = 50;

/**
 * SQLite's online backup, in short steps between event-loop turns. better-sqlite3 (12.x) takes a
 * first step that finds the source busy — a group commit's transaction open on the same
 * connection — for a finished backup with nothing left to copy: it resolves, and deletes the new
 * file as unfinished. So an attempt that leaves no file is started again on a later turn.
 */
async function onlineBackup(
  db: Db,
  destination: string,
  onProgress?: (ratio: number) => void,
): Promise<void> {
  for (let attempt = 1; attempt <= BACKUP_ATTEMPTS; attempt++) {
    await db.backup(destination, {
      progress: ({ totalPages, remainingPages }) => {
        onProgress?.(totalPages > 0 ? 1 - remainingPages / totalPages : 1);
        return 256; // pages per step: short steps, so the event loop keeps serving between them
      },
    });
    if (existsSync(destination)) return;
    await new Promise((resolve) => setTimeout(resolve, attempt));
  }
  throw new Error(`the database stayed busy through ${BACKUP_ATTEMPTS} attempts to copy it`);
}

function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
