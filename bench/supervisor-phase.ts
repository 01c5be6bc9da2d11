import { buildApp, submitBody } from "./inproc-app.js";
import { spread, type Spread } from "./stats.js";

/** Timed ticks, after two untimed ones. */
const TICKS = 15;

export interface SupervisorResult {
  open: number;
  /** One `Supervisor.tick()`, milliseconds. */
  tickMs: Spread;
  /** Operations the ticks closed: 0, as no exit is within reach (a tick that only watches). */
  closedDuringTicks: number;
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
    for (let i = 0; i < open; i++) {
      const instrument = instruments[i % instruments.length]!;
      const price = Number(config.instruments[instrument]!.initialPrice);
      const exits = { stopLoss: String(Math.floor(price / 2)), takeProfit: String(price * 2) };
      const body = submitBody(strategies[i % strategies.length]!, instrument, `open-${i}`, exits);
      await app.service.submit({ ...body, size: "0.01" }, "bench");
    }
    const before = app.service.open.size;
    const ms: number[] = [];
    for (let i = 0; i < TICKS + 2; i++) {
      const started = performance.now();
      await app.supervisor.tick();
      if (i >= 2) ms.push(performance.now() - started);
    }
    return { open: before, tickMs: spread(ms), closedDuringTicks: before - app.service.open.size };
  } finally {
    await close();
  }
}
