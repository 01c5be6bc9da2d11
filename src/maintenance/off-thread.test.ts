import { getPriority } from "node:os";
import { describe, expect, it } from "vitest";
import { runOffThread, WORKER_NICE } from "./off-thread.js";

describe("runOffThread", () => {
  it("runs the task in a thread below the event loop's priority, leaving the event loop's own as it was", async () => {
    const before = getPriority(0);
    const worker = await runOffThread("threadNice");
    // On Linux the nice value is per thread; elsewhere the worker leaves the process's alone.
    expect(worker).toBe(process.platform === "linux" ? Math.max(before, WORKER_NICE) : before);
    expect(getPriority(0)).toBe(before);
  });

  it("rejects with the task's error", async () => {
    await expect(runOffThread("checkRestored", "/nonexistent/opsguard.db")).rejects.toThrow(
      /unable to open|directory does not exist/,
    );
  });
});
