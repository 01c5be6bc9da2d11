import type { Statement } from "better-sqlite3";
import type { Db } from "../../platform/db.js";

/**
 * The `webhook_cursors` table: per endpoint, the id of the last event it acknowledged (or that
 * its filters skipped). Everything after it is still to be delivered: the events table is the
 * outbox, and this row is all the delivery state that survives a restart.
 */
export class WebhookCursors {
  private readonly insert: Statement;
  private readonly select: Statement;
  private readonly update: Statement;

  constructor(db: Db) {
    this.insert = db.prepare(
      "INSERT INTO webhook_cursors (endpoint, last_event_id, updated_at) VALUES (?, ?, ?) ON CONFLICT (endpoint) DO NOTHING",
    );
    this.select = db.prepare("SELECT last_event_id FROM webhook_cursors WHERE endpoint = ?").pluck();
    this.update = db.prepare(
      "UPDATE webhook_cursors SET last_event_id = ?, updated_at = ? WHERE endpoint = ?",
    );
  }

  /**
   * The endpoint's cursor; an endpoint without one gets `initial` (it is sent what comes after),
   * recorded now. Call it inside `commits.write`.
   */
  open(endpoint: string, initial: number, now: number): number {
    this.insert.run(endpoint, initial, now);
    // The connection reads integers as BigInt; event ids stay far below 2^53.
    return Number(this.select.get(endpoint));
  }

  /** Moves the endpoint's cursor to `lastEventId`. Call it inside `commits.write`. */
  advance(endpoint: string, lastEventId: number, now: number): void {
    this.update.run(lastEventId, now, endpoint);
  }
}
