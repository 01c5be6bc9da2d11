import { chmodSync } from "node:fs";
import { copyFile, mkdir, open, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { GroupCommit } from "../platform/group-commit.js";
import { buildManifest, type Manifest } from "./manifest.js";
import { runOffThread } from "./off-thread.js";

/** The files a snapshot is made of, as they are laid out in the staging folder. */
export const STAGED = {
  database: "opsguard.db",
  config: "opsguard.yaml",
  manifest: "manifest.json",
} as const;

/** What to put in a snapshot. */
export interface StageInput {
  /** The live database file. */
  databasePath: string;
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
}

/** What restic is then asked to back up, and the manifest that describes it. */
export interface Staged {
  manifest: Manifest;
  /** Absolute paths: the staging folder first, then the extra paths. */
  paths: string[];
}

/**
 * Stages a consistent snapshot: a copy of the database made in a worker thread (SQLite's backup
 * API in one read transaction of a connection of its own, see {@link copyDatabase}) while trading
 * goes on — every operation acknowledged before the copy started is in it, since an answer is
 * sent only once its rows are committed — plus the config file and a manifest with each file's
 * sha256 and the database's facts. The copy is checked (`quick_check`) and fsynced in that worker
 * before it is handed on; restic never sees the live files, and the event loop never waits for the
 * copy.
 */
export async function stageSnapshot(input: StageInput): Promise<Staged> {
  const { stagingDir } = input;
  await rm(stagingDir, { recursive: true, force: true });
  await mkdir(stagingDir, { recursive: true, mode: 0o700 });
  const database = join(stagingDir, STAGED.database);
  // Whatever this turn wrote is committed first, so the copy starts from a committed state.
  await input.commits.durable();
  // The copy is made inside the 0700 staging folder, then made private like the database.
  const prepared = await runOffThread(
    "copyDatabase",
    input.databasePath,
    database,
    input.runId,
    input.now.getTime(),
  );
  chmodSync(database, 0o600);
  if (prepared.quickCheck !== "ok")
    throw new Error(`the database copy failed its quick_check: ${prepared.quickCheck}`);
  if (input.configPath) {
    await copyFile(input.configPath, join(stagingDir, STAGED.config));
    chmodSync(join(stagingDir, STAGED.config), 0o600);
  }

  // Hashing reads every byte: in the worker too.
  const files = await runOffThread("describeTrees", [stagingDir, ...input.paths]);
  const manifest = buildManifest({
    createdAt: input.now,
    instance: input.instance,
    database: join(stagingDir, STAGED.database),
    facts: prepared.facts,
    files,
  });
  const manifestPath = join(stagingDir, STAGED.manifest);
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await fsyncFile(manifestPath);
  return { manifest, paths: [stagingDir, ...input.paths] };
}

/** Waits until the file is on disk, on libuv's threads: never a stall of the event loop. */
async function fsyncFile(path: string): Promise<void> {
  const file = await open(path, "r");
  try {
    await file.sync();
  } finally {
    await file.close();
  }
}
