/**
 * Lets background work start a few steps per turn of the event loop, so that the requests that
 * arrive meanwhile are read and answered between them.
 *
 * {@link turn} resolves at most `perTurn` waiters per turn, in the order they asked. Each batch is
 * released from a `setImmediate` scheduled by the one before, and Node.js runs an immediate queued
 * by an immediate only after the next poll for I/O: between two batches the loop always reads the
 * sockets. A concurrency limit (p-limit) bounds how much is under way, not how much starts in one
 * piece; a timer-based rate limit (p-queue's `interval`) waits a millisecond or more even when the
 * loop is idle and does not put a poll between its releases. Hence these few lines.
 */
export class TurnPacer {
  private readonly waiting: (() => void)[] = [];
  private scheduled = false;

  constructor(private readonly perTurn: number) {
    if (!Number.isInteger(perTurn) || perTurn < 1)
      throw new RangeError(`perTurn must be a positive integer: ${perTurn}`);
  }

  /** Steps waiting for their turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves in a later turn of the event loop, once the steps that asked before have had theirs. */
  turn(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.release());
  }

  private release(): void {
    this.scheduled = false;
    for (const resolve of this.waiting.splice(0, this.perTurn)) resolve();
    if (this.waiting.length > 0) this.schedule();
  }
}
