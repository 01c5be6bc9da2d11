import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import {
  describeWindow,
  loadWindow,
  requireAccepted,
  summarizeWindows,
  type LoadWindow,
  type WindowSummary,
} from "./load-window.js";
import type { BenchOptions } from "./options.js";
import type { Sample } from "./prometheus.js";
import { median, round } from "./stats.js";
import { cpuOf, ROOT, startOpsguard, type Target } from "./targets.js";

/** The strategies of the submit load (bench/submit.lua), each followed by a third of the clients. */
const STRATEGY_QUERIES = ["?strategy=trend-follow", "?strategy=mean-revert", "?strategy=breakout"];
/** Webhook endpoints of the measured condition. */
const ENDPOINTS = 2;
/** How long the deliveries may take to catch up after the load, before the phase fails. */
const CATCH_UP_SEC = 60;

/** What the consumers got in one window with them. */
export interface Delivered {
  /** Events recorded in the window (opsguard_events_total). */
  recorded: number;
  /** Fewest and most events one stream client received. */
  streamMin: number;
  streamMax: number;
  /** Events each webhook endpoint received (a re-sent batch counts again). */
  webhookEvents: number[];
  /** POSTs each endpoint received. */
  webhookDeliveries: number[];
  /** Streams opsguard cut off as slow consumers. */
  slowConsumers: number;
  /** Seconds from the end of the load until every endpoint had every event. */
  catchUpSec: number;
  /**
   * CPU of the consumers' process during the window, in cores: what reading every event costs
   * the clients, taken from the same two cores as the server's.
   */
  consumerCpuCores: number;
}

export interface EventsRound {
  round: number;
  /** No consumer, and nothing else on the machine but the load. */
  none: LoadWindow;
  /** No consumer, and a process using the CPU the consumers used (`matchedLoadCores`). */
  matched: LoadWindow;
  /** What the load beside `matched` used, in cores, measured. */
  matchedLoadCores: number;
  with: LoadWindow;
  delivered: Delivered;
}

export interface EventsResults {
  clients: number;
  endpoints: number;
  rounds: EventsRound[];
  none: WindowSummary;
  matched: WindowSummary;
  with: WindowSummary;
  /**
   * Median over rounds of with ÷ matched requests per second: what the events cost opsguard,
   * with the consumers' own CPU taken from the machine in both conditions.
   */
  rpsRatio: number;
  /** Median over rounds of with ÷ matched p99. */
  p99Ratio: number;
  /** Median over rounds of with ÷ matched of the server's CPU per accepted submit. */
  cpuPerSubmitRatio: number;
  /**
   * Median over rounds of with ÷ none requests per second: the same, plus what the consumers'
   * CPU takes from the two cores the server runs on.
   */
  rawRpsRatio: number;
  /** Median over rounds of with ÷ none p99. */
  rawP99Ratio: number;
}

/**
 * Phase 11: submits while every event goes to `eventsClients` stream clients and two webhook
 * endpoints, against the same build with no consumer. The load is the submit phase's (wrk, closed
 * loop, saturating; exporters off, so that what is measured is the events' cost). The consumers
 * run in a process of their own (bench/event-consumers.ts) and read everything as it comes; after
 * the window, the phase waits until both endpoints have every event and checks that every client
 * got every event and none was cut off.
 *
 * The consumers share the machine's two cores with the server, where a deployment has them on
 * machines of their own. So the server without consumers runs twice: alone (`none`), and beside a
 * process that uses the CPU the consumers used (`matched`, bench/cpu-load.ts). With ÷ matched is
 * what the events cost opsguard; with ÷ none adds what the consumers take from its cores. Each
 * round starts a fresh server per condition, in an order that rotates by round, the first round
 * starting with the consumers so that their CPU is known.
 */
export async function runEventsPhase(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<EventsResults> {
  const work = mkdtempSync(join(tmpdir(), "opsguard-bench-events-"));
  const consumers = await startConsumers();
  try {
    const secretFile = join(work, "webhook-secret");
    writeFileSync(secretFile, "bench-webhook-secret-0123456789abcdef\n", { mode: 0o600 });
    const webhooks = {
      endpoints: consumers.ports.map((port, i) => ({
        name: `bench-${i + 1}`,
        url: `http://127.0.0.1:${port}/hook`,
        secretFile,
      })),
    };
    const rounds: EventsRound[] = [];
    const conditions = ["with", "matched", "none"] as const;
    // The CPU the consumers used in their latest window: what the matched condition runs beside.
    let consumerCores = 0;
    for (let r = 1; r <= options.eventsRounds; r++) {
      let none: LoadWindow | undefined;
      let matched: { window: LoadWindow; loadCores: number } | undefined;
      let measured: { window: LoadWindow; delivered: Delivered } | undefined;
      const order = conditions.map((_, i) => conditions[(i + r - 1) % conditions.length]!);
      // The matched load is the consumers' CPU in their latest window: this round's or the last.
      for (const condition of order) {
        if (condition === "none") {
          const target = await startOpsguard(`events none (round ${r})`, {});
          try {
            none = await loadWindow(target, options, options.durationSec, `en${r}`);
          } finally {
            await target.stop();
          }
          log(`round ${r} none: ${describeWindow(none)}`);
        } else if (condition === "matched") {
          const target = await startOpsguard(`events matched (round ${r})`, {});
          try {
            matched = await loadBeside(target, options, consumerCores, r);
          } finally {
            await target.stop();
          }
          log(
            `round ${r} matched: ${describeWindow(matched.window)}; beside a load of ${matched.loadCores} cores`,
          );
        } else {
          const target = await startOpsguard(`events with (round ${r})`, {}, { config: { webhooks } });
          try {
            measured = await loadWithConsumers(target, options, consumers, r);
          } finally {
            await target.stop();
          }
          consumerCores = measured.delivered.consumerCpuCores;
          log(
            `round ${r} with: ${describeWindow(measured.window)}; ${describeDelivered(measured.delivered)}`,
          );
        }
      }
      rounds.push({
        round: r,
        none: none!,
        matched: matched!.window,
        matchedLoadCores: matched!.loadCores,
        with: measured!.window,
        delivered: measured!.delivered,
      });
    }
    requireAccepted(
      "events phase",
      rounds.flatMap((r) => [r.none, r.matched, r.with]),
    );
    const paired = (f: (r: EventsRound) => number): number => round(median(rounds.map(f)), 4);
    return {
      clients: options.eventsClients,
      endpoints: ENDPOINTS,
      rounds,
      none: summarizeWindows(rounds.map((r) => r.none)),
      matched: summarizeWindows(rounds.map((r) => r.matched)),
      with: summarizeWindows(rounds.map((r) => r.with)),
      rpsRatio: paired((r) => r.with.rps / r.matched.rps),
      p99Ratio: paired((r) => r.with.p99Ms / r.matched.p99Ms),
      cpuPerSubmitRatio: paired(
        (r) => r.with.serverCpuCores / r.with.rps / (r.matched.serverCpuCores / r.matched.rps),
      ),
      rawRpsRatio: paired((r) => r.with.rps / r.none.rps),
      rawP99Ratio: paired((r) => r.with.p99Ms / r.none.p99Ms),
    };
  } finally {
    consumers.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** A load window beside bench/cpu-load.ts at `cores`; returns the CPU that process used. */
async function loadBeside(
  target: Target,
  options: BenchOptions,
  cores: number,
  r: number,
): Promise<{ window: LoadWindow; loadCores: number }> {
  const load = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "bench", "cpu-load.ts"), String(cores)],
    {
      cwd: ROOT,
      stdio: "ignore",
    },
  );
  try {
    const loadCpu = (): number => cpuOf(`/proc/${load.pid}/stat`, 11);
    let cpuFrom = 0;
    const window = await loadWindow(target, options, options.durationSec, `em${r}`, () => {
      cpuFrom = loadCpu();
      return Promise.resolve();
    });
    return { window, loadCores: round((loadCpu() - cpuFrom) / window.seconds, 2) };
  } finally {
    load.kill();
  }
}

async function loadWithConsumers(
  target: Target,
  options: BenchOptions,
  consumers: Consumers,
  r: number,
): Promise<{ window: LoadWindow; delivered: Delivered }> {
  const before = await consumers.ask("counts");
  // The load's three strategies, one per client in turn, when the clients follow one each.
  const queries = options.eventsFilter === "strategy" ? STRATEGY_QUERIES.join(" ") : "";
  await consumers.ask(
    `connect ${target.url} ${target.token} ${options.eventsClients} ${options.eventsEncoding} ${queries}`.trim(),
  );
  const consumerCpu = (): number => cpuOf(`/proc/${consumers.pid}/stat`, 11);
  let cpuFrom = 0;
  const window = await loadWindow(target, options, options.durationSec, `ew${r}`, () => {
    cpuFrom = consumerCpu();
    return Promise.resolve();
  });
  const consumerCpuCores = round((consumerCpu() - cpuFrom) / window.seconds, 2);
  const loadEnded = performance.now();
  let samples: Sample[] = [];
  const pending = (): number =>
    samples.filter((s) => s.name === "opsguard_webhook_pending_events").reduce((sum, s) => sum + s.value, 0);
  for (;;) {
    samples = await target.metrics();
    if (pending() === 0) break;
    if (performance.now() - loadEnded > CATCH_UP_SEC * 1000) {
      throw new Error(
        `events phase: ${pending()} events still not delivered ${CATCH_UP_SEC} s after the load`,
      );
    }
    await sleep(200);
  }
  const catchUpSec = (performance.now() - loadEnded) / 1000;
  const recorded = samples
    .filter((s) => s.name === "opsguard_events_total")
    .reduce((sum, s) => sum + s.value, 0);
  // Every client got every event; or, following one strategy each, the clients of a strategy all
  // got the same ones, and one client of each strategy together got every event.
  const groups = options.eventsFilter === "strategy" ? STRATEGY_QUERIES.length : 1;
  const complete = (counts: readonly number[]): boolean => {
    let sum = 0;
    for (let g = 0; g < groups; g++) {
      const group = counts.filter((_, i) => i % groups === g);
      if (Math.min(...group) !== Math.max(...group)) return false;
      sum += group[0] ?? 0;
    }
    return groups === 1 ? sum >= recorded : sum >= recorded && sum > 0;
  };
  // The streams get what was committed before the last scrape; give them a moment to read it.
  let after = await consumers.ask("counts");
  for (let i = 0; i < 50 && !complete(after.streamEvents!); i++) {
    await sleep(100);
    after = await consumers.ask("counts");
  }
  const slowConsumers =
    samples.find(
      (s) => s.name === "opsguard_event_stream_disconnects_total" && s.labels.reason === "slow_consumer",
    )?.value ?? 0;
  const delivered: Delivered = {
    recorded,
    streamMin: Math.min(...after.streamEvents!),
    streamMax: Math.max(...after.streamEvents!),
    webhookEvents: after.webhookEvents!.map((n, i) => n - before.webhookEvents![i]!),
    webhookDeliveries: after.webhookDeliveries!.map((n, i) => n - before.webhookDeliveries![i]!),
    slowConsumers,
    catchUpSec: round(catchUpSec, 2),
    consumerCpuCores,
  };
  if (
    !complete(after.streamEvents!) ||
    Math.min(...delivered.webhookEvents) < recorded ||
    slowConsumers > 0
  ) {
    throw new Error(`events phase: not every event reached every consumer: ${JSON.stringify(delivered)}`);
  }
  return { window, delivered };
}

function describeDelivered(d: Delivered): string {
  return (
    `${d.recorded} events; each of the clients got ${d.streamMin}–${d.streamMax}; ` +
    `endpoints got ${d.webhookEvents.join(", ")} in ${d.webhookDeliveries.join(", ")} POSTs, ` +
    `caught up ${d.catchUpSec} s after the load; the consumers used ${d.consumerCpuCores} cores`
  );
}

interface Counts {
  ports?: number[];
  connected?: number;
  streamEvents?: number[];
  streamsClosed?: number;
  webhookEvents?: number[];
  webhookDeliveries?: number[];
}

interface Consumers {
  pid: number;
  ports: number[];
  ask(command: string): Promise<Counts>;
  stop(): void;
}

async function startConsumers(): Promise<Consumers> {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "bench", "event-consumers.ts"), String(ENDPOINTS)],
    { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines: Interface = createInterface({ input: child.stdout! });
  const waiting: ((counts: Counts) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(JSON.parse(line) as Counts));
  const next = (): Promise<Counts> => new Promise((resolve) => waiting.push(resolve));
  const { ports } = await next();
  return {
    pid: child.pid!,
    ports: ports!,
    ask(command) {
      const answer = next();
      child.stdin!.write(`${command}\n`);
      return answer;
    },
    stop() {
      child.kill();
    },
  };
}
