import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/** An OTLP attribute value as the JSON encoding carries it. */
type AnyValue = {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
};

interface KeyValue {
  key: string;
  value: AnyValue;
}

/** A span as decoded from an OTLP/HTTP JSON export, with plain attribute values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, unknown>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: number;
  events: string[];
  resource: Record<string, unknown>;
}

/** How a fake collector behaves: answer, refuse with 503, or accept and never answer. */
export type ReceiverMode = "ok" | "fail" | "hang";

export interface Receiver {
  url: string;
  mode: ReceiverMode;
  /** Requests received, whatever their fate. */
  requests: number;
  close(): Promise<void>;
}

export interface OtlpReceiver extends Receiver {
  spans: ReceivedSpan[];
  /** Resolves once a span matching `predicate` has arrived (bounded by the caller's test timeout). */
  waitFor(predicate: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan>;
}

export interface LokiStream {
  stream: Record<string, string>;
  values: [string, string][];
}

export interface LokiReceiver extends Receiver {
  streams: LokiStream[];
  /** Every line received, parsed from JSON, with the labels of its stream. */
  lines(): { labels: Record<string, string>; line: Record<string, unknown> }[];
}

function plain(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  return undefined;
}

const attributesOf = (list: KeyValue[] | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, plain(value)]));

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
}

async function startReceiver(
  path: string,
  onBody: (body: unknown, req: IncomingMessage) => void,
): Promise<Receiver & { server: Server }> {
  const hung: ServerResponse[] = [];
  const receiver = {
    url: "",
    mode: "ok" as ReceiverMode,
    requests: 0,
    server: undefined as unknown as Server,
    async close() {
      for (const res of hung) res.destroy();
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    },
  };
  receiver.server = createServer((req, res) => {
    receiver.requests += 1;
    if (receiver.mode === "hang") {
      hung.push(res);
      return;
    }
    void readBody(req).then((body) => {
      if (receiver.mode === "fail" || req.url !== path) {
        res.writeHead(receiver.mode === "fail" ? 503 : 404).end();
        return;
      }
      onBody(JSON.parse(body.toString("utf8")), req);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  receiver.server.listen(0, "127.0.0.1");
  await once(receiver.server, "listening");
  receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
  return receiver;
}

/** A collector on loopback that decodes the OTLP/HTTP JSON trace exports opsguard sends. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const waiters: { predicate: (span: ReceivedSpan) => boolean; resolve: (span: ReceivedSpan) => void }[] = [];
  interface Export {
    resourceSpans?: {
      resource?: { attributes?: KeyValue[] };
      scopeSpans?: {
        spans?: {
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind: number;
          attributes?: KeyValue[];
          status?: { code?: number };
          events?: { name: string }[];
        }[];
      }[];
    }[];
  }
  const base = await startReceiver("/v1/traces", (body) => {
    for (const resourceSpans of (body as Export).resourceSpans ?? []) {
      const resource = attributesOf(resourceSpans.resource?.attributes);
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          const received: ReceivedSpan = {
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            attributes: attributesOf(span.attributes),
            status: span.status?.code ?? 0,
            events: (span.events ?? []).map((e) => e.name),
            resource,
          };
          spans.push(received);
          for (const waiter of waiters.splice(0)) {
            if (waiter.predicate(received)) waiter.resolve(received);
            else waiters.push(waiter);
          }
        }
      }
    }
  });
  return Object.assign(base, {
    url: `${base.url}/v1/traces`,
    spans,
    waitFor(predicate: (span: ReceivedSpan) => boolean) {
      const found = spans.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise<ReceivedSpan>((resolve) => waiters.push({ predicate, resolve }));
    },
  });
}

/** A Loki on loopback that decodes the JSON push API payloads opsguard sends. */
export async function startLokiReceiver(): Promise<LokiReceiver> {
  const streams: LokiStream[] = [];
  const base = await startReceiver("/loki/api/v1/push", (body) => {
    streams.push(...((body as { streams?: LokiStream[] }).streams ?? []));
  });
  return Object.assign(base, {
    streams,
    lines() {
      return streams.flatMap(({ stream, values }) =>
        values.map(([, line]) => ({ labels: stream, line: JSON.parse(line) as Record<string, unknown> })),
      );
    },
  });
}
