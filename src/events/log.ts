import type { Statement } from "better-sqlite3";
import type { Clock } from "../platform/clock.js";
import type { Db } from "../platform/db.js";
import type { GroupCommit } from "../platform/group-commit.js";
import type { Logger } from "../platform/logger.js";
import type { EventKind, EventSubject, StoredEvent } from "./model.js";

interface EventRow {
  id: bigint;
  at: bigint;
  kind: EventKind;
  operation_id: string | null;
  strategy: string | null;
  instrument: string | null;
  data: string;
}

const fromRow = (row: EventRow): StoredEvent => ({
  // The connection reads integers as BigInt; ids and times stay far below 2^53.
  id: Number(row.id),
  at: Number(row.at),
  kind: row.kind,
  operationId: row.operation_id,
  strategy: row.strategy,
  instrument: row.instrument,
  data: row.data,
});

/**
 * Committed events kept in memory, the newest, so that the readers that follow the log closely
 * (webhook deliveries a batch behind, a stream that reconnects at once) take the same objects,
 * their JSON built once, instead of reading and decoding the rows again. About 1.5 KB each, so
 * 3 to 6 MB; half a second of events at 4,000 a second, where a delivery that keeps up is at most
 * a batch (50 ms of events, or 500) behind. Kept only while such a reader exists
 * ({@link EventLog.keepRecent}): events held for a second or two outlive a scavenge, and each
 * one copied is a longer pause of the event loop for nobody's benefit.
 */
const RECENT_EVENTS = 2_048;

/** Told of the events of each commit, in id order, once they are on disk. */
export type EventListener = (events: readonly StoredEvent[]) => void;

/**
 * The event log: rows appended in the transaction of the change they describe, and handed to
 * listeners (the SSE streams, the webhook deliveries) once that transaction is committed.
 *
 * Only committed events are ever read or handed on: reads on the connection would also see the
 * open batch, so every read stops at {@link published}, the last id known to be committed. Ids
 * grow with each commit, as one connection writes them all.
 */
export class EventLog {
  private readonly insert: Statement;
  private readonly after: Statement;
  private readonly oldest: Statement;
  private readonly countAfter: Statement;
  private readonly pruneBefore: Statement;
  /** Events appended since the last commit, handed on as they are when all of them were kept. */
  private written: StoredEvent[] = [];
  /**
   * The latest committed events, in id order: every committed event from the first one here on.
   * Between {@link RECENT_EVENTS} and twice that, trimmed in one step.
   */
  private recent: StoredEvent[] = [];
  /** Readers that asked for {@link recent} to be kept; none, and nothing is. */
  private recentHolds = 0;
  private readonly listeners = new Set<EventListener>();
  private lastPublished: number;
  private appended = false;
  private flushQueued = false;
  /**
   * The events after {@link published} that a batch held just before it committed; -1 when not
   * counted. Counted inside the batch's transaction, where the read takes no lock of its own (after
   * the commit, it takes and drops SQLite's WAL read lock: four times the cost).
   */
  private countedBeforeCommit = -1;

  constructor(
    private readonly db: Db,
    private readonly commits: GroupCommit,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.insert = db.prepare(
      "INSERT INTO events (at, kind, operation_id, strategy, instrument, data) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.after = db.prepare(
      "SELECT id, at, kind, operation_id, strategy, instrument, data FROM events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
    );
    this.oldest = db.prepare("SELECT min(id) AS id FROM events").pluck();
    this.countAfter = db.prepare("SELECT count(*) FROM events WHERE id > ?").pluck();
    // The oldest `limit` events up to the first one not older than `before`: a range of ids from
    // the start of the table, read in id order without an index on the time. An event stamped
    // earlier than one before it (the clock set back) waits for those to go first.
    this.pruneBefore = db.prepare(`
      WITH head AS (SELECT id, at FROM events WHERE id <= :published ORDER BY id LIMIT :limit)
      DELETE FROM events
      WHERE id < coalesce((SELECT min(id) FROM head WHERE at >= :before), (SELECT max(id) + 1 FROM head), 0)`);
    // Everything in the table at start is committed.
    this.lastPublished = Number(db.prepare("SELECT coalesce(max(id), 0) FROM events").pluck().get());
    commits.beforeCommit(() => {
      this.countedBeforeCommit = this.appended ? Number(this.countAfter.get(this.lastPublished)) : -1;
    });
    commits.onCommit(() => this.publish(true));
  }

  /** The id of the last committed event (0 when none ever was). */
  get published(): number {
    return this.lastPublished;
  }

  /**
   * Appends an event. Call it inside `commits.write`, with the change it describes, so both are
   * committed or neither is.
   */
  append(kind: EventKind, subject: EventSubject, data: object): void {
    const event: StoredEvent = {
      id: 0,
      at: this.clock.now(),
      kind,
      operationId: subject.operationId ?? null,
      strategy: subject.strategy ?? null,
      instrument: subject.instrument ?? null,
      data: JSON.stringify(data),
    };
    const { lastInsertRowid } = this.insert.run(
      event.at,
      kind,
      event.operationId,
      event.strategy,
      event.instrument,
      event.data,
    );
    event.id = Number(lastInsertRowid);
    this.written.push(event);
    this.appended = true;
    // Written inside a caller's own transaction, not a batch: no batch commit will tell us.
    if (!this.commits.pending && !this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        if (!this.db.inTransaction) this.publish();
      });
    }
  }

  /** Committed events with ids above `afterId`, oldest first, at most `limit` of them. */
  readAfter(afterId: number, limit: number): StoredEvent[] {
    const { recent } = this;
    if (recent.length > 0 && afterId >= recent[0]!.id - 1) {
      const from = firstAfter(recent, afterId);
      return recent.slice(from, from + limit);
    }
    return (this.after.all(afterId, this.lastPublished, limit) as EventRow[]).map(fromRow);
  }

  /** The id of the oldest event kept, or null when none is. */
  oldestId(): number | null {
    const id = this.oldest.get() as bigint | null;
    return id === null ? null : Number(id);
  }

  /**
   * Keeps the latest committed events in memory from the next commit on, until every caller has
   * called the function returned. For readers that follow the log closely: open streams, webhook
   * deliveries.
   */
  keepRecent(): () => void {
    this.recentHolds += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.recentHolds -= 1;
      if (this.recentHolds === 0) this.recent = [];
    };
  }

  /** Registers a listener for every commit's events; returns what unregisters it. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Hands the newly committed events to the listeners; called after each commit. `afterBatch`
   * says that the commit was a batch's, just made, whose count before it may be trusted (not one
   * from a batch whose commit failed).
   */
  publish(afterBatch = false): void {
    const counted = afterBatch ? this.countedBeforeCommit : -1;
    this.countedBeforeCommit = -1;
    if (!this.appended || !this.db.open) return;
    this.appended = false;
    const written = this.written;
    this.written = [];
    // What was appended, unless a savepoint undid some of it: then read what was committed. An
    // event appended after the count before the commit (by a later listener) is counted here.
    const committed = counted === written.length ? counted : Number(this.countAfter.get(this.lastPublished));
    const events =
      committed === written.length
        ? written
        : (this.after.all(this.lastPublished, Number.MAX_SAFE_INTEGER, -1) as EventRow[]).map(fromRow);
    if (events.length === 0) return;
    this.lastPublished = events[events.length - 1]!.id;
    if (this.recentHolds > 0) {
      if (this.recent.length >= 2 * RECENT_EVENTS) this.recent = this.recent.slice(-RECENT_EVENTS);
      for (const event of events) this.recent.push(event);
    }
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (error) {
        // One listener's fault must not keep the events from the others.
        this.logger.error("an event listener failed", { event: "events.listener_failed", error });
      }
    }
  }

  /**
   * Deletes events older than `before` (ms), at most `limit` of them, oldest first; returns how
   * many. Call it in `commits.write`.
   */
  prune(before: number, limit: number): number {
    const pruned = this.pruneBefore.run({ before, published: this.lastPublished, limit }).changes;
    if (pruned > 0) {
      // What is pruned is no longer read, from memory either.
      const oldest = this.oldestId();
      this.recent = oldest === null ? [] : this.recent.slice(firstAfter(this.recent, oldest - 1));
    }
    return pruned;
  }
}

/** The index of the first of `events` (in id order) with an id above `afterId`. */
function firstAfter(events: readonly StoredEvent[], afterId: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (events[middle]!.id > afterId) high = middle;
    else low = middle + 1;
  }
  return low;
}
