/**
 * What writing the event streams costs the server, per event, apart from everything else: the
 * event streams of opsguard (src/events/streams.ts) behind a Hono route served by
 * @hono/node-server, fed by hand with commits of three events (about 0.75 KB a frame, as an
 * operation's event) every millisecond, with `clients` clients in a process of their own reading
 * everything. The server's CPU (user and system, from `process.cpuUsage`) over `seconds`, after
 * `warmup` seconds, divided by the events published.
 *
 * Each condition runs in a fresh server process, the conditions alternating, `repeats` times:
 * - `web`: the stream as a web `ReadableStream` piped to the response by @hono/node-server;
 * - `response`: written to Node's response directly (what `opsguard serve` does), at a flush
 *   interval (`events.flushIntervalMs`) of 25, 50 and 100 ms;
 * - `gzip`: the same at 100 ms, to clients that accept gzip (`events.gzip`), which decompress.
 *
 * Usage: `tsx bench/stream-writes.ts [seconds, 6] [clients, 100] [repeats, 2] [warmup, 2]`.
 */
import { fork, spawn } from "node:child_process";
import { once } from "node:events";
import { get, type ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import { serve } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { Hono } from "hono";
import { HandLog } from "../src/events/hand-log.fixture.js";
import { createEventMetrics } from "../src/events/metrics.js";
import { acceptsGzip, EventStreams } from "../src/events/streams.js";
import { createRegistry } from "../src/platform/metrics.js";

const SELF = fileURLToPath(import.meta.url);

/** An operation's event as the streams send it: about 0.75 KB a frame. */
const DATA = JSON.stringify({
  operation: { id: "01JD3Z8Q4N5X7W2B6C9F0H1K2M", status: "open", padding: "x".repeat(490) },
});

interface Result {
  condition: string;
  eventsPerSecond: number;
  cpuPercent: number;
  usPerEvent: number;
}

/** One condition, in this process: serves the streams, starts the clients, measures. */
type Mode = "web" | "response" | "gzip";

async function server(mode: Mode, flushIntervalMs: number, seconds: number, clients: number, warmup: number) {
  const log = new HandLog();
  const streams = new EventStreams(
    log.asEventLog,
    {
      maxClients: clients,
      maxBufferedBytes: 8 << 20,
      heartbeatMs: 15_000,
      cutoffGraceMs: 1_000,
      flushIntervalMs,
    },
    createEventMetrics(createRegistry()),
  );
  const headers = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };
  const app = new Hono<{ Bindings: { outgoing: ServerResponse } }>();
  app.get("/", (c) => {
    if (mode !== "web") {
      const gzip = mode === "gzip" && acceptsGzip(c.req.header("accept-encoding"));
      streams.openResponse(
        c.env.outgoing,
        undefined,
        {},
        gzip ? { ...headers, "content-encoding": "gzip" } : headers,
        gzip,
      );
      return RESPONSE_ALREADY_SENT;
    }
    return c.body(streams.open(undefined, {}), 200, headers);
  });
  const port = await new Promise<number>((resolve) => {
    serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve(info.port));
  });
  const readers = fork(SELF, ["clients", String(port), String(clients), mode === "gzip" ? "gzip" : "plain"]);
  await once(readers, "message");
  const timer = setInterval(() => log.commit(3, { data: DATA }), 1);
  await new Promise((resolve) => setTimeout(resolve, warmup * 1_000));
  const fromEvents = log.published;
  const fromCpu = process.cpuUsage();
  const fromTime = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1_000));
  const cpu = process.cpuUsage(fromCpu);
  const elapsedMs = performance.now() - fromTime;
  const events = log.published - fromEvents;
  clearInterval(timer);
  const cpuMs = (cpu.user + cpu.system) / 1_000;
  const result: Result = {
    condition: `${mode === "web" ? "web stream" : "response"}, ${flushIntervalMs} ms${mode === "gzip" ? ", gzip" : ""}`,
    eventsPerSecond: Math.round(events / (elapsedMs / 1_000)),
    cpuPercent: Math.round((cpuMs / elapsedMs) * 1_000) / 10,
    usPerEvent: Math.round(((cpuMs * 1_000) / events) * 10) / 10,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  readers.kill();
  streams.close();
  process.exit(0);
}

/** The clients, in their own process: connect, read (decompress) and drop everything. */
function readClients(port: number, count: number, gzip: boolean): void {
  let connected = 0;
  for (let i = 0; i < count; i++) {
    const headers = gzip ? { "accept-encoding": "gzip" } : {};
    get({ port, host: "127.0.0.1", agent: false, headers }, (res) => {
      const body = res.headers["content-encoding"] === "gzip" ? res.pipe(createGunzip()) : res;
      body.on("data", () => undefined);
      if (++connected === count) process.send!("connected");
    });
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 6);
  const clients = Number(process.argv[3] ?? 100);
  const repeats = Number(process.argv[4] ?? 2);
  const warmup = Number(process.argv[5] ?? 2);
  const conditions: [Mode, number][] = [
    ["web", 25],
    ["response", 25],
    ["response", 50],
    ["response", 100],
    ["gzip", 100],
  ];
  const results = new Map<string, Result[]>();
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const [mode, interval] of conditions) {
      const child = spawn(
        process.execPath,
        [
          ...process.execArgv,
          SELF,
          "server",
          mode,
          String(interval),
          String(seconds),
          String(clients),
          String(warmup),
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
      await once(child, "exit");
      const result = JSON.parse(out) as Result;
      console.log(
        `${result.condition.padEnd(24)} ${String(result.eventsPerSecond).padStart(6)} events/s, ` +
          `server ${result.cpuPercent}% of a core, ${result.usPerEvent} µs per event`,
      );
      results.set(result.condition, [...(results.get(result.condition) ?? []), result]);
    }
  }
  console.log(`\n${clients} clients; CPU per event, the mean of ${repeats} runs:`);
  for (const [condition, runs] of results) {
    const mean = runs.reduce((sum, run) => sum + run.usPerEvent, 0) / runs.length;
    console.log(`${condition.padEnd(24)} ${mean.toFixed(1)} µs`);
  }
}

const [role, ...args] = process.argv.slice(2);
if (role === "server") {
  await server(args[0] as Mode, Number(args[1]), Number(args[2]), Number(args[3]), Number(args[4]));
} else if (role === "clients") {
  readClients(Number(args[0]), Number(args[1]), args[2] === "gzip");
} else {
  await main();
}
