import { setTimeout as sleep } from "node:timers/promises";
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { EventJson } from "../events/model.js";

/** An event of `GET /v1/events`, as its JSON reads. */
export type OpsguardEvent = EventJson;

export interface EventFollowerOptions {
  baseUrl: string;
  token: string;
  /** Query of the stream, e.g. `kinds=operation.closed,trading.state_changed`. */
  query?: string;
  onEvent: (event: OpsguardEvent) => void;
  /** Told when the connection ends and why; the follower reconnects by itself. */
  onDisconnect?: (reason: string) => void;
  /** Wait before reconnecting. @default 1000 */
  retryMs?: number;
}

/**
 * A client of `GET /v1/events` that never misses an event: it remembers the id of the last one
 * and reconnects with `Last-Event-ID`, so opsguard replays what it missed while it was away (also
 * when opsguard restarted meanwhile). What the demo strategy learns its operations' fates from,
 * instead of polling.
 */
export class EventFollower {
  private lastEventId: number | undefined;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly options: EventFollowerOptions) {}

  /** Follows the stream until {@link stop}, from now on (or after `lastEventId`). */
  start(lastEventId?: number): void {
    this.lastEventId = lastEventId;
    this.running = this.follow();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  private async follow(): Promise<void> {
    const { baseUrl, token, query, onDisconnect, retryMs = 1_000 } = this.options;
    while (!this.abort.signal.aborted) {
      try {
        const headers: Record<string, string> = { authorization: `Bearer ${token}` };
        if (this.lastEventId !== undefined) headers["last-event-id"] = String(this.lastEventId);
        const response = await fetch(`${baseUrl}/v1/events${query ? `?${query}` : ""}`, {
          headers,
          signal: this.abort.signal,
        });
        if (response.status !== 200 || !response.body)
          throw new Error(`the stream answered ${response.status}`);
        const messages = response.body
          .pipeThrough(new TextDecoderStream())
          .pipeThrough(new EventSourceParserStream());
        for await (const message of messages) {
          if (message.event === "stream.closed") {
            onDisconnect?.((JSON.parse(message.data) as { reason: string }).reason);
            continue;
          }
          if (message.id === undefined) continue; // stream.gap and comments carry no event
          const event = JSON.parse(message.data) as OpsguardEvent;
          this.lastEventId = event.id;
          this.options.onEvent(event);
        }
        onDisconnect?.("ended");
      } catch (error) {
        if (this.abort.signal.aborted) return;
        onDisconnect?.((error as Error).message);
      }
      await sleep(retryMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
    }
  }
}
