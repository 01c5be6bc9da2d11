import { statfsSync, statSync } from "node:fs";
import { dirname } from "node:path";

/** How much room the database takes, and how much the volume that holds it has left. */
export interface DiskUsage {
  /** Size of the database file; null for an in-memory database or a file that cannot be read. */
  databaseBytes: number | null;
  /** Size of its `-wal` file: 0 when there is none (after the last connection closed). */
  walBytes: number | null;
  /** Bytes opsguard may still write on the volume of the database's folder (not those reserved for root). */
  volumeFreeBytes: number | null;
  /** Size of that volume. */
  volumeSizeBytes: number | null;
}

const NOTHING: DiskUsage = {
  databaseBytes: null,
  walBytes: null,
  volumeFreeBytes: null,
  volumeSizeBytes: null,
};

/** The size of the file at `path`; `missing` when it does not exist, null when it cannot be read. */
function fileBytes(path: string, missing: number | null): number | null {
  try {
    return statSync(path).size;
  } catch (error) {
    return (error as { code?: string }).code === "ENOENT" ? missing : null;
  }
}

/**
 * Reads the sizes of the database at `databasePath` and its WAL, and the free and total bytes of
 * its volume: two `stat` and one `statfs` calls, a few microseconds, so it may run at every scrape.
 * Never throws: what cannot be read is null.
 */
export function readDiskUsage(databasePath: string): DiskUsage {
  if (databasePath === ":memory:") return NOTHING;
  const database = fileBytes(databasePath, null);
  let volume: { free: number; size: number } | undefined;
  try {
    const fs = statfsSync(dirname(databasePath));
    // bavail, not bfree: the blocks reserved for root are not opsguard's to fill.
    volume = { free: fs.bavail * fs.bsize, size: fs.blocks * fs.bsize };
  } catch {
    volume = undefined;
  }
  return {
    databaseBytes: database,
    // No WAL file is an empty WAL (SQLite removes it when the last connection closes).
    walBytes: database === null ? null : fileBytes(`${databasePath}-wal`, 0),
    volumeFreeBytes: volume?.free ?? null,
    volumeSizeBytes: volume?.size ?? null,
  };
}
