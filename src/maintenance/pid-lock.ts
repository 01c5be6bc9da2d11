import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";

/**
 * A lock held by a process through a file holding its pid, created exclusively. A file whose pid
 * is no longer running (the holder was killed) is stale: it is removed and the lock taken. Used so
 * that one backup runs at a time across processes, and so that a restore in place can tell that
 * the service is running.
 */
export class PidLock {
  private held = false;

  constructor(readonly path: string) {}

  /** Takes the lock; false when a live process holds it. */
  acquire(): boolean {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.path, "wx", 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        this.held = true;
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        const holder = this.holder();
        if (holder !== undefined && holder !== process.pid && isRunning(holder)) return false;
        // Stale (its process is gone), or left by this very process: take it over.
        rmSync(this.path, { force: true });
      }
    }
    return false;
  }

  /** The pid of a live holder, or undefined when the lock is free or stale. */
  liveHolder(): number | undefined {
    const holder = this.holder();
    return holder !== undefined && isRunning(holder) ? holder : undefined;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.holder() === process.pid) rmSync(this.path, { force: true });
  }

  private holder(): number | undefined {
    try {
      const pid = Number.parseInt(readFileSync(this.path, "utf8").trim(), 10);
      return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
