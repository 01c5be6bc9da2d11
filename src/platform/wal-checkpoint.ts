import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Logger } from "./logger.js";

/** How one checkpoint ended: every frame of the WAL moved into the database, some, or none. */
export type CheckpointOutcome = "complete" | "partial" | "failed";

/** What the WAL held and how much of it a checkpoint moved into the database. */
export interface CheckpointResult {
  outcome: CheckpointOutcome;
  /** Frames in the WAL, and frames now in the database; -1 when the checkpoint failed. */
  walFrames: number;
  checkpointedFrames: number;
  /** Why it failed. */
  error?: string;
}

export interface WalCheckpointerOptions {
  /** The database file; its connection in the service runs with `wal_autocheckpoint = 0`. */
  path: string;
  intervalMs: number;
  logger: Logger;
  onResult: (result: CheckpointResult, seconds: number) => void;
}

// The worker is plain JavaScript evaluated from this string rather than a module file: it needs
// nothing but better-sqlite3, and so starts in milliseconds from the build and the sources alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.betterSqlite3);
let db;
parentPort.on("message", () => {
  try {
    db ??= new Database(workerData.path, { fileMustExist: true });
    const [row] = db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ walFrames: row.log, checkpointedFrames: row.checkpointed });
  } catch (error) {
    db?.close();
    db = undefined;
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
});
`;

/**
 * Moves the WAL into the database on a thread of its own, so that no commit of the service ever
 * does it on the event loop.
 *
 * By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages: that commit
 * then copies about 4 MB into the database file and waits for the disk to sync it, on the event
 * loop — measured as 5–15 ms stalls every few hundred submits. Here the service's connection never
 * checkpoints (`wal_autocheckpoint = 0`); every `intervalMs` this runs a PASSIVE checkpoint on a
 * connection of its own in a worker thread. PASSIVE never blocks the writer, and the writer starts
 * the WAL again from its beginning at its next transaction once everything in it was moved, so the
 * file stays about as large as what is written between two checkpoints. A reader holding an old
 * snapshot (a backup's copy) makes checkpoints partial until it ends, as before.
 */
export class WalCheckpointer {
  private worker: Worker | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CheckpointResult> | undefined;
  private failing = false;

  constructor(private readonly options: WalCheckpointerOptions) {}

  start(): void {
    this.timer ??= setInterval(() => void this.runOnce(), this.options.intervalMs).unref();
  }

  /** Runs one checkpoint now (or joins the one under way) and says how it ended. */
  runOnce(): Promise<CheckpointResult> {
    this.running ??= this.checkpoint().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops the schedule, lets a checkpoint under way end, and ends the thread. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private async checkpoint(): Promise<CheckpointResult> {
    const started = performance.now();
    const answer = await this.ask().catch((error: unknown) => ({ error: String(error) }));
    const result: CheckpointResult =
      "error" in answer
        ? { outcome: "failed", walFrames: -1, checkpointedFrames: -1, error: answer.error }
        : {
            outcome: answer.checkpointedFrames >= answer.walFrames ? "complete" : "partial",
            ...answer,
          };
    this.options.onResult(result, (performance.now() - started) / 1000);
    this.logChange(result);
    return result;
  }

  /** Sends one request to the worker (started on first use) and waits for its answer. */
  private ask(): Promise<{ walFrames: number; checkpointedFrames: number } | { error: string }> {
    const worker = (this.worker ??= this.startWorker());
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => {
        this.worker = undefined;
        reject(new Error(`the checkpoint thread exited with ${code}`));
      };
      worker.once(
        "message",
        (answer: { walFrames: number; checkpointedFrames: number } | { error: string }) => {
          worker.off("exit", onExit);
          resolve(answer);
        },
      );
      worker.once("exit", onExit);
      worker.postMessage(null);
    });
  }

  private startWorker(): Worker {
    const betterSqlite3 = createRequire(import.meta.url).resolve("better-sqlite3");
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path: this.options.path, betterSqlite3 },
    });
    worker.unref();
    return worker;
  }

  /** Logs a failure when checkpoints start failing and once when they work again; never each one. */
  private logChange(result: CheckpointResult): void {
    const failed = result.outcome === "failed";
    if (failed === this.failing) return;
    this.failing = failed;
    if (failed) {
      this.options.logger.warn("WAL checkpoints fail; the WAL grows until one succeeds", {
        event: "db.checkpoint_failed",
        reason: result.error,
      });
    } else {
      this.options.logger.info("WAL checkpoints work again", { event: "db.checkpoint_recovered" });
    }
  }
}
