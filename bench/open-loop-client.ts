/**
 * An open-loop load generator, run as a process of its own (bench/open-loop.ts starts it): it
 * sends `POST /v1/operations` on a fixed schedule, whatever the server does, and times each
 * request from the moment it was due, not from when it could be sent, so a stall of the server
 * shows in every request it held up (no coordinated omission). Prints one JSON line at the end.
 *
 * Hand-written: wrk and autocannon are closed loops (a stalled server is sent nothing), and wrk2,
 * which has the open loop, is not packaged for Debian. Node's own http client with a keep-alive
 * pool costs about 20 µs a request, a few percent of a core at 1,000 req/s.
 */
import { Agent, request } from "node:http";

interface Job {
  url: string;
  token: string;
  /** Requests per second; `lone`: one at a time, `gapMs` after each answer. */
  mode: "rate" | "lone";
  rate: number;
  gapMs: number;
  durationSec: number;
  warmupSec: number;
  connections: number;
  prefix: string;
}

const job = JSON.parse(process.argv[2]!) as Job;
const target = new URL("/v1/operations", job.url);
const agent = new Agent({ keepAlive: true, maxSockets: job.connections });
const STRATEGIES = ["trend-follow", "mean-revert", "breakout"];
const INSTRUMENTS = ["BTC-USD", "ETH-USD", "SOL-USD"];
const SIZES = ["0.01", "0.1", "1"];

let sequence = 0;
function body(): string {
  const i = sequence++;
  return JSON.stringify({
    clientId: `${job.prefix}-${i}`,
    strategy: STRATEGIES[i % 3],
    instrument: INSTRUMENTS[i % 3],
    side: "buy",
    size: SIZES[i % 3],
    maxDurationSec: 1,
  });
}

/** Sends one request; resolves with its status when the whole answer is in. */
function send(): Promise<number> {
  const payload = body();
  return new Promise((resolve) => {
    const req = request(
      target,
      {
        method: "POST",
        agent,
        headers: {
          authorization: `Bearer ${job.token}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
    req.end(payload);
  });
}

const latencies: number[] = [];
const statuses = new Map<number, number>();
let sendLagMaxMs = 0;
let measuredFrom = 0;
let measuredTo = 0;

function record(due: number, status: number): void {
  const done = performance.now();
  // Only requests due inside the measured window count; the warm-up's are sent and not kept.
  if (due < measuredFrom || due >= measuredTo) return;
  latencies.push(done - due);
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
}

async function runRate(): Promise<void> {
  const start = performance.now();
  measuredFrom = start + job.warmupSec * 1000;
  measuredTo = measuredFrom + job.durationSec * 1000;
  const interval = 1000 / job.rate;
  const total = Math.floor(((measuredTo - start) / 1000) * job.rate);
  const pending: Promise<void>[] = [];
  let next = 0;
  await new Promise<void>((finish) => {
    const tick = (): void => {
      const now = performance.now();
      // Every request already due goes now: a late timer never thins the schedule out.
      for (; next < total && start + next * interval <= now; next++) {
        const due = start + next * interval;
        sendLagMaxMs = Math.max(sendLagMaxMs, now - due);
        pending.push(send().then((status) => record(due, status)));
      }
      if (next >= total) return finish();
      setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    tick();
  });
  await Promise.all(pending);
}

async function runLone(): Promise<void> {
  const start = performance.now();
  measuredFrom = start + job.warmupSec * 1000;
  measuredTo = measuredFrom + job.durationSec * 1000;
  while (performance.now() < measuredTo) {
    const due = performance.now();
    record(due, await send());
    await new Promise((resolve) => setTimeout(resolve, job.gapMs));
  }
}

const began = performance.now();
await (job.mode === "lone" ? runLone() : runRate());
agent.destroy();
process.stdout.write(
  `${JSON.stringify({
    latenciesMs: latencies,
    statuses: Object.fromEntries(statuses),
    sendLagMaxMs,
    seconds: (performance.now() - began) / 1000,
  })}\n`,
);
