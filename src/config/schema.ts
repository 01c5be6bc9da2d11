import { z } from "zod";

/** A decimal amount written as a string or a number, kept as text until a scale is known. */
const Decimal = z.union([
  z.string().regex(/^\d+(\.\d+)?$/, "must be a non-negative decimal"),
  z.number().nonnegative(),
]);
const Ratio = z.number().min(0).max(1);
const Name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, "letters, digits, '_', '.', ':' or '-', at most 64");

export const InstrumentConfig = z.object({
  /** Decimal places of a price. @default 2 */
  pricePrecision: z.number().int().min(0).max(12).default(2),
  /** Decimal places of a size. @default 4 */
  sizePrecision: z.number().int().min(0).max(12).default(4),
  /** Largest size one operation may have. */
  maxPositionSize: Decimal,
  /** Paper executor: the price the random walk starts from. */
  initialPrice: Decimal,
  /** Paper executor: standard deviation of one step of the walk, as a fraction of the price. @default 0.0005 */
  volatility: z.number().positive().max(0.1).default(0.0005),
});
export type InstrumentConfig = z.infer<typeof InstrumentConfig>;

const DEFAULT_INSTRUMENTS = {
  "BTC-USD": {
    pricePrecision: 2,
    sizePrecision: 4,
    maxPositionSize: "2",
    initialPrice: "65000",
    volatility: 0.0006,
  },
  "ETH-USD": {
    pricePrecision: 2,
    sizePrecision: 3,
    maxPositionSize: "20",
    initialPrice: "3200",
    volatility: 0.0008,
  },
  "SOL-USD": {
    pricePrecision: 3,
    sizePrecision: 2,
    maxPositionSize: "500",
    initialPrice: "150",
    volatility: 0.001,
  },
} satisfies Record<string, z.input<typeof InstrumentConfig>>;

export const RiskConfig = z.object({
  maxDailyOperations: z
    .object({
      /** Operations accepted per UTC day, all strategies together. @default 5000 */
      global: z.number().int().positive().default(5000),
      /** Operations accepted per UTC day and strategy. @default 2000 */
      perStrategy: z.number().int().positive().default(2000),
    })
    .prefault({}),
  /** Largest notional (price × size) of one operation, in account currency. @default "50000" */
  maxNotionalPerOperation: Decimal.default("50000"),
  maxExposure: z
    .object({
      /** Sum of open notionals across instruments. @default "250000" */
      total: Decimal.default("250000"),
      /** Sum of open notionals per instrument. @default "120000" */
      perInstrument: Decimal.default("120000"),
    })
    .prefault({}),
  /** Least time between two operations on one instrument. @default 0 */
  minOperationIntervalMs: z.number().int().min(0).default(0),
  maxSubmitRate: z
    .object({
      /** Sustained submits per second and strategy (token bucket refill). @default 20 */
      perSecond: z.number().positive().default(20),
      /** Bucket size: submits allowed in a burst. @default 40 */
      burst: z.number().int().positive().default(40),
    })
    .prefault({}),
  /** Realized loss in a UTC day that halts trading. @default "5000" */
  maxDailyLoss: Decimal.default("5000"),
  /** Peak-to-trough fall of equity, as a ratio, that halts trading. @default 0.1 */
  maxDrawdown: Ratio.default(0.1),
  lossStreak: z
    .object({
      /** Consecutive losses of one strategy that start a cooldown. @default 5 */
      maxConsecutive: z.number().int().positive().default(5),
      /** How long the strategy may not open new operations. @default 60 */
      cooldownSec: z.number().int().min(0).default(60),
    })
    .prefault({}),
  /** Share of equity put at risk by a `size: "auto"` operation (to its stop-loss). @default 0.01 */
  riskPerOperation: Ratio.default(0.01),
  /** Close every open operation when trading is halted automatically. @default false */
  flattenOnAutoHalt: z.boolean().default(false),
});
export type RiskConfig = z.infer<typeof RiskConfig>;

export const PaperExecutorConfig = z.object({
  /** Seed of the simulated market; the same seed gives the same prices. @default 42 */
  seed: z.number().int().default(42),
  /** Simulated execution latency. @default 5 */
  latencyMs: z.number().int().min(0).default(5),
  /** Slippage applied against the trader, in basis points. @default 2 */
  slippageBps: z.number().min(0).max(1000).default(2),
  /** Share of executions that fail. @default 0 */
  failureRate: Ratio.default(0),
  /** Time between two steps of the price random walk. @default 250 */
  stepMs: z.number().int().positive().default(250),
});

export type PaperExecutorConfig = z.infer<typeof PaperExecutorConfig>;

export const WebhookExecutorConfig = z.object({
  /** Base URL of the external executor, e.g. http://broker-bridge:9000 */
  url: z.url().optional(),
  /** File holding a bearer token sent to the executor. */
  tokenFile: z.string().optional(),
  /** Deadline of one HTTP attempt. @default 2000 */
  timeoutMs: z.number().int().positive().default(2000),
  /** Further attempts after a failed one (idempotent by operation id). @default 2 */
  retries: z.number().int().min(0).max(10).default(2),
  /** First retry delay; doubles each time, with jitter. @default 100 */
  backoffMs: z.number().int().min(0).default(100),
  circuitBreaker: z
    .object({
      /** Consecutive failures that open the circuit. @default 5 */
      failureThreshold: z.number().int().positive().default(5),
      /** How long the circuit stays open before one trial call. @default 10000 */
      resetMs: z.number().int().positive().default(10_000),
    })
    .prefault({}),
});

export type WebhookExecutorConfig = z.infer<typeof WebhookExecutorConfig>;

export const Config = z
  .object({
    /** Where the SQLite database, the admin token and local files live. @default "./data" */
    dataDir: z.string().min(1).default("./data"),
    /** Deployment environment, a label on logs. @default "development" */
    env: z.string().min(1).default("development"),
    server: z
      .object({
        /** Interface to bind. @default "127.0.0.1" */
        host: z.string().min(1).default("127.0.0.1"),
        /** TCP port. @default 8080 */
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .prefault({}),
    auth: z
      .object({
        /** Require bearer tokens on the API. @default true */
        enabled: z.boolean().default(true),
      })
      .prefault({}),
    metrics: z
      .object({
        /** File holding a bearer token that `GET /metrics` then requires. */
        bearerTokenFile: z.string().optional(),
      })
      .prefault({}),
    logging: z
      .object({
        /** Least severe level written. @default "info" */
        level: z.enum(["error", "warn", "info", "debug"]).default("info"),
      })
      .prefault({}),
    accounting: z
      .object({
        /** Equity before any operation, in account currency. @default "100000" */
        startingEquity: Decimal.default("100000"),
        /** Decimal places of money (P&L, notional, equity). @default 2 */
        precision: z.number().int().min(0).max(8).default(2),
        /** Account currency, for display. @default "USD" */
        currency: z.string().min(1).default("USD"),
      })
      .prefault({}),
    instruments: z.record(Name, InstrumentConfig).default(DEFAULT_INSTRUMENTS as never),
    strategies: z.array(Name).min(1).default(["trend-follow", "mean-revert", "breakout"]),
    patterns: z.array(Name).default(["double-bottom", "head-shoulders", "momentum-burst", "range-break"]),
    risk: RiskConfig.prefault({}),
    executor: z
      .object({
        /** Which executor runs operations. @default "paper" */
        type: z.enum(["paper", "webhook"]).default("paper"),
        paper: PaperExecutorConfig.prefault({}),
        webhook: WebhookExecutorConfig.prefault({}),
      })
      .prefault({}),
    supervisor: z
      .object({
        /** Time between two checks of every open operation. @default 500 */
        monitorIntervalMs: z.number().int().min(10).default(500),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    if (Object.keys(config.instruments).length === 0) {
      ctx.addIssue({ code: "custom", path: ["instruments"], message: "declare at least one instrument" });
    }
    if (config.executor.type === "webhook" && !config.executor.webhook.url) {
      ctx.addIssue({
        code: "custom",
        path: ["executor", "webhook", "url"],
        message: "required when executor.type is webhook",
      });
    }
    if (new Set(config.strategies).size !== config.strategies.length) {
      ctx.addIssue({ code: "custom", path: ["strategies"], message: "strategy names must be unique" });
    }
  });

/** The validated configuration: every key present, defaults filled in. */
export type Config = z.infer<typeof Config>;
/** What a user may write: every key optional. */
export type ConfigInput = z.input<typeof Config>;
