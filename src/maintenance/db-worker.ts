import { parentPort, workerData } from "node:worker_threads";
import { TASKS, type TaskName } from "./database-checks.js";

// A worker thread that runs one database check (database-checks.ts) and posts its result.

const { task, args } = workerData as { task: TaskName; args: unknown[] };
try {
  const result = (TASKS[task] as (...a: unknown[]) => unknown)(...args);
  parentPort!.postMessage({ ok: true, result });
} catch (error) {
  parentPort!.postMessage({ ok: false, message: (error as Error).message });
}
