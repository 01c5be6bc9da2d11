import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  detail,
  durationOf,
  getRun,
  markCpu,
  readLoopDelay,
  requireRestic,
  startBackup,
  waitForRun,
  type CpuMark,
  type LoopDelay,
  type RunView,
} from "./backup-api.js";
import {
  describeWindow,
  loadWindow,
  requireAccepted,
  summarizeWindows,
  type LoadWindow,
  type WindowSummary,
} from "./load-window.js";
import type { BenchOptions } from "./options.js";
import { copyDurably, seedDatabase } from "./seed-database.js";
import { median, round } from "./stats.js";
import { startOpsguard, type Target } from "./targets.js";

const MB = 1024 * 1024;

/** One backup, by its run record and the CPU its processes used. */
export interface BackupRun {
  status: "succeeded" | "failed";
  reason: string | null;
  /** From the run record: started to finished. */
  durationSec: number;
  bytesProcessed: number;
  bytesAdded: number;
  files: number;
  /** Operations in the database copy. */
  operations: number;
  /** CPU used by restic (the service's child processes) from the start to the end, seconds. */
  resticCpuSec: number;
}

/** A backup with nothing else to do: what it costs by itself. */
export interface IdleBackup extends BackupRun {
  /** CPU of the service process meanwhile (event loop, SQLite, libuv's threads), seconds. */
  serverCpuSec: number;
  loop: LoopDelay;
}

/** A backup started at the start of a load window. */
export interface LoadedBackup extends BackupRun {
  /** Whether it ended within the window; otherwise the load stopped and it went on alone. */
  endedUnderLoad: boolean;
  /** Share of the database copied when the load stopped (1 once the copy was done). */
  copiedUnderLoad: number;
  /** Seconds it went on after the load stopped; 0 when it ended within the window. */
  afterLoadSec: number;
  /** The event loop's delay after the load stopped, until it ended (when it did not end before). */
  afterLoadLoop: LoopDelay | null;
}

export interface BackupRound {
  round: number;
  without: LoadWindow;
  during: LoadWindow;
  backup: LoadedBackup;
}

export interface BackupResults {
  database: { operations: number; bytes: number; seedSec: number };
  /** The first backup, into an empty repository, with no load: every byte is new. */
  first: IdleBackup;
  rounds: BackupRound[];
  without: WindowSummary;
  during: WindowSummary;
  /** Median over rounds of during ÷ without requests per second. */
  rpsRatio: number;
  /** Median over rounds of during ÷ without p99. */
  p99Ratio: number;
}

/**
 * Phase 7: the submit path while a backup of a large database runs. A database of
 * `backupOperations` closed operations is seeded once (bench/seed-database.ts); each round starts
 * `opsguard serve` on a copy of it, backups on, their schedules off, one restic repository in a
 * temporary folder for the whole phase. The first round first takes a backup with no load (the
 * repository's first, every byte new). Then, in an order that alternates by round, the submit
 * load of the submit phase (wrk, closed loop, saturating) without a backup, and with one started
 * by `POST /v1/backups` when the warm-up ends; that window lasts until the backup ends, or
 * `backupWindowSec` at most, when the load stops and the backup is left to finish alone. The window
 * without a backup is as long as the last window with one.
 */
export async function runBackupPhase(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<BackupResults> {
  requireRestic();
  const work = mkdtempSync(join(tmpdir(), "opsguard-bench-backup-"));
  try {
    const seedPath = join(work, "seed.db");
    const seeded = seedDatabase(seedPath, options.backupOperations);
    log(
      `backup: seeded ${seeded.operations} operations (${mb(seeded.bytes)} MB) in ${seeded.seconds.toFixed(1)} s`,
    );
    const config = {
      backup: {
        enabled: true,
        repository: join(work, "repository"),
        passwordFile: join(work, "backup-password"),
        schedule: { backup: "off", drill: "off", check: "off" },
      },
    };
    let first: IdleBackup | undefined;
    const rounds: BackupRound[] = [];
    let windowSec = options.backupWindowSec;
    for (let r = 1; r <= options.backupRounds; r++) {
      let dataDir = "";
      const target = await startOpsguard(
        `backup (round ${r})`,
        {},
        {
          prepare: (dir) => {
            dataDir = dir;
            copyDurably(seedPath, join(dir, "opsguard.db"));
          },
          config,
        },
      );
      try {
        if (!first) {
          first = await measureIdleBackup(target);
          log(
            `backup: first backup, no load: ${first.durationSec.toFixed(1)} s, ${mb(first.bytesAdded)} MB added, ` +
              `event loop max ${first.loop.maxMs} ms`,
          );
        }
        let without: LoadWindow | undefined;
        let during: { window: LoadWindow; backup: LoadedBackup } | undefined;
        // Alternating, so that drifting noise hits both alike; the first round starts with the
        // backup, so that the window without one knows how long to be.
        for (const condition of r % 2 === 1 ? ["during", "without"] : ["without", "during"]) {
          if (condition === "during") {
            during = await loadDuringBackup(target, options, dataDir, `d${r}`);
            windowSec = Math.max(1, Math.ceil(during.window.seconds));
            log(
              `round ${r} during : ${describeWindow(during.window)}; backup ${describeBackup(during.backup)}`,
            );
          } else {
            without = await loadWindow(target, options, windowSec, `w${r}`);
            log(`round ${r} without: ${describeWindow(without)}`);
          }
        }
        rounds.push({ round: r, without: without!, during: during!.window, backup: during!.backup });
      } finally {
        await target.stop();
      }
    }
    requireAccepted(
      "backup phase",
      rounds.flatMap((r) => [r.without, r.during]),
    );
    const paired = (f: (r: BackupRound) => number): number => round(median(rounds.map(f)), 4);
    return {
      database: { operations: seeded.operations, bytes: seeded.bytes, seedSec: round(seeded.seconds, 1) },
      first: first!,
      rounds,
      without: summarizeWindows(rounds.map((r) => r.without)),
      during: summarizeWindows(rounds.map((r) => r.during)),
      rpsRatio: paired((r) => r.during.rps / r.without.rps),
      p99Ratio: paired((r) => r.during.p99Ms / r.without.p99Ms),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function measureIdleBackup(target: Target): Promise<IdleBackup> {
  await readLoopDelay(target); // starts the stretch the next reading covers
  const from = markCpu(target);
  const run = await waitForRun(target, await startBackup(target));
  const to = markCpu(target);
  if (run.status !== "succeeded") throw new Error(`the first backup failed: ${run.reason}`);
  return {
    ...describeRun(run, from, to),
    serverCpuSec: round(to.server - from.server, 2),
    loop: await readLoopDelay(target),
  };
}

async function loadDuringBackup(
  target: Target,
  options: BenchOptions,
  dataDir: string,
  prefix: string,
): Promise<{ window: LoadWindow; backup: LoadedBackup }> {
  let id: string | undefined;
  let from: CpuMark | undefined;
  const window = await loadWindow(
    target,
    options,
    options.backupWindowSec,
    prefix,
    async () => {
      from = markCpu(target);
      id = await startBackup(target);
    },
    async () => id !== undefined && (await getRun(target, id)).status !== "running",
  );
  const copied = copiedShare(dataDir);
  let run = await getRun(target, id!);
  const endedUnderLoad = run.status !== "running";
  let afterLoadLoop: LoopDelay | null = null;
  const loadEnded = performance.now();
  if (!endedUnderLoad) {
    run = await waitForRun(target, id!);
    afterLoadLoop = await readLoopDelay(target);
  }
  const backup: LoadedBackup = {
    ...describeRun(run, from!, markCpu(target)),
    endedUnderLoad,
    copiedUnderLoad: endedUnderLoad && run.status === "succeeded" ? 1 : copied,
    afterLoadSec: endedUnderLoad ? 0 : round((performance.now() - loadEnded) / 1000, 1),
    afterLoadLoop,
  };
  return { window, backup };
}

/** How much of the database the backup has copied into its staging folder so far, 0..1. */
function copiedShare(dataDir: string): number {
  const staged = join(dataDir, "backup-staging", "opsguard.db");
  const live = statSync(join(dataDir, "opsguard.db")).size;
  return existsSync(staged) ? round(Math.min(1, statSync(staged).size / live), 3) : 0;
}

function describeRun(run: RunView, from: CpuMark, to: CpuMark): BackupRun {
  return {
    status: run.status === "succeeded" ? "succeeded" : "failed",
    reason: run.reason,
    durationSec: round(durationOf(run), 2),
    bytesProcessed: detail(run, "bytesProcessed"),
    bytesAdded: detail(run, "bytesAdded"),
    files: detail(run, "files"),
    operations: detail(run, "operations"),
    resticCpuSec: round(to.children - from.children, 2),
  };
}

function describeBackup(b: LoadedBackup): string {
  const end = b.endedUnderLoad
    ? "ended under load"
    : `${(b.copiedUnderLoad * 100).toFixed(0)}% copied when the load stopped, then ${b.afterLoadSec} s alone`;
  return `${b.status} in ${b.durationSec.toFixed(1)} s (${end})${b.reason ? `: ${b.reason}` : ""}`;
}

const mb = (bytes: number): number => round(bytes / MB, 1);
