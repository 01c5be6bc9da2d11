import { getPriority, setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { TASKS, type TaskName } from "./database-checks.js";
import { WORKER_NICE } from "./off-thread.js";

// A worker thread that runs one task of database-checks.ts and posts its result.

// Below the event loop's priority: where cores are few, a check or a backup copy takes longer
// rather than taking CPU from the requests. On Linux the nice value is the thread's own
// (setpriority(2), who = 0), so this lowers only this worker; elsewhere it would lower the whole
// process, so it is left alone there. A process started nicer than that stays as nice: raising the
// priority again would need a privilege.
if (process.platform === "linux" && getPriority(0) < WORKER_NICE) setPriority(0, WORKER_NICE);

const { task, args } = workerData as { task: TaskName; args: unknown[] };
try {
  const result = (TASKS[task] as (...a: unknown[]) => unknown)(...args);
  parentPort!.postMessage({ ok: true, result });
} catch (error) {
  parentPort!.postMessage({ ok: false, message: (error as Error).message });
}
