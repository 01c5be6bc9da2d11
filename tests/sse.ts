import { EventSourceParserStream, type EventSourceMessage } from "eventsource-parser/stream";

/** An event of a stream as a client reads it, with its data parsed. */
export interface ReceivedEvent {
  id: string | undefined;
  event: string | undefined;
  data: Record<string, unknown>;
}

/** Reads the Server-Sent Events of a response body, one at a time. */
export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<EventSourceMessage>;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body
      .pipeThrough(new TextDecoderStream())
      .pipeThrough(new EventSourceParserStream({ onError: "terminate" }))
      .getReader();
  }

  /** The next event, or undefined once the stream has ended. */
  async next(timeoutMs = 5_000): Promise<ReceivedEvent | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const { done, value } = await Promise.race([this.reader.read(), timeout]);
      if (done) return undefined;
      return { id: value.id, event: value.event, data: JSON.parse(value.data) as Record<string, unknown> };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next `count` events. */
  async take(count: number, timeoutMs = 5_000): Promise<ReceivedEvent[]> {
    const events: ReceivedEvent[] = [];
    while (events.length < count) {
      const event = await this.next(timeoutMs);
      if (!event) throw new Error(`the stream ended after ${events.length} of ${count} events`);
      events.push(event);
    }
    return events;
  }

  async cancel(): Promise<void> {
    await this.reader.cancel();
  }
}
