import { readFileSync } from "node:fs";
import Transport from "winston-transport";
import { LEVEL, MESSAGE } from "./log-keys.js";

/** What {@link LokiTransport} tells about itself: a level, a message and fields with a stable `event`. */
export type LokiReport = (
  level: "warn" | "info",
  msg: string,
  fields: { event: string; [key: string]: unknown },
) => void;

/** Options of {@link LokiTransport}; the numbers mirror `logging.loki` in the config. */
export interface LokiTransportOptions {
  /** Loki base URL; lines are pushed to `<url>/loki/api/v1/push`. */
  url: string;
  /** Labels of every stream; `level` is added per line. Nothing else ever becomes a label. */
  labels: { service: string; env: string };
  /** File holding a bearer token; read once, here. */
  tokenFile?: string;
  /** `X-Scope-OrgID` for a multi-tenant Loki. */
  tenant?: string;
  /** Lines held (waiting or on the wire); beyond this the oldest waiting line is dropped and counted. */
  maxBufferedLines: number;
  /** Lines per push, at most; this many waiting lines start a push at once. */
  batchSize: number;
  /** Time between two pushes. */
  batchIntervalMs: number;
  /** Deadline of one push; the request is aborted after it. */
  timeoutMs: number;
  /** Longest wait before retrying a failed push. @default 30000 */
  maxBackoffMs?: number;
  /** Least time between two problem reports. @default 60000 */
  reportIntervalMs?: number;
  /** Called with the number of lines that will never reach Loki. */
  onDropped?: (lines: number) => void;
  /** Where problems of the transport are told (never back into this transport). */
  onReport?: LokiReport;
}

/** One line waiting for Loki: its stream's level, its time in Unix nanoseconds, its JSON text. */
interface Entry {
  level: string;
  ns: string;
  line: string;
}

type Outcome = { kind: "delivered" } | { kind: "failed" | "rejected"; detail: string };

/**
 * A winston transport that pushes JSON lines to Loki's push API, with a bounded buffer.
 *
 * Unlike winston-loki it never holds more than `maxBufferedLines` (the oldest waiting line is
 * dropped and counted), aborts every push after `timeoutMs`, retries failed pushes with capped
 * exponential backoff, and installs no process handlers: call {@link flush} and {@link close}.
 */
export class LokiTransport extends Transport {
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;
  private readonly waiting: Ring<Entry>;
  private readonly aborter = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private sending: Entry[] | undefined;
  private inFlight: Promise<Outcome> | undefined;
  private lastNs = 0n;
  private failures = 0;
  private retryAt = 0;
  private stopped = false;
  private lastReportAt = Number.NEGATIVE_INFINITY;
  private unreported = { failedPushes: 0, droppedLines: 0, lastError: "" };
  private outageReported = false;

  constructor(private readonly options: LokiTransportOptions) {
    super();
    this.endpoint = `${options.url.replace(/\/+$/, "")}/loki/api/v1/push`;
    this.headers = { "content-type": "application/json" };
    if (options.tokenFile) {
      this.headers.authorization = `Bearer ${readFileSync(options.tokenFile, "utf8").trim()}`;
    }
    if (options.tenant) this.headers["X-Scope-OrgID"] = options.tenant;
    this.waiting = new Ring(options.maxBufferedLines);
    // unref: a quiet logger must not keep the process alive; flush() is how lines leave at exit.
    this.timer = setInterval(() => this.pump(), options.batchIntervalMs).unref();
  }

  /** Lines held in memory and not yet delivered: waiting, or on the wire. Never above `maxBufferedLines`. */
  get bufferedLines(): number {
    return this.waiting.length + (this.sending?.length ?? 0);
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    // Acknowledge at once: logging never waits for Loki.
    if (!this.stopped) this.enqueue(info);
    next();
  }

  /**
   * Pushes what is buffered, batch after batch, and resolves within `deadlineMs` even when Loki
   * hangs. Stops at the first failed push: at shutdown there is no time to wait for a backoff.
   */
  async flush(deadlineMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    // Not unref'd, unlike the batch timer: whoever awaits the flush must get control back.
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
    });
    try {
      await Promise.race([this.drain(Date.now() + deadlineMs), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the timer and aborts a push on the wire; lines still held are counted as dropped. */
  override close(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.aborter.abort();
    this.drop(this.waiting.length);
    this.waiting.clear();
  }

  private enqueue(info: Record<string | symbol, unknown>): void {
    if (this.bufferedLines >= this.options.maxBufferedLines) {
      // Drop the oldest waiting line. When every held line is on the wire, drop the new one
      // instead: a line on the wire may still arrive, and must not be counted as lost.
      this.drop(1);
      if (this.waiting.length === 0) return;
      this.waiting.shift();
    }
    this.waiting.push({
      level: String(info[LEVEL] ?? info.level),
      ns: this.nanoseconds(info.timestamp),
      line: String(info[MESSAGE]),
    });
    if (this.waiting.length >= this.options.batchSize) this.pump();
  }

  /** The line's time in Unix ns, strictly increasing so Loki keeps lines of one millisecond in order. */
  private nanoseconds(timestamp: unknown): string {
    const ms = typeof timestamp === "string" ? Date.parse(timestamp) : Number.NaN;
    let ns = BigInt(Number.isNaN(ms) ? Date.now() : ms) * 1_000_000n;
    if (ns <= this.lastNs) ns = this.lastNs + 1n;
    this.lastNs = ns;
    return ns.toString();
  }

  /** Starts a push unless one is on the wire, nothing waits, or a backoff is running. */
  private pump(): void {
    if (this.stopped || this.inFlight || this.waiting.length === 0 || Date.now() < this.retryAt) return;
    void this.push(this.options.timeoutMs);
  }

  private async drain(deadline: number): Promise<void> {
    while (!this.stopped && (this.inFlight || this.waiting.length > 0)) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      const outcome = await (this.inFlight ?? this.push(Math.min(this.options.timeoutMs, left)));
      if (outcome.kind === "failed") return;
    }
  }

  /** Sends one batch; the only place that sets `inFlight`, so one push at most is on the wire. */
  private push(timeoutMs: number): Promise<Outcome> {
    const batch = this.waiting.take(this.options.batchSize);
    this.sending = batch;
    const done = this.send(batch, timeoutMs).then((outcome) => {
      this.sending = undefined;
      this.inFlight = undefined;
      try {
        this.settle(batch, outcome);
      } catch {
        // A throwing counter or report callback must not turn into an unhandled rejection.
      }
      return outcome;
    });
    this.inFlight = done;
    return done;
  }

  private async send(batch: Entry[], timeoutMs: number): Promise<Outcome> {
    // The timeout aborts the request itself, so a hung Loki cannot hold a socket and a batch
    // forever. Not `AbortSignal.any([AbortSignal.timeout(…), …])`: that holds the timeout signal
    // weakly, and once a garbage collection takes it (under load, within seconds) the push is
    // never aborted and no line reaches Loki again (nodejs/node#57736; the memory benchmark
    // of bench/ found it). The timer below holds its controller until it fires or is cleared.
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError")),
      timeoutMs,
    ).unref();
    const stop = (): void => controller.abort(this.aborter.signal.reason);
    if (this.aborter.signal.aborted) stop();
    else this.aborter.signal.addEventListener("abort", stop, { once: true });
    try {
      const response = await fetch(this.endpoint, {
        method: "POST",
        headers: this.headers,
        body: encodePush(batch, this.options.labels),
        signal: controller.signal,
      });
      // Read the body in all cases: it frees the connection for the next push.
      const text = await response.text();
      if (response.ok) return { kind: "delivered" };
      const { status } = response;
      // A 4xx judged the batch itself; 429 is back-pressure and 408 a timeout, so those are sent again.
      const rejected = status >= 400 && status < 500 && status !== 408 && status !== 429;
      return { kind: rejected ? "rejected" : "failed", detail: `HTTP ${status}: ${text.slice(0, 200)}` };
    } catch (error) {
      return { kind: "failed", detail: describeError(error) };
    } finally {
      clearTimeout(timer);
      this.aborter.signal.removeEventListener("abort", stop);
    }
  }

  private settle(batch: Entry[], outcome: Outcome): void {
    if (this.stopped) {
      if (outcome.kind !== "delivered") this.drop(batch.length);
      return;
    }
    if (outcome.kind === "delivered") {
      this.failures = 0;
      this.retryAt = 0;
    } else if (outcome.kind === "rejected") {
      // Loki refused the batch as such (bad labels, too old, too large): sending it again cannot help.
      this.drop(batch.length);
      this.noteFailure(outcome.detail);
    } else {
      // Back to the front, oldest first: the ring has room, since lines on the wire count as held.
      this.waiting.unshift(batch);
      this.failures++;
      const backoff = this.options.batchIntervalMs * 2 ** Math.min(this.failures - 1, 20);
      this.retryAt = Date.now() + Math.min(backoff, this.options.maxBackoffMs ?? 30_000);
      this.noteFailure(outcome.detail);
    }
    this.report(outcome);
    // Catch up on a backlog without waiting for the timer.
    if (outcome.kind !== "failed" && this.waiting.length >= this.options.batchSize) this.pump();
  }

  private noteFailure(detail: string): void {
    this.unreported.failedPushes++;
    this.unreported.lastError = detail;
  }

  private drop(lines: number): void {
    if (lines <= 0) return;
    this.unreported.droppedLines += lines;
    this.options.onDropped?.(lines);
  }

  /**
   * Tells what went wrong since the last report, at most once per interval so a Loki outage
   * cannot flood the console; the end of a reported outage is told at once.
   */
  private report(outcome: Outcome): void {
    const { failedPushes, droppedLines, lastError } = this.unreported;
    const fields = {
      failedPushes,
      droppedLines,
      bufferedLines: this.bufferedLines,
      ...(lastError ? { error: lastError } : {}),
    };
    if (outcome.kind === "delivered" && this.outageReported) {
      this.outageReported = false;
      this.tell("info", "loki push succeeded again", { event: "logs.loki_recovered", ...fields });
      return;
    }
    if (failedPushes === 0 && droppedLines === 0) return;
    if (Date.now() - this.lastReportAt < (this.options.reportIntervalMs ?? 60_000)) return;
    if (outcome.kind === "failed") {
      this.outageReported = true;
      this.tell("warn", "loki push failed; lines are kept and retried", {
        event: "logs.loki_push_failed",
        ...fields,
      });
    } else if (outcome.kind === "rejected") {
      this.tell("warn", "loki rejected a push; its lines are dropped", {
        event: "logs.loki_push_rejected",
        ...fields,
      });
    } else {
      this.tell("warn", "log lines were dropped or pushes failed since the last report", {
        event: "logs.loki_lines_dropped",
        ...fields,
      });
    }
  }

  private tell(...[level, msg, fields]: Parameters<LokiReport>): void {
    this.lastReportAt = Date.now();
    this.unreported = { failedPushes: 0, droppedLines: 0, lastError: "" };
    this.options.onReport?.(level, msg, fields);
  }
}

/** `TypeError: fetch failed (connect ECONNREFUSED …)`: undici keeps the useful part in `cause`. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : "";
  return `${error.name}: ${error.message}${cause}`;
}

/** The JSON push body: one stream per level, values in order. */
function encodePush(batch: readonly Entry[], labels: LokiTransportOptions["labels"]): string {
  const streams = new Map<string, [string, string][]>();
  for (const { level, ns, line } of batch) {
    const values = streams.get(level) ?? [];
    if (values.length === 0) streams.set(level, values);
    values.push([ns, line]);
  }
  return JSON.stringify({
    streams: [...streams].map(([level, values]) => ({
      stream: { service: labels.service, env: labels.env, level },
      values,
    })),
  });
}

/** A fixed-capacity FIFO over an array: O(1) at both ends, no reallocation while Loki is down. */
class Ring<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  length = 0;

  constructor(private readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  /** Appends; the caller keeps `length < capacity`. */
  push(item: T): void {
    this.items[(this.head + this.length) % this.capacity] = item;
    this.length++;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.length--;
    return item;
  }

  /** Puts items back at the front, in their order; the caller keeps the total within capacity. */
  unshift(items: readonly T[]): void {
    for (let i = items.length - 1; i >= 0; i--) {
      this.head = (this.head - 1 + this.capacity) % this.capacity;
      this.items[this.head] = items[i];
      this.length++;
    }
  }

  /** Removes and returns up to `n` items from the front. */
  take(n: number): T[] {
    const out: T[] = [];
    while (out.length < n && this.length > 0) out.push(this.shift() as T);
    return out;
  }

  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.length = 0;
  }
}
