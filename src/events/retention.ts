import type { Clock } from "../platform/clock.js";
import type { GroupCommit } from "../platform/group-commit.js";
import type { Logger } from "../platform/logger.js";
import type { EventLog } from "./log.js";

/** Rows deleted per write: a large backlog is pruned in short steps, never one long commit. */
const PRUNE_STEP = 2_000;
/** How often old events are pruned. */
const PRUNE_INTERVAL_MS = 600_000;

/** Deletes events older than the retention, every ten minutes and at start. */
export class EventRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      log: EventLog;
      commits: GroupCommit;
      clock: Clock;
      logger: Logger;
      retentionMs: number;
    },
  ) {}

  start(): void {
    this.running = this.prune();
    this.timer = setInterval(() => {
      this.running ??= this.prune();
    }, PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** Prunes in steps of {@link PRUNE_STEP} rows, a turn apart, and logs how many it deleted. */
  async prune(): Promise<void> {
    const { log, commits, clock, logger, retentionMs } = this.deps;
    const before = clock.now() - retentionMs;
    let deleted = 0;
    try {
      for (;;) {
        const step = commits.write(() => log.prune(before, PRUNE_STEP));
        deleted += step;
        await commits.durable();
        if (step < PRUNE_STEP) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (deleted > 0) logger.info("old events pruned", { event: "events.pruned", deleted });
    } catch (error) {
      logger.warn("pruning old events failed", { event: "events.prune_failed", error });
    } finally {
      this.running = undefined;
    }
  }
}
