import type { ServerResponse } from "node:http";
import { constants, crc32, deflateRawSync } from "node:zlib";
import { crc32Combine } from "../platform/crc32-combine.js";
import { DomainError } from "../platform/errors.js";
import type { EventLog } from "./log.js";
import type { EventMetrics, StreamEndReason } from "./metrics.js";
import { eventJson, matches, type EventFilter, type StoredEvent } from "./model.js";

/** Where a client asks its stream to start: after an event id, given in a header or the query. */
export interface Resume {
  afterId: number;
  /** The request field that named it, for the error when it names an event never sent. */
  field: "header.last-event-id" | "query.lastEventId";
}

/** How the event streams behave. */
export interface StreamSettings {
  /** Clients connected at once; one more is answered 503. */
  maxClients: number;
  /** Bytes of events held for one client that is not reading; beyond them it is cut off. */
  maxBufferedBytes: number;
  /** A comment sent to an idle client this often, so proxies keep the connection. */
  heartbeatMs: number;
  /** How long a client that was cut off has to read the reason before its connection is dropped. */
  cutoffGraceMs: number;
  /**
   * The shortest time between two writes of live events to the clients. Events committed while
   * the stream is quiet are written at once; in a busy moment the commits of the interval reach
   * each client in one write instead of one write per commit: at saturation a commit comes every
   * few milliseconds, and each write is a syscall per client, the largest cost of the streams.
   */
  flushIntervalMs: number;
}

/** Whether an `Accept-Encoding` header accepts gzip (named, with a q above 0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(",").some((part) => {
    const [coding, ...params] = part.split(";").map((piece) => piece.trim().toLowerCase());
    if (coding !== "gzip") return false;
    const q = params.find((param) => param.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** Events read from the database per step of a replay. */
const REPLAY_PAGE = 500;
/**
 * Clients written per turn of a flush. At a few thousand events a second, a flush writes each of
 * a hundred clients a few hundred kilobytes: in one turn that held every request behind it for
 * tens of milliseconds.
 */
const FLUSH_SLICE = 10;
/** The reconnection delay suggested to EventSource clients, in ms. */
const RETRY_MS = 2_000;

const encoder = new TextEncoder();
/** The comment an idle stream is sent. */
const HEARTBEAT = encoder.encode(": heartbeat\n\n");

/** One SSE frame: the event's id (for Last-Event-ID), its kind as the event name, its JSON. */
function frameOf(event: StoredEvent): string {
  return `id: ${event.id}\nevent: ${event.kind}\ndata: ${eventJson(event)}\n\n`;
}

/** A frame opsguard sends about the stream itself (`stream.gap`, `stream.closed`). */
function controlFrame(name: string, data: object): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Frames published together, encoded once for every client that takes them (at the first write
 * of one of them).
 */
class Segment {
  private bytes: Uint8Array | undefined;
  /**
   * @param count the events in it.
   * @param shared whether it holds what one filter selects of a whole commit: such segments go to
   * every client with that filter that was following the stream before the commit, in the order
   * they were published.
   */
  constructor(
    readonly text: string,
    readonly count: number,
    readonly shared = false,
  ) {}
  get encoded(): Uint8Array {
    return (this.bytes ??= encoder.encode(this.text));
  }
}

/** One chunk of the segments, copied only when there is more than one. */
function chunkOf(segments: readonly Segment[]): Uint8Array {
  return segments.length === 1 ? segments[0]!.encoded : Buffer.concat(segments.map((s) => s.encoded));
}

/** The same string for filters that select the same events; "" for none. */
function filterKey({ kinds, strategies, instruments }: EventFilter): string {
  if (!kinds && !strategies && !instruments) return "";
  const sorted = (values: ReadonlySet<string> | undefined) => (values ? [...values].sort() : null);
  return JSON.stringify([sorted(kinds), sorted(strategies), sorted(instruments)]);
}

/**
 * Where a client's bytes go: Node's response for a connection served by opsguard, a web
 * `ReadableStream` for a request answered in-process (`app.request`).
 */
interface Sink {
  /** Sends a chunk; true when the connection takes more at once (else the sink says when). */
  write(chunk: Uint8Array): boolean;
  /** Sends the last frame and ends; the connection is dropped if that is not read within `graceMs`. */
  end(frame: Uint8Array, graceMs: number, reason: StreamEndReason): void;
}

/**
 * Writes to Node's response as the connection takes it: one `write` per chunk, and the next when
 * `drain` says the socket took the last. In place of a web `ReadableStream` piped to the response,
 * which cost a read, a pull and their promises per chunk per client: 15% of the streams' CPU with
 * a hundred clients (bench/stream-writes.ts).
 */
class ResponseSink implements Sink {
  constructor(private readonly res: ServerResponse) {}

  write(chunk: Uint8Array): boolean {
    return this.res.write(chunk);
  }

  end(frame: Uint8Array, graceMs: number): void {
    const { res } = this;
    if (res.destroyed) return;
    res.end(frame);
    if (res.writableFinished) return;
    const timer = setTimeout(() => res.destroy(), graceMs);
    timer.unref();
    res.once("close", () => clearTimeout(timer));
  }
}

/** Enqueues on a pull-driven `ReadableStream` of one chunk: its `pull` says when it takes more. */
class WebSink implements Sink {
  private cutoffTimer: NodeJS.Timeout | undefined;
  /** A read is waiting: set by the stream's pull, taken by a write. */
  reading = false;

  constructor(private readonly controller: ReadableStreamDefaultController<Uint8Array>) {}

  write(chunk: Uint8Array): boolean {
    this.reading = false;
    this.controller.enqueue(chunk);
    return false;
  }

  end(frame: Uint8Array, graceMs: number, reason: StreamEndReason): void {
    const { controller } = this;
    try {
      controller.enqueue(frame);
      // A client that is reading takes the frame at once; any other is closed at its next read.
      if (this.reading) {
        controller.close();
        return;
      }
    } catch {
      return; // The client's side was already gone.
    }
    this.cutoffTimer = setTimeout(() => {
      try {
        controller.error(new Error(`event stream ended: ${reason}`));
      } catch {
        // Closed and read meanwhile.
      }
    }, graceMs);
    this.cutoffTimer.unref();
  }

  /** The last frame was read: the stream may close. */
  taken(): void {
    clearTimeout(this.cutoffTimer);
    this.controller.close();
  }
}

/** The gzip header: deflate, no name or time, from an unknown system. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** A last, empty deflate block: ends the compressed data before the gzip trailer. */
const DEFLATE_END = deflateRawSync(Buffer.alloc(0));

/** A chunk compressed for gzip streams, and the CRC-32 of what it holds. */
interface Compressed {
  bytes: Buffer;
  crc: number;
}

/**
 * Compresses a chunk on its own: raw deflate at level 1 (the fastest), flushed to a byte boundary
 * and referring to nothing before it, so the same bytes can follow whatever a client was sent
 * before. A chunk shared by many clients is compressed once for all of them.
 */
function compress(chunk: Uint8Array): Compressed {
  return {
    bytes: deflateRawSync(chunk, { level: 1, finishFlush: constants.Z_SYNC_FLUSH }),
    crc: crc32(chunk),
  };
}

/** Where one client's stream stands. */
class Client {
  /** The id of the last event this client was given (or skipped by its filter). */
  cursor: number;
  /** Replaying from the database, until it has caught up with what is published. */
  replaying: boolean;
  /** Frames published and not written yet: waiting for the flush, or for the connection. */
  queue: Segment[] = [];
  queuedBytes = 0;
  /** The connection takes more: the next frames go straight to it. */
  waiting = false;
  /** A replay step is under way. */
  replayRunning = false;
  ended = false;
  /** Clients with the same key take the same segments. */
  readonly filterKey: string;
  /** The CRC-32 and the length (modulo 2^32) of what a gzip client was sent, for the trailer. */
  crc = 0;
  size = 0;

  constructor(
    readonly sink: Sink,
    readonly filter: EventFilter,
    cursor: number,
    replaying: boolean,
    /** The stream is gzip: each chunk is sent compressed. */
    readonly gzip: boolean,
  ) {
    this.cursor = cursor;
    this.replaying = replaying;
    this.filterKey = filterKey(filter);
  }
}

/**
 * The Server-Sent Events streams of `GET /v1/events`.
 *
 * A client that reconnects with the id of the last event it got (`Last-Event-ID`) is first
 * replayed what it missed from the database, a page at a time and only as fast as it reads, then
 * joins the live events: no gap and no duplicate, across restarts too, since every id is stored
 * with its change. Live events are encoded once for every client that takes them all; a quiet
 * stream is written at once, and a busy one at most once per `flushIntervalMs`.
 *
 * Written on a pull-driven `ReadableStream` rather than `hono/streaming`'s `streamSSE` (one
 * awaited write per event per client): a busy book commits hundreds of times a second, and a
 * hundred clients would otherwise cost a hundred writes per event.
 *
 * Memory is bounded: what a client has not read is held up to `maxBufferedBytes`; a client beyond
 * that is cut off with a `stream.closed` frame naming the reason (it reconnects and replays from
 * the database), and its connection is dropped if it does not read even that.
 */
export class EventStreams {
  private readonly clients = new Set<Client>();
  private heartbeat: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** When the last flush ran (performance.now()). */
  private flushedAt = -Infinity;
  private closed = false;
  private heldBytes = 0;
  /** The chunks sent to gzip streams, compressed, by the chunk: a shared chunk is compressed once. */
  private readonly compressed = new WeakMap<Uint8Array, Compressed>();
  /** Releases the event log's recent events, held while any client is connected. */
  private releaseRecent: (() => void) | undefined;

  constructor(
    private readonly log: EventLog,
    private readonly settings: StreamSettings,
    private readonly metrics: EventMetrics,
  ) {
    log.subscribe((events) => this.publish(events));
  }

  /** Bytes of events held for clients that have not read them, all clients together. */
  get bufferedBytes(): number {
    return this.heldBytes;
  }

  /** Clients connected now. */
  get size(): number {
    return this.clients.size;
  }

  /**
   * Opens a stream of the events after `resume.afterId` (replayed, then live), or of the events
   * from now on without `resume`, as a web `ReadableStream`; a gzip stream with `gzip`. Throws
   * `TOO_MANY_STREAMS` at `maxClients`, and `VALIDATION_FAILED` naming `resume.field` for an id
   * beyond the last event recorded.
   */
  open(resume: Resume | undefined, filter: EventFilter, gzip = false): ReadableStream<Uint8Array> {
    const { cursor, first } = this.admit(resume);
    let client!: Client;
    let sink!: WebSink;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          sink = new WebSink(controller);
          client = this.add(sink, filter, cursor, first, gzip);
        },
        pull: () => {
          // The stream.closed frame was taken: the connection may end now.
          if (client.ended) return sink.taken();
          sink.reading = true;
          this.ready(client);
        },
        cancel: () => this.end(client, "client"),
      },
      // One chunk at a time: what the connection has not taken stays in the client's queue,
      // where it is counted and bounded.
      { highWaterMark: 1 },
    );
  }

  /**
   * As {@link open}, written to Node's response: sends the status and `headers`, then the events
   * as the connection takes them. Throws before anything is sent, as `open` does.
   */
  openResponse(
    res: ServerResponse,
    resume: Resume | undefined,
    filter: EventFilter,
    headers: Record<string, string>,
    gzip = false,
  ): void {
    const { cursor, first } = this.admit(resume);
    res.writeHead(200, headers);
    const client = this.add(new ResponseSink(res), filter, cursor, first, gzip);
    res.on("drain", () => this.ready(client));
    res.on("close", () => this.end(client, "client"));
  }

  /** Checks that a stream may open where `resume` asks; where it starts, and its first frame. */
  private admit(resume: Resume | undefined): { cursor: number; first: string } {
    const afterId = resume?.afterId;
    if (this.closed) throw new DomainError("NOT_READY", "opsguard is stopping");
    if (this.clients.size >= this.settings.maxClients) {
      throw new DomainError(
        "TOO_MANY_STREAMS",
        `${this.settings.maxClients} event streams are open (events.maxClients); try again later`,
      );
    }
    const published = this.log.published;
    if (resume && resume.afterId > published) {
      const name = resume.field === "query.lastEventId" ? "lastEventId" : "Last-Event-ID";
      throw new DomainError("VALIDATION_FAILED", `${name} names an event that was never sent`, [
        {
          code: "UNKNOWN_EVENT_ID",
          message: `event ${resume.afterId} is beyond the last event recorded (${published})`,
          path: resume.field,
        },
      ]);
    }
    const start = afterId ?? published;
    let first = `retry: ${RETRY_MS}\n: connected, events after ${start}\n\n`;
    let cursor = start;
    const oldest = this.log.oldestId() ?? published + 1;
    if (start + 1 < oldest && start < published) {
      // Pruned by events.retentionHours: say so, rather than skip them silently.
      cursor = Math.min(oldest - 1, published);
      first += controlFrame("stream.gap", {
        from: start + 1,
        to: cursor,
        message: "these events are older than events.retentionHours and were pruned",
      });
    }
    return { cursor, first };
  }

  /** Adds a client and sends it its first frame. */
  private add(sink: Sink, filter: EventFilter, cursor: number, first: string, gzip: boolean): Client {
    const client = new Client(sink, filter, cursor, cursor < this.log.published, gzip);
    this.clients.add(client);
    this.releaseRecent ??= this.log.keepRecent();
    this.metrics.streamClients.set(this.clients.size);
    const greeting = this.pack(client, encoder.encode(first));
    if (sink.write(gzip ? Buffer.concat([GZIP_HEADER, greeting]) : greeting)) this.ready(client);
    return client;
  }

  /**
   * What to send the client for `chunk`: the chunk itself, or for a gzip stream the chunk
   * compressed (once for every client that is sent the same chunk), counted into the trailer.
   */
  private pack(client: Client, chunk: Uint8Array): Uint8Array {
    if (!client.gzip) return chunk;
    let compressed = this.compressed.get(chunk);
    if (!compressed) {
      compressed = compress(chunk);
      this.compressed.set(chunk, compressed);
    }
    client.crc = crc32Combine(client.crc, compressed.crc, chunk.length);
    client.size = (client.size + chunk.length) % 2 ** 32;
    return compressed.bytes;
  }

  /** Ends every stream (reason `shutdown`) and stops the heartbeat. */
  close(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    // What was published before the stop reaches the clients before they are told.
    clearTimeout(this.flushTimer);
    this.flush(false);
    for (const client of [...this.clients]) {
      this.finish(client, "shutdown", "opsguard is stopping; reconnect with Last-Event-ID");
    }
  }

  /** Starts the heartbeat. */
  start(): void {
    this.heartbeat ??= setInterval(() => this.beat(), this.settings.heartbeatMs);
    this.heartbeat.unref();
  }

  /** The client's connection takes more: its replay goes on, or what it has queued is written. */
  private ready(client: Client): void {
    if (client.ended || client.replayRunning) return;
    if (client.replaying) {
      void this.replay(client);
      return;
    }
    if (client.queue.length > 0) {
      this.write(client);
      return;
    }
    client.waiting = true;
  }

  /** Sends the client the next page of what it missed, read from the database. */
  private async replay(client: Client): Promise<void> {
    client.replayRunning = true;
    try {
      while (client.replaying) {
        const page = this.log.readAfter(client.cursor, REPLAY_PAGE);
        let chunk = "";
        let count = 0;
        for (const event of page) {
          if (!matches(client.filter, event)) continue;
          chunk += frameOf(event);
          count++;
        }
        if (page.length > 0) client.cursor = page[page.length - 1]!.id;
        // Caught up: everything after the cursor will come from publish.
        if (page.length < REPLAY_PAGE) client.replaying = false;
        if (chunk !== "") {
          this.metrics.streamEventsSent.inc(count);
          // Taken at once: the next page after other work has had a turn.
          if (client.sink.write(this.pack(client, encoder.encode(chunk)))) {
            setImmediate(() => this.ready(client));
          }
          return;
        }
        // A filter that skipped a whole page: let other work run before the next one.
        if (client.replaying) await new Promise((resolve) => setImmediate(resolve));
        if (client.ended) return;
      }
    } finally {
      client.replayRunning = false;
    }
    this.ready(client);
  }

  /**
   * Writes what the client has queued, in one chunk. `shared` holds the chunks of this flush by
   * their segments, so that clients with the same queue (every client without a filter that keeps
   * up) share one copy.
   */
  private write(
    client: Client,
    shared?: Map<Segment, { last: Segment; length: number; chunk: Uint8Array }>,
  ): void {
    const { queue } = client;
    const first = queue[0]!;
    const last = queue[queue.length - 1]!;
    let chunk: Uint8Array;
    // Queues of shared segments from the same first to the same last are the same queue: each
    // client of a filter that keeps up takes every segment of that filter, in order.
    const whole = shared !== undefined && queue.every((segment) => segment.shared);
    const known = whole ? shared.get(first) : undefined;
    if (known && known.last === last && known.length === queue.length) {
      chunk = known.chunk;
    } else {
      chunk = chunkOf(queue);
      if (whole) shared.set(first, { last, length: queue.length, chunk });
    }
    this.heldBytes -= client.queuedBytes;
    client.queue = [];
    client.queuedBytes = 0;
    client.waiting = false;
    if (client.sink.write(this.pack(client, chunk))) client.waiting = true;
  }

  /**
   * Writes to every client that is reading what was published since the last flush,
   * {@link FLUSH_SLICE} clients a turn unless `sliced` is false (at shutdown).
   */
  private flush(sliced = true): void {
    this.flushTimer = undefined;
    this.flushedAt = performance.now();
    const shared = new Map<Segment, { last: Segment; length: number; chunk: Uint8Array }>();
    this.flushSlice([...this.clients], 0, sliced ? FLUSH_SLICE : Number.POSITIVE_INFINITY, shared);
  }

  /**
   * One turn of a flush. A client published to meanwhile takes what came since with the rest, in
   * the same write; one that left, or stopped reading, meanwhile is skipped.
   */
  private flushSlice(
    clients: readonly Client[],
    from: number,
    count: number,
    shared: Map<Segment, { last: Segment; length: number; chunk: Uint8Array }>,
  ): void {
    const to = Math.min(from + count, clients.length);
    for (let i = from; i < to; i++) {
      const client = clients[i]!;
      if (!client.ended && client.waiting && client.queue.length > 0) this.write(client, shared);
    }
    this.metrics.streamBufferedBytes.set(this.heldBytes);
    if (to < clients.length && !this.closed) setImmediate(() => this.flushSlice(clients, to, count, shared));
  }

  private publish(events: readonly StoredEvent[]): void {
    for (const event of events) this.metrics.events.inc({ kind: event.kind });
    if (this.clients.size === 0) return;
    // Each frame is built once, however many clients take it, and what a filter selects of the
    // commit once for every client with that filter (a strategy's clients, say).
    const frames = events.map(frameOf);
    const first = events[0]!.id;
    const last = events[events.length - 1]!.id;
    const byFilter = new Map<string, Segment | null>();
    const select = (client: Client, shared: boolean): Segment | null => {
      let text = "";
      let count = 0;
      for (let i = 0; i < events.length; i++) {
        if (events[i]!.id > client.cursor && matches(client.filter, events[i]!)) {
          text += frames[i];
          count++;
        }
      }
      return count > 0 ? new Segment(text, count, shared) : null;
    };
    let sent = 0;
    for (const client of this.clients) {
      if (client.replaying || client.ended) continue;
      let segment: Segment | null | undefined;
      if (client.cursor < first) {
        // The whole commit is new to it: it takes what every client with its filter takes.
        segment = byFilter.get(client.filterKey);
        if (segment === undefined) {
          segment =
            client.filterKey === ""
              ? new Segment(frames.join(""), events.length, true)
              : select(client, true);
          byFilter.set(client.filterKey, segment);
        }
      } else {
        // Part of the commit was replayed to it already.
        segment = select(client, false);
      }
      client.cursor = last;
      if (!segment) continue;
      sent += segment.count;
      client.queue.push(segment);
      client.queuedBytes += segment.text.length;
      this.heldBytes += segment.text.length;
      if (client.queuedBytes > this.settings.maxBufferedBytes) {
        // A client that is reading gets it now rather than at the flush: only one that does not
        // read is too slow.
        if (client.waiting) {
          this.write(client);
          continue;
        }
        this.finish(
          client,
          "slow_consumer",
          `the client did not read ${client.queuedBytes} bytes of events (events.maxBufferedBytes ${this.settings.maxBufferedBytes}); reconnect with Last-Event-ID to replay them`,
        );
      }
    }
    this.metrics.streamEventsSent.inc(sent);
    this.metrics.streamBufferedBytes.set(this.heldBytes);
    if (sent > 0 && this.flushTimer === undefined) {
      const wait = Math.max(0, this.flushedAt + this.settings.flushIntervalMs - performance.now());
      this.flushTimer = setTimeout(() => this.flush(), wait);
    }
  }

  private beat(): void {
    for (const client of this.clients) {
      if (client.waiting) {
        client.waiting = client.sink.write(this.pack(client, HEARTBEAT));
      }
    }
  }

  /**
   * Drops what the client had not read, sends it why, and closes its stream once it has read that;
   * if it does not within `cutoffGraceMs`, its connection is dropped.
   */
  private finish(client: Client, reason: StreamEndReason, message: string): void {
    if (client.ended) return;
    const frame = controlFrame("stream.closed", { reason, message, lastEventId: client.cursor });
    this.end(client, reason);
    let last = this.pack(client, encoder.encode(frame));
    if (client.gzip) {
      // The gzip stream ends whole: the last deflate block, then the CRC-32 and length of all.
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(client.crc, 0);
      trailer.writeUInt32LE(client.size, 4);
      last = Buffer.concat([last, DEFLATE_END, trailer]);
    }
    client.sink.end(last, this.settings.cutoffGraceMs, reason);
  }

  private end(client: Client, reason: StreamEndReason): void {
    if (client.ended) return;
    client.ended = true;
    client.waiting = false;
    this.heldBytes -= client.queuedBytes;
    client.queue = [];
    client.queuedBytes = 0;
    this.clients.delete(client);
    if (this.clients.size === 0) {
      this.releaseRecent?.();
      this.releaseRecent = undefined;
    }
    this.metrics.streamClients.set(this.clients.size);
    this.metrics.streamBufferedBytes.set(this.heldBytes);
    this.metrics.streamEnded.inc({ reason });
  }
}
