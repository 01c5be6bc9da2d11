import { getPriority, setPriority } from "node:os";
import { TASKS, type TaskName } from "./database-checks.js";
import { WORKER_NICE } from "./off-thread.js";

// A worker thread of the pool in off-thread.ts: runs tasks of database-checks.ts, one at a time.

// Below the event loop's priority: where cores are few, a check or a backup copy takes longer
// rather than taking CPU from the requests. On Linux the nice value is the thread's own
// (setpriority(2), who = 0), so this lowers only this worker; elsewhere it would lower the whole
// process, so it is left alone there. A process started nicer than that stays as nice: raising the
// priority again would need a privilege.
if (process.platform === "linux" && getPriority(0) < WORKER_NICE) setPriority(0, WORKER_NICE);

/** Runs one task; a task may be asynchronous (the log report reads files and Loki as it goes). */
export default function run({ task, args }: { task: TaskName; args: unknown[] }): unknown {
  return (TASKS[task] as (...a: unknown[]) => unknown)(...args);
}
