import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { LogEntry } from "./log-line.js";
import { buildLokiQuery, readLokiLines } from "./loki-source.js";

const FROM = Date.parse("2026-01-05T12:00:00.000Z");
const TO = Date.parse("2026-01-05T12:10:00.000Z");
const FROM_NS = "1767614400000000000";
const TO_NS = "1767615000000000000";
/** The nanosecond shared by the last warning of page 1 and the error of page 2. */
const BOUNDARY_NS = "1767614580250000000";

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

interface Request {
  path: string;
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
}

/** A Loki stand-in on 127.0.0.1 answering each request with `answer`, and recording them. */
async function startLoki(answer: (request: Request, res: ServerResponse<IncomingMessage>) => void) {
  const requests: Request[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://loki");
    const request = {
      path: url.pathname,
      params: Object.fromEntries(url.searchParams),
      headers: req.headers,
    };
    requests.push(request);
    answer(request, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  cleanups.push(close);
  return { url, requests, close };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((close) => close()));
});

function reply(res: ServerResponse, status: number, body: string, type = "application/json"): void {
  res.writeHead(status, { "content-type": type });
  res.end(body);
}

async function collect(source: AsyncIterable<LogEntry>): Promise<string[]> {
  const seen: string[] = [];
  for await (const entry of source) {
    seen.push(entry.kind === "line" ? `${entry.line.level} ${entry.line.event}` : `<${entry.problem}>`);
  }
  return seen;
}

/** A page of `count` entries in one nanosecond, as Loki sends it. */
function sameNanosecond(ns: string, count: number): string {
  const values = Array.from({ length: count }, (_, i) => [
    ns,
    JSON.stringify({
      timestamp: "2026-01-05T12:04:00.000Z",
      level: "info",
      msg: `burst ${i}`,
      event: "test.burst",
    }),
  ]);
  return JSON.stringify({
    status: "success",
    data: { resultType: "streams", result: [{ stream: { service: "opsguard" }, values }] },
  });
}

describe("reading lines back from Loki", () => {
  it("pages forward from the last timestamp seen, dropping the entries of that nanosecond sent again", async () => {
    const loki = await startLoki((request, res) =>
      reply(res, 200, fixture(request.params.start === FROM_NS ? "loki-page-1.json" : "loki-page-2.json")),
    );
    const source = readLokiLines({ url: `${loki.url}/`, from: FROM, to: TO, env: "prod", pageSize: 4 });
    expect(await collect(source)).toEqual([
      "info operation.opened",
      "info operation.closed",
      "warn risk.rejected",
      "warn risk.rejected",
      "error operation.failed",
      "<not_json>",
    ]);
    expect(loki.requests.map((r) => [r.path, r.params])).toEqual([
      [
        "/loki/api/v1/query_range",
        {
          query: '{service="opsguard", env="prod"}',
          start: FROM_NS,
          end: TO_NS,
          limit: "4",
          direction: "forward",
        },
      ],
      [
        "/loki/api/v1/query_range",
        {
          query: '{service="opsguard", env="prod"}',
          start: BOUNDARY_NS,
          end: TO_NS,
          limit: "4",
          direction: "forward",
        },
      ],
    ]);
    expect(source.stats).toEqual({ requests: 2, entries: 6, duplicates: 1, collisions: 0, truncated: false });
  });

  it("reads every entry once from a Loki that pages by start, end and limit, ties included", async () => {
    // 30 entries in 3 streams over 12 nanoseconds: up to 3 share one, across streams.
    const stored = Array.from({ length: 30 }, (_, i) => ({
      ns: BigInt(FROM_NS) + BigInt(Math.floor(i / 2.5) * 1000),
      level: ["info", "warn", "error"][i % 3] as string,
      line: JSON.stringify({
        timestamp: "2026-01-05T12:00:00.000Z",
        level: "info",
        msg: `line ${i}`,
        event: "test.n",
      }),
    }));
    const loki = await startLoki((request, res) => {
      const start = BigInt(request.params.start!);
      const end = BigInt(request.params.end!);
      const page = stored
        .filter((e) => e.ns >= start && e.ns < end)
        .sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : a.level.localeCompare(b.level)))
        .slice(0, Number(request.params.limit));
      const result = ["error", "info", "warn"]
        .map((level) => ({
          stream: { service: "opsguard", level },
          values: page.filter((e) => e.level === level).map((e) => [e.ns.toString(), e.line]),
        }))
        .filter((stream) => stream.values.length > 0);
      reply(res, 200, JSON.stringify({ status: "success", data: { resultType: "streams", result } }));
    });
    const messages: string[] = [];
    for await (const entry of readLokiLines({ url: loki.url, from: FROM, to: TO, pageSize: 4 })) {
      if (entry.kind === "line") messages.push(entry.line.msg);
    }
    expect([...messages].sort()).toEqual(stored.map((e) => JSON.parse(e.line).msg as string).sort());
    expect(messages).toHaveLength(30);
  });

  it("takes each line's time from its timestamp field, and Loki's time when it has none", async () => {
    const body = JSON.stringify({
      status: "success",
      data: {
        resultType: "streams",
        result: [
          {
            stream: { service: "opsguard", level: "info" },
            values: [
              [FROM_NS, '{"timestamp":"2026-01-05T12:00:00.007Z","level":"info","msg":"a"}'],
              [
                "1767614400123456789",
                '{"level":"info","msg":"b"}',
                { trace_id: "0af7651916cd43dd8448eb211c80319c" },
              ],
            ],
          },
        ],
      },
    });
    const loki = await startLoki((_request, res) => reply(res, 200, body));
    const times: number[] = [];
    for await (const entry of readLokiLines({ url: loki.url, from: FROM, to: TO })) {
      if (entry.kind === "line") times.push(entry.line.timeMs);
    }
    expect(times).toEqual([Date.parse("2026-01-05T12:00:00.007Z"), Date.parse("2026-01-05T12:00:00.123Z")]);
  });

  it("sends the bearer token and the tenant when given, and none otherwise", async () => {
    const loki = await startLoki((_request, res) => reply(res, 200, fixture("loki-empty.json")));
    await collect(readLokiLines({ url: loki.url, from: FROM, to: TO, token: "s3cr3t", tenant: "team-a" }));
    await collect(readLokiLines({ url: loki.url, from: FROM, to: TO }));
    expect(loki.requests[0]?.headers.authorization).toBe("Bearer s3cr3t");
    expect(loki.requests[0]?.headers["x-scope-orgid"]).toBe("team-a");
    expect(loki.requests[0]?.params.query).toBe('{service="opsguard"}');
    expect(loki.requests[1]?.headers.authorization).toBeUndefined();
    expect(loki.requests[1]?.headers["x-scope-orgid"]).toBeUndefined();
  });

  it("steps over a nanosecond that holds more than a page, and counts it", async () => {
    const burst = "1767614640000000000";
    const loki = await startLoki((request, res) =>
      reply(
        res,
        200,
        request.params.start === burst
          ? sameNanosecond(burst, 3)
          : request.params.start === FROM_NS
            ? sameNanosecond(burst, 3)
            : fixture("loki-empty.json"),
      ),
    );
    const source = readLokiLines({ url: loki.url, from: FROM, to: TO, pageSize: 3 });
    expect(await collect(source)).toHaveLength(3);
    expect(loki.requests.map((r) => r.params.start)).toEqual([FROM_NS, burst, "1767614640000000001"]);
    expect(source.stats).toMatchObject({ requests: 3, entries: 3, duplicates: 3, collisions: 1 });
  });

  it("stops after maxPages and says so", async () => {
    let page = 0;
    const loki = await startLoki((_request, res) => {
      page++;
      reply(res, 200, sameNanosecond(`17676144${String(page).padStart(2, "0")}000000000`, 2));
    });
    const source = readLokiLines({ url: loki.url, from: FROM, to: TO, pageSize: 2, maxPages: 3 });
    expect(await collect(source)).toHaveLength(6);
    expect(source.stats).toMatchObject({ requests: 3, truncated: true });
  });

  it("quotes label values in the selector", () => {
    expect(buildLokiQuery("ops", 'a"b\\c')).toBe('{service="ops", env="a\\"b\\\\c"}');
  });
});

describe("failures of the Loki read", () => {
  it("throws Loki's status and message on a non-2xx answer", async () => {
    const loki = await startLoki((_request, res) =>
      reply(res, 400, "parse error at line 1, col 2: syntax error: unexpected IDENTIFIER\n", "text/plain"),
    );
    await expect(collect(readLokiLines({ url: loki.url, from: FROM, to: TO }))).rejects.toThrow(
      `Loki at ${loki.url} answered 400 Bad Request: parse error at line 1, col 2: syntax error: unexpected IDENTIFIER`,
    );
  });

  it("throws on an answer that is not JSON", async () => {
    const loki = await startLoki((_request, res) =>
      reply(res, 200, "<html>502 Bad Gateway</html>", "text/html"),
    );
    await expect(collect(readLokiLines({ url: loki.url, from: FROM, to: TO }))).rejects.toThrow(
      `Loki at ${loki.url} answered with invalid JSON`,
    );
  });

  it("throws on JSON that is not log streams", async () => {
    const matrix = JSON.stringify({ status: "success", data: { resultType: "matrix", result: [] } });
    const loki = await startLoki((_request, res) => reply(res, 200, matrix));
    await expect(collect(readLokiLines({ url: loki.url, from: FROM, to: TO }))).rejects.toThrow(
      `Loki at ${loki.url} answered something other than log streams (data.resultType:`,
    );
  });

  it("throws after timeoutMs when Loki does not answer", async () => {
    const loki = await startLoki(() => undefined);
    const started = Date.now();
    await expect(
      collect(readLokiLines({ url: loki.url, from: FROM, to: TO, timeoutMs: 150 })),
    ).rejects.toThrow(`Loki at ${loki.url} did not answer within 150 ms`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("throws when the caller cancels", async () => {
    const loki = await startLoki(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(
      collect(readLokiLines({ url: loki.url, from: FROM, to: TO, signal: controller.signal })),
    ).rejects.toThrow(`the Loki query to ${loki.url} was cancelled`);
  });

  it("throws when nothing listens", async () => {
    const loki = await startLoki(() => undefined);
    await loki.close();
    await expect(collect(readLokiLines({ url: loki.url, from: FROM, to: TO }))).rejects.toThrow(
      `cannot reach Loki at ${loki.url}: fetch failed: connect ECONNREFUSED`,
    );
  });
});
