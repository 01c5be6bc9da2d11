import type { EventLog } from "./log.js";
import type { StoredEvent } from "./model.js";

/** The parts of an event log the streams use, published by hand. */
export class HandLog {
  published = 0;
  private listener: ((events: readonly StoredEvent[]) => void) | undefined;

  /** The log as the streams take it. */
  get asEventLog(): EventLog {
    return this as unknown as EventLog;
  }

  subscribe(listener: (events: readonly StoredEvent[]) => void): () => void {
    this.listener = listener;
    return () => undefined;
  }
  oldestId(): number | null {
    return null;
  }
  keepRecent(): () => void {
    return () => undefined;
  }
  readAfter(): StoredEvent[] {
    return [];
  }

  /** Publishes `count` operation.opened events of `strategy`, each with `data` as its JSON. */
  commit(count: number, { strategy = "s", data = "{}" }: { strategy?: string; data?: string } = {}): void {
    const events = Array.from({ length: count }, () => ({
      id: ++this.published,
      at: 0,
      kind: "operation.opened" as const,
      operationId: "op",
      strategy,
      instrument: "i",
      data,
    }));
    this.listener?.(events);
  }
}
