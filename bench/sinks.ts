import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/**
 * What a sink does with a request: decode it, count it and answer 200 (`ok`), or read nothing and
 * never answer (`hang`), as a collector that accepted the connection and then stalled.
 */
export type SinkMode = "ok" | "hang";

/**
 * A telemetry receiver on loopback for the benchmarks. Unlike the receivers in
 * `tests/telemetry/receivers.ts` it keeps nothing but counts, so hours of load cannot grow it, but
 * it decodes every payload as a collector would: an OTLP/HTTP JSON trace export or a Loki JSON push.
 */
export interface Sink {
  /** The URL to configure in opsguard: the OTLP traces endpoint, or Loki's base URL. */
  url: string;
  /** Requests received, whatever their fate. */
  requests: number;
  /** Spans (OTLP) or log lines (Loki) decoded. */
  items: number;
  /** Bytes of request bodies decoded. */
  bytes: number;
  close(): Promise<void>;
}

interface OtlpExport {
  resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[];
}

interface LokiPush {
  streams?: { values?: unknown[] }[];
}

const PATHS = { otlp: "/v1/traces", loki: "/loki/api/v1/push" } as const;

/** Starts a sink of OTLP trace exports or Loki pushes on a free loopback port. */
export async function startSink(kind: "otlp" | "loki", mode: SinkMode): Promise<Sink> {
  const hung = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    sink.requests += 1;
    if (mode === "hang") {
      hung.add(res);
      // The exporter gives up and aborts; forget the request then, so the sink stays bounded too.
      res.on("close", () => hung.delete(res));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        const raw = Buffer.concat(chunks);
        const body = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
        sink.bytes += body.length;
        sink.items += kind === "otlp" ? countSpans(JSON.parse(body.toString("utf8")) as OtlpExport) : 0;
        sink.items += kind === "loki" ? countLines(JSON.parse(body.toString("utf8")) as LokiPush) : 0;
        res.writeHead(req.url === PATHS[kind] ? 200 : 404, { "content-type": "application/json" }).end("{}");
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sink: Sink = {
    url: kind === "otlp" ? `${base}${PATHS.otlp}` : base,
    requests: 0,
    items: 0,
    bytes: 0,
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return sink;
}

function countSpans(body: OtlpExport): number {
  let count = 0;
  for (const resource of body.resourceSpans ?? [])
    for (const scope of resource.scopeSpans ?? []) count += scope.spans?.length ?? 0;
  return count;
}

function countLines(body: LokiPush): number {
  return (body.streams ?? []).reduce((sum, stream) => sum + (stream.values?.length ?? 0), 0);
}
