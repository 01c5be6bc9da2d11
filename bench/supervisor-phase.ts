import { monitorEventLoopDelay } from "node:perf_hooks";
import { buildApp, submitBody } from "./inproc-app.js";
import { spread, type Spread } from "./stats.js";

/** Timed ticks, after two untimed ones. */
const TICKS = 15;

export interface SupervisorResult {
  open: number;
  /** One `Supervisor.tick()`, milliseconds, from its start to the end of all it started. */
  tickMs: Spread;
  /** The event loop's longest delay during the timed ticks: the longest a tick held it. */
  longestTurnMs: number;
  /** Operations the ticks closed: 0, as no exit is within reach (a tick that only watches). */
  closedDuringTicks: number;
  /**
   * What each open operation adds to the process, measured after a full garbage collection before
   * the first submit and after the last: JavaScript heap, and resident memory (heap, SQLite's page
   * cache and everything native), in bytes per open operation.
   */
  memoryPerOpen: { heapBytes: number; rssBytes: number };
}

/** Heap and resident bytes after a full collection (the phase's node runs with --expose-gc). */
function settledMemory(): { heap: number; rss: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("phase 4 measures memory after a full GC: run node with --expose-gc");
  gc();
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heap: heapUsed, rss };
}

/**
 * Phase 4: one supervision tick over `open` open operations, in-process, with the paper executor
 * at zero latency. The operations are spread over the three default strategies and instruments,
 * each with a stop-loss and a take-profit far from the price, so a tick does what most ticks do:
 * quote every instrument, check every exit, value every operation, close nothing.
 */
export async function measureSupervisor(open: number): Promise<SupervisorResult> {
  const { app, config, close } = buildApp();
  try {
    const strategies = config.strategies;
    const instruments = Object.keys(config.instruments);
    const empty = settledMemory();
    for (let i = 0; i < open; i++) {
      const instrument = instruments[i % instruments.length]!;
      const price = Number(config.instruments[instrument]!.initialPrice);
      const exits = { stopLoss: String(Math.floor(price / 2)), takeProfit: String(price * 2) };
      const body = submitBody(strategies[i % strategies.length]!, instrument, `open-${i}`, exits);
      await app.service.submit({ ...body, size: "0.01" }, "bench");
    }
    const before = app.service.open.size;
    const full = settledMemory();
    const memoryPerOpen = {
      heapBytes: Math.round((full.heap - empty.heap) / before),
      rssBytes: Math.round((full.rss - empty.rss) / before),
    };
    const ms: number[] = [];
    const delay = monitorEventLoopDelay({ resolution: 1 });
    for (let i = 0; i < TICKS + 2; i++) {
      if (i === 2) delay.enable();
      const started = performance.now();
      await app.supervisor.tick();
      if (i >= 2) ms.push(performance.now() - started);
    }
    delay.disable();
    const longestTurnMs = Math.round((delay.max / 1e6) * 100) / 100;
    return {
      open: before,
      tickMs: spread(ms),
      closedDuringTicks: before - app.service.open.size,
      memoryPerOpen,
      longestTurnMs,
    };
  } finally {
    await close();
  }
}
