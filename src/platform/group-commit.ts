import type { Db } from "./db.js";
import { DomainError } from "./errors.js";

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Commits the writes of one event-loop turn together, in one SQLite transaction.
 *
 * A commit costs far more than the rows it carries: in WAL mode it appends every page it touched
 * (the table and each of its indexes) to the log, so an operation's few rows cost about 100 µs of
 * writes and syscalls alone, one commit after another. Under load many requests write in the same
 * turn; sharing one commit, they share those pages too (measured: 86 µs per row alone, 12 µs per
 * row fifty to a commit).
 *
 * {@link write} runs its function at once, inside the turn's transaction (opened on the first
 * write, committed when the turn ends, at `setImmediate`), in a savepoint of its own (the first
 * write of a batch in the transaction itself), so a throw undoes only that function's rows. Reads
 * on the connection see the rows at once; other connections see them at the commit. Whatever
 * must not happen before the rows are on disk (an execution, an answer to the caller) waits for
 * {@link durable} first: a crash before the commit then loses only rows whose consequences never
 * happened.
 *
 * Any write on the connection while a batch is open joins it, including writes that do not go
 * through here: they are committed at the end of the turn too.
 */
export class GroupCommit {
  private waiters: Waiter[] | undefined;
  private readonly committed: (() => void)[] = [];
  private readonly committing: (() => void)[] = [];
  /** Runs a function in a savepoint; built once, as better-sqlite3 builds a transaction slowly. */
  private readonly inSavepoint: (fn: () => unknown) => unknown;

  /**
   * @param onFailure called after a failed commit has been rolled back and its waiters told. The
   * callers' in-memory state (the ledger, open operations) already reflects rows that are now
   * gone, so the owner should stop and let the next start rebuild from the database.
   */
  constructor(
    private readonly db: Db,
    private readonly onFailure: (error: unknown) => void = () => undefined,
  ) {
    this.inSavepoint = db.transaction((fn: () => unknown) => fn());
  }

  /** Whether a batch is open: written and not yet committed. */
  get pending(): boolean {
    return this.waiters !== undefined;
  }

  /**
   * Calls `listener` after each successful commit of a batch: what the batch wrote is on disk.
   * The batch's waiters are resolved first, so a listener that throws cannot hold them up.
   */
  onCommit(listener: () => void): void {
    this.committed.push(listener);
  }

  /**
   * Calls `listener` just before each batch commits, inside its transaction: what it writes is
   * committed with the batch (a check over everything the turn changed, made once).
   */
  beforeCommit(listener: () => void): void {
    this.committing.push(listener);
  }

  /**
   * Runs `fn` in the turn's transaction, where a throw undoes only its rows, and returns what it
   * returns.
   */
  write<T>(fn: () => T): T {
    // Inside a caller's own transaction, the caller commits (synchronously, before any await).
    if (this.waiters || this.db.inTransaction) return this.inSavepoint(fn) as T;
    this.db.exec("BEGIN IMMEDIATE");
    this.waiters = [];
    setImmediate(() => this.commit());
    // The first write of a batch needs no savepoint: the transaction holds nothing else, so
    // rolling it back undoes exactly this function's rows. Under a steady load most batches hold
    // one write, and a savepoint costs a few microseconds more than the write's own statements.
    try {
      return fn();
    } catch (error) {
      this.abandon(error);
      throw error;
    }
  }

  /**
   * Rolls back a batch that holds only a write that threw; the next write begins another. When
   * SQLite had rolled it back by itself (a full disk, an I/O error), that is a failed commit.
   */
  private abandon(error: unknown): void {
    const waiters = this.waiters ?? [];
    this.waiters = undefined;
    if (this.db.open && this.db.inTransaction) {
      this.db.exec("ROLLBACK");
      // Whoever asked meanwhile waits for nothing now: no row of the batch is left.
      for (const waiter of waiters) waiter.resolve();
      return;
    }
    this.failed(waiters, error);
  }

  /**
   * Resolves once every row written so far is committed; rejects with a `NOT_READY` error (the
   * failure as its cause) if that commit failed.
   */
  durable(): Promise<void> {
    const waiters = this.waiters;
    if (!waiters) return Promise.resolve();
    return new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
  }

  /** Commits the open batch now (before closing the database, say); a no-op when none is open. */
  commit(): void {
    const waiters = this.waiters;
    if (!waiters) return;
    this.waiters = undefined;
    try {
      // SQLite rolls a transaction back by itself on some errors (a full disk, an I/O error).
      if (!this.db.open || !this.db.inTransaction) throw new Error("the batch transaction was rolled back");
      for (const listener of this.committing) listener();
      this.db.exec("COMMIT");
    } catch (error) {
      try {
        if (this.db.open && this.db.inTransaction) this.db.exec("ROLLBACK");
      } catch {
        // Nothing more to undo: the waiters hear of the failure below.
      }
      this.failed(waiters, error);
      return;
    }
    for (const waiter of waiters) waiter.resolve();
    for (const listener of this.committed) listener();
  }

  /** Tells the waiters of a batch that is gone, then the owner. */
  private failed(waiters: readonly Waiter[], error: unknown): void {
    // The callers answer with this: a 503 that says their rows are gone, never a bare 500.
    const lost = new DomainError(
      "NOT_READY",
      "a database commit failed, so what this request wrote was not kept; opsguard stops and its next start rebuilds from the database",
      [],
      { cause: error },
    );
    for (const waiter of waiters) waiter.reject(lost);
    this.onFailure(error);
  }
}
