import { setTimeout as sleep } from "node:timers/promises";
import type { Executor } from "../execution/executor.js";
import { EventFollower, type OpsguardEvent } from "./event-follower.js";
import { formatFixed } from "../platform/fixed-point.js";
import type { Logger } from "../platform/logger.js";
import type { RiskLimits } from "../risk/limits.js";

/**
 * How each demo pattern sets its exits, as multiples of a base distance: a close target and a far
 * stop win often and small; a far target and a close stop win rarely and big. Different hit rates
 * follow, which is what the pattern-accuracy panels are for.
 */
const PATTERN_EXITS: readonly { takeProfit: number; stopLoss: number }[] = [
  { takeProfit: 0.6, stopLoss: 2.0 },
  { takeProfit: 1.0, stopLoss: 1.0 },
  { takeProfit: 2.5, stopLoss: 0.8 },
  { takeProfit: 1.5, stopLoss: 1.2 },
];

/** Exits of patient operations: far enough that the time limit usually comes first. */
const PATIENT_EXITS = { takeProfit: 8, stopLoss: 8 };

export interface DemoStrategyOptions {
  baseUrl: string;
  /** An admin token: the demo also resumes trading after an automatic halt. */
  token: string;
  executor: Executor;
  limits: RiskLimits;
  logger: Logger;
  /** Time between two submits. @default 250 */
  intervalMs?: number;
  /** Time a halt lasts before the demo resumes trading. @default 20000 */
  resumeAfterMs?: number;
  random?: () => number;
}

/**
 * A built-in strategy that talks to opsguard over HTTP like any client: a realistic stream of
 * operations across strategies, instruments and patterns, with some that break limits, some
 * idempotent retries, manual closes, and a resume after each automatic halt. It learns which of
 * its operations are open and whether trading is halted from the event stream (`GET /v1/events`),
 * never by polling.
 */
export class DemoStrategy {
  private timer: NodeJS.Timeout | undefined;
  private sequence = 0;
  private haltedSince: number | undefined;
  /** Open operations, oldest first, as the event stream tells. */
  private readonly open = new Set<string>();
  private tradingState = "active";
  private inFlight: Promise<void> | undefined;
  private readonly events: EventFollower;

  constructor(private readonly options: DemoStrategyOptions) {
    this.events = new EventFollower({
      baseUrl: options.baseUrl,
      token: options.token,
      query: "kinds=operation.opened,operation.closed,operation.failed,trading.state_changed",
      onEvent: (event) => this.observe(event),
      onDisconnect: (reason) =>
        options.logger.info("demo event stream reconnecting", { event: "demo.stream_reconnecting", reason }),
    });
  }

  /** What an event tells the strategy. */
  observe(event: OpsguardEvent): void {
    if (event.kind === "trading.state_changed") this.tradingState = String(event.data.to);
    else if (event.kind === "operation.opened") this.open.add(event.operationId!);
    else this.open.delete(event.operationId!);
  }

  /** Operations the strategy knows to be open. */
  get openOperations(): ReadonlySet<string> {
    return this.open;
  }

  /** Reads the trading state once, then follows the event stream and starts submitting. */
  async start(): Promise<void> {
    const risk = (await (await this.call("GET", "/v1/risk")).json()) as { tradingState: { state: string } };
    this.tradingState = risk.tradingState.state;
    this.events.start();
    this.run();
  }

  /** A step, then the next one `intervalMs` after it ends, until stopped. */
  private run(): void {
    const loop = (): void => {
      this.inFlight = this.step()
        .catch((error: unknown) => {
          this.options.logger.warn("demo step failed", {
            event: "demo.error",
            err: (error as Error).message,
          });
        })
        .finally(() => {
          if (this.timer) this.timer = setTimeout(loop, this.options.intervalMs ?? 250);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    await this.events.stop();
  }

  /** One decision: maybe resume, maybe close one, then submit one. */
  async step(): Promise<void> {
    const random = this.options.random ?? Math.random;
    if (await this.resumeIfHalted()) return;
    if (this.open.size > 0 && random() < 0.08) {
      // The newest: the older ones are left to reach their exits.
      await this.call("POST", `/v1/operations/${[...this.open].at(-1)!}/close`, {});
      return;
    }
    if (random() < 0.01) {
      await this.burst(random);
      return;
    }
    await this.submit(random);
  }

  /**
   * Submits from one strategy faster than its token bucket refills, so that some are refused with
   * `RATE_LIMITED`. The bucket counts accepted submits only, and `risk.minOperationIntervalMs`
   * refuses a second submit on an instrument within the interval first: so the burst comes in
   * waves of one submit per instrument, each wave after the interval, until more have been
   * accepted than the bucket holds.
   */
  private async burst(random: () => number): Promise<void> {
    const { limits } = this.options;
    const strategy = [...limits.strategies][0]!;
    const waves = Math.ceil((limits.maxSubmitRate.burst * 2) / limits.instruments.size) + 1;
    for (let wave = 0; wave < waves; wave++) {
      if (wave > 0) await sleep(limits.minOperationIntervalMs + 20);
      await Promise.all(
        [...limits.instruments.keys()].map((instrument) => this.submit(random, strategy, instrument)),
      );
    }
  }

  private async submit(random: () => number, onlyStrategy?: string, onlyInstrument?: string): Promise<void> {
    const { limits, executor } = this.options;
    const strategies = [...limits.strategies];
    const patterns = [...limits.patterns];
    const instruments = [...limits.instruments.keys()];
    const strategy = onlyStrategy ?? strategies[Math.floor(random() * strategies.length)]!;
    const instrument = onlyInstrument ?? instruments[Math.floor(random() * instruments.length)]!;
    const scales = limits.instruments.get(instrument)!;
    const patternIndex = Math.floor(random() * patterns.length);
    // Some operations are patient: exits far away and a short time limit, so they time out.
    const patient = random() < 0.15;
    const exits = patient ? PATIENT_EXITS : PATTERN_EXITS[patternIndex % PATTERN_EXITS.length]!;
    const side = random() < 0.5 ? "buy" : "sell";
    const price = (await executor.quote(instrument)).price;
    const sign = side === "buy" ? 1n : -1n;
    // Base distance: 0.4% of the price, in price units.
    const base = (price * 4n) / 1000n;
    const at = (multiple: number): string =>
      formatFixed(price + sign * ((base * BigInt(Math.round(multiple * 100))) / 100n), scales.price);
    const sizeRoll = random();
    const size =
      sizeRoll < 0.5
        ? "auto"
        : sizeRoll < 0.97
          ? formatFixed((scales.maxPositionSize * BigInt(Math.ceil(random() * 20))) / 100n || 1n, scales.size)
          : formatFixed(scales.maxPositionSize * 2n, scales.size); // breaks the size limit on purpose
    const body = {
      clientId: `demo-${process.pid}-${++this.sequence}`,
      strategy,
      instrument,
      side,
      size,
      stopLoss: at(-exits.stopLoss),
      takeProfit: at(exits.takeProfit),
      maxDurationSec: patient ? 2 + Math.floor(random() * 4) : 5 + Math.floor(random() * 25),
      pattern: patterns[patternIndex],
      confidence: Math.round((0.5 + random() * 0.5) * 100) / 100,
    };
    const response = await this.call("POST", "/v1/operations", body);
    // A client that lost the answer retries with the same clientId: opsguard replays.
    if (response.status === 201 && random() < 0.05) await this.call("POST", "/v1/operations", body);
  }

  /** After an automatic halt, waits a while, then resumes as an operator would. */
  private async resumeIfHalted(): Promise<boolean> {
    if (this.tradingState !== "halted") {
      this.haltedSince = undefined;
      return false;
    }
    this.haltedSince ??= Date.now();
    if (Date.now() - this.haltedSince >= (this.options.resumeAfterMs ?? 20_000)) {
      await this.call("PUT", "/v1/risk/state", { state: "active", reason: "demo: resumed after review" });
      this.haltedSince = undefined;
      return true;
    }
    // While halted, keep submitting now and then: those are rejected with TRADING_HALTED.
    return (this.options.random ?? Math.random)() < 0.7;
  }

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const response = await fetch(`${this.options.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.options.token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // 502 (refused) and 504 (unconfirmed, reconciled by opsguard) are the venue's doing, not the demo's.
    if (response.status >= 500 && response.status !== 502 && response.status !== 504) {
      this.options.logger.warn("demo call failed", {
        event: "demo.call_failed",
        method,
        path,
        status: response.status,
      });
    }
    return response;
  }
}
