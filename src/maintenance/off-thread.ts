import { Worker } from "node:worker_threads";
import type { TASKS, TaskName } from "./database-checks.js";

/**
 * The nice value worker threads run at (Linux): 10 is a tenth of the CPU share of the event loop's
 * thread when both want the same core, so background work yields to the requests without
 * starving when the service is busy.
 */
export const WORKER_NICE = 10;

/**
 * Runs a database check in a worker thread of its own, so that reading a whole database file never
 * blocks the service's event loop. From the sources (tests, tsx) the worker is the TypeScript file,
 * loaded through tsx; from the build, the compiled one.
 */
export function runOffThread<T extends TaskName>(
  task: T,
  ...args: Parameters<(typeof TASKS)[T]>
): Promise<ReturnType<(typeof TASKS)[T]>> {
  const fromSources = import.meta.url.endsWith(".ts");
  const worker = new Worker(new URL(fromSources ? "./db-worker.ts" : "./db-worker.js", import.meta.url), {
    workerData: { task, args },
    execArgv: fromSources ? ["--import", "tsx"] : [],
  });
  return new Promise((resolve, reject) => {
    worker.once("message", (message: { ok: boolean; result?: unknown; message?: string }) => {
      if (message.ok) resolve(message.result as ReturnType<(typeof TASKS)[T]>);
      else reject(new Error(message.message));
      void worker.terminate();
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`the ${task} worker exited with code ${code}`));
    });
  });
}
