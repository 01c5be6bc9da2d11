/**
 * What the backup manager needs of a backup repository: the subset of `Restic` (restic.ts) it
 * calls, so that tests can hand it a repository that fails on demand.
 */
export interface BackupRepository {
  init(): Promise<boolean>;
  backup(
    paths: string[],
    opts: {
      tags: string[];
      host?: string;
      onProgress?: (p: { percentDone: number; filesDone: number; totalFiles: number }) => void;
      signal?: AbortSignal;
    },
  ): Promise<{
    snapshotId: string;
    dataAdded: number;
    totalFilesProcessed: number;
    totalBytesProcessed: number;
    warnings: string[];
  }>;
  snapshots(opts?: { tags?: string[] }): Promise<Snapshot[]>;
  forget(
    policy: { keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number },
    opts: { tags: string[] },
  ): Promise<{ kept: string[]; removed: string[] }>;
  prune(): Promise<void>;
  check(opts?: { readDataSubset?: string }): Promise<{ ok: boolean; errors: string[] }>;
  restore(
    snapshotId: string,
    target: string,
    opts?: { onProgress?: (p: { percentDone: number }) => void; signal?: AbortSignal },
  ): Promise<void>;
}

/** A snapshot in the repository. */
export interface Snapshot {
  id: string;
  shortId: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
}
