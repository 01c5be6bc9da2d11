import { randomBytes } from "node:crypto";
import { linkSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";

/** Who holds a lock: enough to tell a live holder from a pid that was reused since. */
interface Holder {
  pid: number;
  host: string;
  /** The kernel's boot id (Linux): a lock from before a reboot is stale whatever its pid. */
  boot: string | null;
  /** The holder's start time, in clock ticks since boot (Linux): a reused pid starts later. */
  start: string | null;
}

/**
 * A lock held by a process through a file naming it, created atomically (written aside, then
 * hard-linked into place, so nobody ever reads a half-written file). A holder is live when it runs
 * on this host, since this boot, under its pid, started when the file says; anything else —
 * killed, gone with a reboot, a pid reused by another process, another host's — is stale and
 * taken over. Used so that one backup runs at a time across processes, and so that a restore in
 * place and a second service can tell that the service runs.
 */
export class PidLock {
  private held = false;

  constructor(readonly path: string) {}

  /** Takes the lock; false when a live process holds it. */
  acquire(): boolean {
    const me = JSON.stringify(describe(process.pid));
    for (let attempt = 0; attempt < 3; attempt++) {
      const aside = `${this.path}.${randomBytes(6).toString("hex")}`;
      writeFileSync(aside, `${me}\n`, { mode: 0o600 });
      try {
        linkSync(aside, this.path);
        this.held = true;
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      } finally {
        rmSync(aside, { force: true });
      }
      if (this.liveHolder() !== undefined) return false;
      // Stale: removed, and taken on the next attempt unless another process takes it first.
      rmSync(this.path, { force: true });
    }
    return false;
  }

  /** The pid of a live holder, or undefined when the lock is free or stale. */
  liveHolder(): number | undefined {
    const holder = this.holder();
    if (!holder) return undefined;
    const now = describe(holder.pid);
    const same =
      holder.host === now.host &&
      (holder.boot === null || holder.boot === now.boot) &&
      (holder.start === null || holder.start === now.start);
    return same && isRunning(holder.pid) ? holder.pid : undefined;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    const holder = this.holder();
    if (holder?.pid === process.pid && holder.start === describe(process.pid).start)
      rmSync(this.path, { force: true });
  }

  private holder(): Holder | undefined {
    try {
      const text = readFileSync(this.path, "utf8").trim();
      // Earlier versions wrote the pid alone.
      if (/^\d+$/.test(text)) return { pid: Number(text), host: hostname(), boot: null, start: null };
      const holder = JSON.parse(text) as Holder;
      return Number.isSafeInteger(holder.pid) && holder.pid > 0 ? holder : undefined;
    } catch {
      return undefined;
    }
  }
}

/** `pid` as a lock file records it, read from /proc where there is one. */
function describe(pid: number): Holder {
  return {
    pid,
    host: hostname(),
    boot: readOrNull("/proc/sys/kernel/random/boot_id"),
    start: startTime(pid),
  };
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTime(pid: number): string | null {
  const stat = readOrNull(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return null;
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
