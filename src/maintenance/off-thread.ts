import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import type { TASKS, TaskName } from "./database-checks.js";

/**
 * The nice value worker threads run at (Linux): 10 is a tenth of the CPU share of the event loop's
 * thread when both want the same core, so background work yields to the requests without
 * starving when the service is busy.
 */
export const WORKER_NICE = 10;

/** How long an idle worker thread is kept for the next task. */
const IDLE_MS = 30_000;

let pool: Piscina | undefined;

/**
 * The worker threads, started on first use and kept while tasks come (a thread costs tens of
 * milliseconds to start from the build, half a second from the sources through tsx). Enough
 * threads that a long task (a database copy, an integrity check) does not hold up the others.
 */
function workers(): Piscina {
  const fromSources = import.meta.url.endsWith(".ts");
  pool ??= new Piscina({
    filename: new URL(fromSources ? "./db-worker.ts" : "./db-worker.js", import.meta.url).href,
    execArgv: fromSources ? ["--import", "tsx"] : [],
    minThreads: 0,
    maxThreads: Math.max(4, availableParallelism()),
    idleTimeout: IDLE_MS,
  });
  return pool;
}

/**
 * Runs a task of database-checks.ts in a worker thread, so that reading a whole database file,
 * hashing files or analysing logs never blocks the service's event loop. From the sources (tests,
 * tsx) the worker is the TypeScript file, loaded through tsx; from the build, the compiled one.
 */
export function runOffThread<T extends TaskName>(
  task: T,
  ...args: Parameters<(typeof TASKS)[T]>
): Promise<Awaited<ReturnType<(typeof TASKS)[T]>>> {
  return workers().run({ task, args }) as Promise<Awaited<ReturnType<(typeof TASKS)[T]>>>;
}

/** Stops the worker threads (a task under way is abandoned); the next task starts new ones. */
export async function stopWorkers(): Promise<void> {
  const stopping = pool;
  pool = undefined;
  await stopping?.destroy();
}
