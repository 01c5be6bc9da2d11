import { z } from "zod";
import { parseLogLine, type LogEntry, type LogSource } from "./log-line.js";

/**
 * Reads the service's lines back from Loki's `GET /loki/api/v1/query_range` for a time window,
 * page by page, oldest first.
 */

/** Options of {@link readLokiLines}. */
export interface LokiSourceOptions {
  /** Loki base URL, e.g. http://loki:3100 (`logging.loki.url`). */
  url: string;
  /** Start of the window, epoch ms, inclusive. */
  from: number;
  /** End of the window, epoch ms, exclusive (as Loki's `end`). */
  to: number;
  /** The `service` label. @default "opsguard" */
  service?: string;
  /** The `env` label; every env when unset. */
  env?: string;
  /** Sent as `Authorization: Bearer …` (for a gateway in front of Loki). */
  token?: string;
  /** `X-Scope-OrgID` for a multi-tenant Loki. */
  tenant?: string;
  /** Entries per request; at most Loki's `max_entries_limit_per_query` (5000 by default). @default 1000 */
  pageSize?: number;
  /** Deadline of one request, body included. @default 10000 */
  timeoutMs?: number;
  /** Requests at most; past them the read stops and `stats.truncated` is set. @default 1000 */
  maxPages?: number;
  /** Cancels the whole read. */
  signal?: AbortSignal;
}

/** What one read from Loki met, besides the entries it yielded. */
export interface LokiSourceStats {
  requests: number;
  /** Entries yielded. */
  entries: number;
  /** Entries Loki sent again at a page boundary, dropped (see {@link readLokiLines}). */
  duplicates: number;
  /** Nanoseconds holding more than a page of entries, stepped over: some of their entries are missed. */
  collisions: number;
  /** `maxPages` ran out before the window did. */
  truncated: boolean;
}

/** Loki's answer to a log query (`resultType: "streams"`); a third item of a value (structured metadata) is allowed. */
const LokiStreamsResponse = z.object({
  status: z.literal("success"),
  data: z.object({
    resultType: z.literal("streams"),
    result: z.array(
      z.object({
        stream: z.record(z.string(), z.string()),
        values: z.array(z.tuple([z.string().regex(/^\d+$/), z.string()], z.unknown())),
      }),
    ),
  }),
});
type LokiStreamsResponse = z.infer<typeof LokiStreamsResponse>;

interface Entry {
  ns: bigint;
  stream: string;
  line: string;
}

/** The LogQL selector of the service's streams, label values escaped as LogQL strings. */
export function buildLokiQuery(service: string, env?: string): string {
  const quote = (value: string): string => `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  return env === undefined ? `{service=${quote(service)}}` : `{service=${quote(service)}, env=${quote(env)}}`;
}

/**
 * The entries of `[from, to)` in Loki, oldest first. Pages are asked for with `direction=forward`
 * and `limit`; the next page starts *at* the last timestamp seen rather than after it, because
 * other entries of that nanosecond may not have fitted in the page, and the entries of that
 * nanosecond already yielded are dropped when sent again. Only when a whole page shares one
 * nanosecond is it stepped over (counted in `stats.collisions`). Throws an Error saying what went
 * wrong on an unreachable Loki, a non-2xx answer, an answer that is not JSON or not streams, or a
 * request over `timeoutMs`.
 */
export function readLokiLines(options: LokiSourceOptions): LogSource<LokiSourceStats> {
  const base = options.url.replace(/\/+$/, "");
  const pageSize = options.pageSize ?? 1000;
  const maxPages = options.maxPages ?? 1000;
  const query = buildLokiQuery(options.service ?? "opsguard", options.env);
  const headers: Record<string, string> = { accept: "application/json" };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.tenant) headers["x-scope-orgid"] = options.tenant;
  const endNs = BigInt(options.to) * 1_000_000n;

  const source = {
    stats: emptyStats(),
    async *[Symbol.asyncIterator](): AsyncGenerator<LogEntry> {
      const stats = emptyStats();
      source.stats = stats;
      let startNs = BigInt(options.from) * 1_000_000n;
      // Entries at `startNs` already yielded: Loki sends them again at the top of the next page.
      let seen = new Set<string>();
      while (startNs < endNs) {
        if (stats.requests >= maxPages) {
          stats.truncated = true;
          return;
        }
        const params = new URLSearchParams({
          query,
          start: startNs.toString(),
          end: endNs.toString(),
          limit: String(pageSize),
          direction: "forward",
        });
        stats.requests++;
        const page = flatten(
          await fetchPage(`${base}/loki/api/v1/query_range?${params.toString()}`, headers, options),
        );
        // Loki keeps to the range; should a proxy not, nothing outside it is yielded, nor paged back to.
        const entries = page.filter((entry) => entry.ns >= startNs && entry.ns < endNs);
        let fresh = 0;
        for (const entry of entries) {
          if (entry.ns === startNs && seen.has(keyOf(entry))) {
            stats.duplicates++;
            continue;
          }
          fresh++;
          stats.entries++;
          yield parseLogLine(entry.line, Number(entry.ns / 1_000_000n));
        }
        const last = entries.at(-1);
        if (!last || page.length < pageSize) return;
        if (last.ns === startNs && fresh === 0) {
          // More than a page in one nanosecond: start/end cannot reach the rest of it.
          stats.collisions++;
          startNs++;
          seen = new Set();
          continue;
        }
        if (last.ns !== startNs) seen = new Set();
        for (const entry of entries) if (entry.ns === last.ns) seen.add(keyOf(entry));
        startNs = last.ns;
      }
    },
  };
  return source;
}

/** One request, its body read within the same deadline, checked and parsed. */
async function fetchPage(
  url: string,
  headers: Record<string, string>,
  options: LokiSourceOptions,
): Promise<LokiStreamsResponse> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const where = new URL(url).origin;
  let status: number;
  let statusText: string;
  let body: string;
  try {
    const response = await fetch(url, { headers, signal });
    status = response.status;
    statusText = response.statusText;
    body = await response.text();
  } catch (error) {
    if (timeout.aborted)
      throw new Error(`Loki at ${where} did not answer within ${timeoutMs} ms`, { cause: error });
    if (options.signal?.aborted)
      throw new Error(`the Loki query to ${where} was cancelled`, { cause: error });
    const cause =
      (error as Error).cause instanceof Error ? `: ${((error as Error).cause as Error).message}` : "";
    throw new Error(`cannot reach Loki at ${where}: ${(error as Error).message}${cause}`, { cause: error });
  }
  if (status < 200 || status > 299) {
    const detail = body.trim().slice(0, 300);
    throw new Error(`Loki at ${where} answered ${status} ${statusText}${detail ? `: ${detail}` : ""}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new Error(`Loki at ${where} answered with invalid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const parsed = LokiStreamsResponse.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "unknown";
    throw new Error(`Loki at ${where} answered something other than log streams (${at})`);
  }
  return parsed.data;
}

/** The entries of all streams of a page in time order; ties keep stream, then Loki's, order. */
function flatten(response: LokiStreamsResponse): Entry[] {
  const entries: Entry[] = [];
  for (const { stream, values } of response.data.result) {
    const key = JSON.stringify(Object.entries(stream).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const [ns, line] of values) entries.push({ ns: BigInt(ns), stream: key, line });
  }
  // Array.prototype.sort is stable.
  return entries.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
}

function keyOf(entry: Entry): string {
  return `${entry.stream}\u0000${entry.line}`;
}

function emptyStats(): LokiSourceStats {
  return { requests: 0, entries: 0, duplicates: 0, collisions: 0, truncated: false };
}
