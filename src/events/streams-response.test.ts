import { once } from "node:events";
import { createServer, get, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { createGunzip } from "node:zlib";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createRegistry, type MetricsRegistry } from "../platform/metrics.js";
import { HandLog } from "./hand-log.fixture.js";
import { createEventMetrics } from "./metrics.js";
import { EventStreams } from "./streams.js";

/** An event's JSON of about `bytes` bytes. */
const padded = (bytes: number): string => JSON.stringify({ padding: "x".repeat(bytes) });

const HEADERS = { "content-type": "text/event-stream; charset=utf-8", "x-request-id": "req-1" };

let log: HandLog;
let registry: MetricsRegistry;
let streams: EventStreams;
let server: Server;
let port: number;

async function serveStreams(settings: { maxBufferedBytes: number; cutoffGraceMs: number }): Promise<void> {
  log = new HandLog();
  registry = createRegistry();
  streams = new EventStreams(
    log.asEventLog,
    { maxClients: 10, heartbeatMs: 60_000, flushIntervalMs: 25, ...settings },
    createEventMetrics(registry),
  );
  // A client that asks for gzip (by this header alone, as the route decides) gets a gzip stream.
  server = createServer((req, res) => {
    const gzip = req.headers["accept-encoding"] === "gzip";
    const headers = gzip ? { ...HEADERS, "content-encoding": "gzip" } : HEADERS;
    streams.openResponse(res, undefined, {}, headers, gzip);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
}

beforeEach(() => serveStreams({ maxBufferedBytes: 1 << 20, cutoffGraceMs: 200 }));

afterEach(async () => {
  streams.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A client that reads everything, and the ids of the events it got; `gzip` asks for a gzip stream. */
async function reader(gzip = false): Promise<{
  res: IncomingMessage;
  ids: number[];
  text: () => string;
  /** Resolves when the body has ended, decoded without an error. */
  ended: Promise<void>;
}> {
  const res = await new Promise<IncomingMessage>((resolve) =>
    get({ port, host: "127.0.0.1", headers: gzip ? { "accept-encoding": "gzip" } : {} }, resolve),
  );
  let text = "";
  const ids: number[] = [];
  let partial = "";
  // Node's gunzip, strict: it fails on a stream that ends without its trailer, or a wrong CRC.
  const body = gzip ? res.pipe(createGunzip()) : res;
  const ended = new Promise<void>((resolve, reject) => body.on("end", resolve).on("error", reject));
  body.setEncoding("utf8").on("data", (chunk: string) => {
    text += chunk.length < 200 ? chunk : "";
    partial += chunk;
    const frames = partial.split("\n\n");
    partial = frames.pop()!;
    for (const frame of frames) {
      const id = /^id: (\d+)$/m.exec(frame);
      if (id) ids.push(Number(id[1]));
    }
  });
  return { res, ids, text: () => text, ended };
}

const until = async (condition: () => boolean | Promise<boolean>, what: string): Promise<void> => {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
};

const ended = async (reason: string): Promise<number> => {
  const text = await registry.getSingleMetricAsString("opsguard_event_stream_disconnects");
  return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(text)?.[1] ?? 0);
};

it("writes to Node's response: its headers, the greeting, then every commit; a client that hangs up is removed", async () => {
  const client = await reader();
  expect(client.res.statusCode).toBe(200);
  expect(client.res.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
  expect(client.res.headers["x-request-id"]).toBe("req-1");
  await until(() => client.text().includes(": connected, events after 0"), "the greeting");

  log.commit(3);
  log.commit(2);
  await until(() => client.ids.length === 5, "five events");
  expect(client.ids).toEqual([1, 2, 3, 4, 5]);
  expect(streams.size).toBe(1);

  client.res.destroy();
  await until(() => streams.size === 0, "the client to be removed");
  expect(await ended("client")).toBe(1);
});

it("cuts off a client that does not read, drops it after the grace, and gives a reading client everything", async () => {
  const maxBufferedBytes = 1 << 20;
  // Asks for the stream and never reads: the kernel's buffers fill, then the server's queue.
  const stalled: Socket = connect(port, "127.0.0.1");
  stalled.on("error", () => undefined);
  stalled.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  stalled.pause();
  const reading = await reader();
  await until(() => streams.size === 2, "both clients");

  // 64 KB events, 16 a commit: a megabyte a commit, as fast as the reader takes them.
  let largestHeld = 0;
  for (let commit = 0; commit < 60 && (await ended("slow_consumer")) === 0; commit++) {
    log.commit(16, { data: padded(64 * 1024) });
    largestHeld = Math.max(largestHeld, streams.bufferedBytes);
    await until(() => reading.ids.length === log.published, "the reader to keep up");
  }
  expect(await ended("slow_consumer")).toBe(1);
  // What is held for a client never grows past the bound and one commit.
  expect(largestHeld).toBeLessThanOrEqual(maxBufferedBytes + 16 * 66 * 1024);
  expect(streams.bufferedBytes).toBe(0);

  // The stalled client does not read its stream.closed frame either: its connection is dropped.
  await until(
    () => new Promise<boolean>((resolve) => server.getConnections((_error, count) => resolve(count === 1))),
    "the stalled connection to be dropped",
  );
  log.commit(5, { data: padded(64 * 1024) });
  await until(() => reading.ids.length === log.published, "the reader to get the rest");
  expect(reading.ids).toEqual(Array.from({ length: log.published }, (_, i) => i + 1));
  stalled.destroy();
}, 30_000);

it("ends every stream with its reason when opsguard stops, once the client has read it", async () => {
  const client = await reader();
  await until(() => streams.size === 1, "the client");
  const end = once(client.res, "end");
  streams.close();
  await end;
  expect(client.text()).toMatch(/event: stream\.closed\ndata: \{"reason":"shutdown"/);
});

it("sends a gzip stream that decodes to the same frames, and ends it whole with its trailer", async () => {
  const plain = await reader();
  const compressed = await reader(true);
  const otherCompressed = await reader(true);
  expect(compressed.res.headers["content-encoding"]).toBe("gzip");
  await until(() => streams.size === 3, "the clients");
  let bytes = 0;
  compressed.res.on("data", (chunk: Buffer) => (bytes += chunk.length));

  for (let i = 0; i < 20; i++) {
    log.commit(10, { data: padded(500) });
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await until(() => compressed.ids.length === 200 && otherCompressed.ids.length === 200, "every event");
  expect(compressed.ids).toEqual(plain.ids);
  expect(otherCompressed.ids).toEqual(plain.ids);
  // About 0.6 KB a frame, repetitive as events are: far fewer bytes on the wire.
  expect(bytes).toBeLessThan((200 * 600) / 4);

  // The stream.closed frame, the last block and the trailer: the strict gunzip ends without error.
  streams.close();
  await Promise.all([plain.ended, compressed.ended, otherCompressed.ended]);
  for (const client of [plain, compressed, otherCompressed]) {
    expect(client.text()).toMatch(/event: stream\.closed\ndata: \{"reason":"shutdown"/);
  }
});
