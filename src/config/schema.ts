import { Cron as CronJob } from "croner";
import { z } from "zod";
import { EVENT_KINDS } from "../events/model.js";

/** A decimal amount written as a string or a number, kept as text until a scale is known. */
const Decimal = z.union([
  z.string().regex(/^\d+(\.\d+)?$/, "must be a non-negative decimal"),
  z.number().nonnegative(),
]);
const Ratio = z.number().min(0).max(1);
/** An http(s) URL: `tempo:4318` parses as a URL with scheme `tempo:`, which is never meant. */
const HttpUrl = z.url({ protocol: /^https?$/, error: "an http:// or https:// URL" });
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
  /**
   * How far from the quote an open may fill, in basis points. The risk check judges notional and
   * exposure at the worst price in that range, and the executor is told not to fill beyond it
   * (`limitPrice`), so an accepted operation stays within its limits at any fill it allows.
   * @default 50
   */
  maxSlippageBps: z.number().int().min(0).max(5000).default(50),
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
  /** Share of executions that fail (refused: nothing executed). @default 0 */
  failureRate: Ratio.default(0),
  /**
   * Share of executions that happen but whose answer is lost, as over a broken connection: the
   * operation is reconciled later. @default 0
   */
  lostAnswerRate: Ratio.default(0),
  /** Time between two steps of the price random walk. @default 250 */
  stepMs: z.number().int().positive().default(250),
});

export type PaperExecutorConfig = z.infer<typeof PaperExecutorConfig>;

export const WebhookExecutorConfig = z.object({
  /** Base URL of the external executor, e.g. http://broker-bridge:9000 */
  url: HttpUrl.optional(),
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
      /** Consecutive failed calls (after their retries) of one kind that open its circuit. @default 5 */
      failureThreshold: z.number().int().positive().default(5),
      /** How long a circuit stays open before one trial call. @default 1000 */
      resetMs: z.number().int().positive().default(1_000),
    })
    .prefault({}),
});

export type WebhookExecutorConfig = z.infer<typeof WebhookExecutorConfig>;

/** A cron expression (5 or 6 fields, as croner reads them), or "off". */
const Cron = z
  .string()
  .min(1)
  .superRefine((pattern, ctx) => {
    if (pattern === "off") return;
    try {
      new CronJob(pattern, { paused: true }).stop();
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        message: `not a cron expression ("off" turns it off): ${(error as Error).message}`,
      });
    }
  });

export const BackupConfig = z.object({
  /**
   * Take backups, drills and repository checks on their schedules inside `serve`; the commands
   * and the API work either way. @default true
   */
  enabled: z.boolean().default(true),
  /**
   * The restic repository: a folder, or any restic backend (`s3:…`, `sftp:…`, `rest:…`, `b2:…`).
   * Relative paths are under the data folder's parent. Passed to restic in its environment, never on
   * the command line. By default `<dataDir>-backups`, a folder beside the data folder.
   */
  repository: z.string().min(1).optional(),
  /**
   * File holding the repository password. Created (mode 0600, random) when it does not exist and
   * the repository is a local folder and does not exist yet. By default
   * `<dataDir>/backup-password`.
   */
  passwordFile: z.string().min(1).optional(),
  /**
   * File of `KEY=value` lines added to restic's environment: the credentials of a remote backend
   * (AWS_ACCESS_KEY_ID, B2_ACCOUNT_KEY, …), over those of opsguard's own environment. Never
   * logged, never on a command line.
   */
  environmentFile: z.string().min(1).optional(),
  /**
   * More files and folders to back up with the database and the config, e.g. a models folder;
   * relative paths are from the working directory. @default []
   */
  paths: z.array(z.string().min(1)).default([]),
  /** Tags on every snapshot, besides `opsguard` and `instance:<name>`. @default [] */
  tags: z
    .array(
      z
        .string()
        .regex(/^[\w.:-]+$/, "letters, digits, _ . : -")
        .refine(
          (tag) => !tag.startsWith("instance:"),
          "instance: tags are opsguard's own (set backup.instance)",
        ),
    )
    .default([]),
  /**
   * The name that tells this instance's snapshots from others' in a shared repository (the tag
   * `instance:<name>`). By default the host name.
   */
  instance: z
    .string()
    .regex(/^[\w.-]+$/, "letters, digits, _ . -")
    .optional(),
  /** The restic binary. @default "restic" */
  resticBinary: z.string().min(1).default("restic"),
  /** Deadline of one restic command; past it, it is stopped and the run fails. @default 1800000 */
  timeoutMs: z.number().int().positive().default(1_800_000),
  schedule: z
    .object({
      /** When to take a backup, as a cron expression, or "off". @default "17 * * * *" (hourly) */
      backup: Cron.default("17 * * * *"),
      /** When to run a restore drill. @default "43 3 * * *" (daily) */
      drill: Cron.default("43 3 * * *"),
      /** When to run `restic check`. @default "7 4 * * 0" (weekly) */
      check: Cron.default("7 4 * * 0"),
    })
    .prefault({}),
  retention: z
    .object({
      /** Snapshots kept regardless of age. @default 24 */
      keepLast: z.number().int().min(1).default(24),
      /** One snapshot kept for each of the last N days. @default 7 */
      keepDaily: z.number().int().min(0).default(7),
      /** One snapshot kept for each of the last N weeks. @default 4 */
      keepWeekly: z.number().int().min(0).default(4),
      /** One snapshot kept for each of the last N months. @default 6 */
      keepMonthly: z.number().int().min(0).default(6),
    })
    .prefault({}),
  /** Share of the repository's data a scheduled `restic check` reads back, e.g. "5%" or "1/10". @default "5%" */
  checkReadDataSubset: z
    .string()
    .regex(/^(\d+(\.\d+)?%|\d+\/\d+)$/, 'a percentage such as "5%", or "n/t"')
    .default("5%"),
});

export type BackupConfig = z.infer<typeof BackupConfig>;

export const LoggingConfig = z.object({
  /** Least severe level written. @default "info" */
  level: z.enum(["error", "warn", "info", "debug"]).default("info"),
  console: z
    .object({
      /** Write log lines to the console (stdout; errors and warnings to stderr). @default true */
      enabled: z.boolean().default(true),
      /** `auto`: readable lines on a terminal, JSON lines otherwise. @default "auto" */
      format: z.enum(["auto", "json", "pretty"]).default("auto"),
    })
    .prefault({}),
  file: z
    .object({
      /** Write JSON lines to rotated files (the log report reads them). @default true */
      enabled: z.boolean().default(true),
      /** Folder of the log files; relative paths are under `dataDir`. @default "logs" */
      dir: z.string().min(1).default("logs"),
      /** Rotate when a file reaches this size (`k`, `m` or `g` suffix). @default "20m" */
      maxSize: z
        .string()
        .regex(/^\d+[kmg]$/, "a size such as 20m")
        .default("20m"),
      /** Delete rotated files older than this many days. @default 14 */
      maxAgeDays: z.number().int().positive().default(14),
    })
    .prefault({}),
  loki: z
    .object({
      /** Loki base URL, e.g. http://loki:3100; lines are pushed to `<url>/loki/api/v1/push`. Off when unset. */
      url: HttpUrl.optional(),
      /** File holding a bearer token sent to Loki (or to the gateway in front of it). */
      tokenFile: z.string().optional(),
      /** `X-Scope-OrgID` for a multi-tenant Loki. */
      tenant: z.string().min(1).optional(),
      /** Lines held while Loki is slow or down; beyond this the oldest are dropped and counted. @default 10000 */
      maxBufferedLines: z.number().int().positive().default(10_000),
      /** Lines per push, at most. @default 1000 */
      batchSize: z.number().int().positive().default(1000),
      /** Time between two pushes. @default 1000 */
      batchIntervalMs: z.number().int().positive().default(1000),
      /** Deadline of one push; the request is aborted after it. @default 5000 */
      timeoutMs: z.number().int().positive().default(5000),
    })
    .prefault({}),
});
export type LoggingConfig = z.infer<typeof LoggingConfig>;

export const TracesConfig = z.object({
  /**
   * OTLP/HTTP traces endpoint, e.g. http://tempo:4318/v1/traces. Off when unset (tracing then
   * costs next to nothing). `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`
   * (plus `/v1/traces`) set it too; this key wins.
   */
  endpoint: HttpUrl.optional(),
  /** Extra request headers (non-secret, e.g. `X-Scope-OrgID`); secrets go in `OTEL_EXPORTER_OTLP_HEADERS`. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Share of traces recorded, 0..1 (parent-based: a caller's sampling decision is kept). @default 1 */
  sampleRatio: z.number().min(0).max(1).default(1),
  /** Finished spans held while the collector is slow or down; beyond this new ones are dropped and counted. @default 2048 */
  maxQueueSize: z.number().int().positive().default(2048),
  /** Deadline of one export request. @default 5000 */
  exportTimeoutMs: z.number().int().positive().default(5000),
  /**
   * Paths whose requests get no span: scrapes and health probes arrive every few seconds and
   * would bury the traces that matter. @default ["/metrics", "/healthz", "/readyz"]
   */
  untracedPaths: z.array(z.string().startsWith("/")).default(["/metrics", "/healthz", "/readyz"]),
});
export type TracesConfig = z.infer<typeof TracesConfig>;

export const EventsConfig = z.object({
  /** How long events are kept for replay (`Last-Event-ID`) and webhook retries, in hours. @default 168 */
  retentionHours: z.number().int().min(1).max(8_760).default(168),
  /** Event-stream clients connected at once; one more is answered 503. @default 1000 */
  maxClients: z.number().int().min(1).max(100_000).default(1_000),
  /**
   * Bytes of events held for one stream client that does not read; beyond them it is cut off with
   * a `stream.closed` frame (it reconnects and replays). With `maxClients`, this bounds the memory
   * all streams can hold. @default 262144
   */
  maxBufferedBytes: z.number().int().min(4_096).max(268_435_456).default(262_144),
  /** A comment sent to an idle stream this often, so proxies keep it open. @default 15000 */
  heartbeatMs: z.number().int().min(1_000).max(300_000).default(15_000),
  /** How long a client that was cut off has to read why before its connection is dropped. @default 5000 */
  cutoffGraceMs: z.number().int().min(100).max(60_000).default(5_000),
  /**
   * The shortest time between two writes to a stream client while events keep coming: the events
   * of a busy moment reach each client in one write, at most this late. An event after a quiet
   * moment is written at once. Each write costs a system call per client (about 20 µs on a
   * 2-core VM), so a shorter interval costs CPU in proportion to the clients. @default 100
   */
  flushIntervalMs: z.number().int().min(1).max(1_000).default(100),
  /**
   * Compress the streams of clients that accept gzip (`Accept-Encoding`), as browsers and `fetch`
   * do: what a busy moment writes is compressed once for every client with the same filter, into
   * about a tenth of the bytes. @default true
   */
  gzip: z.boolean().default(true),
  /**
   * Utilization ratios of each risk limit at which a `risk.limit_threshold` event is recorded,
   * crossing up or down; an empty list records none. @default [0.8, 1]
   */
  limitThresholds: z.array(z.number().gt(0).max(1)).max(10).default([0.8, 1]),
});
export type EventsConfig = z.infer<typeof EventsConfig>;

/**
 * The name of an environment variable. `OPSGUARD_*` names are refused: the configuration loader
 * reads each of those as a configuration key.
 */
const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name: letters, digits and '_'")
  .refine((name) => !name.toUpperCase().startsWith("OPSGUARD_"), {
    message: "OPSGUARD_* variables are configuration keys; hold the secret in a variable of another name",
  });

export const WebhookEndpointConfig = z
  .object({
    /** The endpoint's name: its `endpoint` metric label, in log lines and delivery ids; unique. */
    name: Name,
    /** Where the events are POSTed. */
    url: HttpUrl,
    /** The event kinds sent; every kind when unset. */
    kinds: z.array(z.enum(EVENT_KINDS)).min(1).optional(),
    /** Only events of these strategies (account-wide events are always sent); all when unset. */
    strategies: z.array(Name).min(1).optional(),
    /** Only events of these instruments (account-wide events are always sent); all when unset. */
    instruments: z.array(Name).min(1).optional(),
    /** File holding the signing secret (its content, trimmed). Set this or `secretEnv`. */
    secretFile: z.string().min(1).optional(),
    /** Environment variable holding the signing secret. Set this or `secretFile`. */
    secretEnv: EnvName.optional(),
  })
  .superRefine((endpoint, ctx) => {
    if ((endpoint.secretFile === undefined) === (endpoint.secretEnv === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["secretFile"],
        message: "set exactly one of secretFile and secretEnv: where the signing secret is read from",
      });
    }
  });
export type WebhookEndpointConfig = z.infer<typeof WebhookEndpointConfig>;

export const WebhooksConfig = z
  .object({
    /**
     * The endpoints that receive the events, each a mapping of `name`, `url`, `secretFile` or
     * `secretEnv`, and the optional filters `kinds`, `strategies` and `instruments` (see
     * docs/webhooks.md). None by default. @default []
     */
    endpoints: z.array(WebhookEndpointConfig).default([]),
    /** Deadline of one delivery attempt; the request is aborted after it. @default 5000 */
    timeoutMs: z.number().int().min(10).max(600_000).default(5_000),
    /** Events sent in one request, at most (about 0.7 KB each). @default 500 */
    maxBatchEvents: z.number().int().min(1).max(1_000).default(500),
    retry: z
      .object({
        /** Delay before the first retry of a failed delivery; it doubles at each failure, with jitter. @default 1000 */
        initialMs: z.number().int().min(1).default(1_000),
        /** Longest delay between two attempts; a failing delivery is retried at this pace forever. @default 300000 */
        maxMs: z.number().int().min(1).max(86_400_000).default(300_000),
      })
      .prefault({})
      .refine((retry) => retry.maxMs >= retry.initialMs, {
        path: ["maxMs"],
        message: "must be at least retry.initialMs",
      }),
  })
  .superRefine((webhooks, ctx) => {
    const seen = new Set<string>();
    webhooks.endpoints.forEach((endpoint, i) => {
      if (seen.has(endpoint.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", i, "name"],
          message: `endpoint names must be unique: "${endpoint.name}" is used twice`,
        });
      }
      seen.add(endpoint.name);
    });
  });
export type WebhooksConfig = z.infer<typeof WebhooksConfig>;

/**
 * Limits held across every opsguard instance of a firm (each instance one account), in a
 * PostgreSQL database they share. Off unless `urlFile` is set; see docs/scaling.md.
 */
export const GlobalLimitsConfig = z
  .object({
    /**
     * File holding the PostgreSQL URL (`postgres://user:password@host:5432/db`; its content,
     * trimmed). Setting it turns the global limits on.
     */
    urlFile: z.string().min(1).optional(),
    /** This instance's account: who holds each reservation. Set it when `urlFile` is set. */
    account: Name.optional(),
    /**
     * How long a submit waits for PostgreSQL before it is refused (503 GLOBAL_LIMITS_UNAVAILABLE):
     * the budget store unreachable never lets an operation through unchecked. @default 1000
     */
    timeoutMs: z.number().int().min(10).max(60_000).default(1000),
    /** Connections to PostgreSQL, at most. @default 4 */
    poolSize: z.number().int().min(1).max(100).default(4),
    /** Open notional of every account together, in account currency; no limit when unset. */
    maxExposure: Decimal.optional(),
    /** Operations accepted per UTC day by every account together; no limit when unset. */
    maxDailyOperations: z.number().int().positive().optional(),
    /** Realized loss of every account together in a UTC day that refuses new operations; no limit when unset. */
    maxDailyLoss: Decimal.optional(),
  })
  .superRefine((limits, ctx) => {
    if (limits.urlFile !== undefined && limits.account === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["account"],
        message:
          "set globalLimits.account, the account this instance holds, when globalLimits.urlFile is set",
      });
    }
  });
export type GlobalLimitsConfig = z.infer<typeof GlobalLimitsConfig>;

export const Config = z
  .object({
    /** Where the SQLite database, the admin token and local files live. @default "./data" */
    dataDir: z.string().min(1).default("./data"),
    /** Deployment environment, a label on logs. @default "development" */
    env: z.string().min(1).default("development"),
    database: z
      .object({
        /**
         * How often the WAL is moved into the database, on a thread of its own (the service's
         * commits never do it). A longer interval lets the WAL grow larger between checkpoints.
         * @default 1000
         */
        checkpointIntervalMs: z.number().int().min(100).max(60_000).default(1000),
      })
      .prefault({}),
    server: z
      .object({
        /** Interface to bind. @default "127.0.0.1" */
        host: z.string().min(1).default("127.0.0.1"),
        /** TCP port. @default 8080 */
        port: z.number().int().min(0).max(65535).default(8080),
        /**
         * On SIGTERM/SIGINT: how long in-flight requests, then queued spans and log lines, may take
         * before the process exits anyway. @default 10000
         */
        shutdownDeadlineMs: z.number().int().positive().default(10_000),
        /** Largest request body, in bytes; a larger one is a 413 before it is read. @default 65536 */
        maxBodyBytes: z.number().int().min(1024).max(16_777_216).default(65_536),
        /** Largest size of all request headers together, in bytes; beyond it Node answers 431. @default 16384 */
        maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
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
    logging: LoggingConfig.prefault({}),
    telemetry: z
      .object({
        traces: TracesConfig.prefault({}),
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
    globalLimits: GlobalLimitsConfig.prefault({}),
    executor: z
      .object({
        /** Which executor runs operations. @default "paper" */
        type: z.enum(["paper", "webhook"]).default("paper"),
        /**
         * How long after an unconfirmed open or close (its answer was lost) the executor is asked
         * what happened: long enough for a request still on its way to land first. @default 10000
         */
        reconcileAfterMs: z.number().int().min(0).default(10_000),
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
    backup: BackupConfig.prefault({}),
    events: EventsConfig.prefault({}),
    webhooks: WebhooksConfig.prefault({}),
    security: z
      .object({
        schedule: z
          .object({
            /**
             * When to run the quick checks: the audit log's hash chain, going on from the last
             * entry found sound, and the database's `quick_check`; a cron expression, or "off".
             * When scheduled they also run at start. Every five minutes by default.
             */
            quick: Cron.default("*/5 * * * *"),
            /**
             * When to run every security check (integrity, dependencies, database, permissions,
             * settings); a cron expression, or "off". When scheduled they also run at start.
             * @default "29 * * * *" (hourly)
             */
            checks: Cron.default("29 * * * *"),
          })
          .prefault({}),
        /**
         * The signed integrity baseline. By default `<dataDir>/security/baseline.json`; `serve`
         * records it at its first start, `opsguard security baseline` after an intended change.
         */
        baselineFile: z.string().min(1).optional(),
        /**
         * The key the baseline is signed with (HMAC-SHA256), created with mode 0600 when missing.
         * Keep it where whoever can write the data folder cannot (a secret mount, a root-owned
         * file): then editing the baseline is detected too. By default `<dataDir>/security/baseline.key`.
         */
        baselineKeyFile: z.string().min(1).optional(),
        /**
         * More files and folders under the integrity baseline, besides the application, the config
         * file and `backup.paths`; relative paths are from the working directory. @default []
         */
        paths: z.array(z.string().min(1)).default([]),
        /**
         * Advisories in OSV format (https://ossf.github.io/osv-schema/): a JSON file (one record,
         * an array, or `{"vulns": [...]}`) or a folder of them, e.g. osv.dev's npm export. Read
         * offline at each run.
         */
        advisoriesFile: z.string().min(1).optional(),
        npmAudit: z
          .object({
            /** Ask the npm registry about the installed versions (`npm audit --json`). @default true */
            enabled: z.boolean().default(true),
            /** The registry to ask; npm's own setting by default. */
            registry: HttpUrl.optional(),
            /** Deadline of `npm audit`; past it the source counts as unreachable. @default 30000 */
            timeoutMs: z.number().int().positive().default(30_000),
          })
          .prefault({}),
        /** API tokens older than this are a finding: rotate them. @default 90 */
        maxTokenAgeDays: z.number().int().positive().default(90),
        /** A last successful backup older than this is a finding. @default 3 */
        maxBackupAgeHours: z.number().positive().default(3),
      })
      .prefault({}),
    reports: z
      .object({
        /**
         * When to make the daily reports of the day that ended (UTC): written under `reports.dir`
         * in JSON, HTML and Markdown, their recommendations made metrics; a cron expression in
         * UTC, or "off". They are also made at start. @default "5 0 * * *" (00:05 UTC)
         */
        schedule: Cron.default("5 0 * * *"),
        /**
         * The day the scheduled reports cover: `yesterday` (the day that ended, for a daily
         * schedule), or `today` so far (for a schedule within the day, as the demo's). @default "yesterday"
         */
        covers: z.enum(["yesterday", "today"]).default("yesterday"),
        /** Folder of the daily reports; by default `<dataDir>/reports`. */
        dir: z.string().min(1).optional(),
        /** Daily report files older than this many days are deleted. @default 30 */
        keepDays: z.number().int().positive().default(30),
        performance: z
          .object({
            /**
             * Periods in a year, to annualize the Sharpe, Sortino and Calmar ratios of daily
             * returns: 365 for markets that never close, 252 for exchange days. @default 365
             */
            periodsPerYear: z.number().int().min(1).max(366).default(365),
            rules: z
              .object({
                /** Closes a strategy or a pattern needs before a rule judges it. @default 30 */
                minCloses: z.number().int().positive().default(30),
                /** PERF-001: how far below its mean declared confidence a pattern's hit rate may be. @default 0.1 */
                confidenceMargin: Ratio.default(0.1),
                /** PERF-002: share of submits one failed check may reach. @default 0.2 */
                rejectionShare: Ratio.default(0.2),
                /** PERF-002: submits in the timeframe before it judges. @default 50 */
                minSubmits: z.number().int().positive().default(50),
                /** PERF-003: cooldowns of one strategy in the timeframe. @default 3 */
                cooldowns: z.number().int().positive().default(3),
                /** PERF-004 and PERF-006: share of risk.maxDrawdown or risk.maxDailyLoss reached. @default 0.8 */
                nearLimit: Ratio.default(0.8),
              })
              .prefault({}),
          })
          .prefault({}),
        system: z
          .object({
            /**
             * Time between two samples of the process and the host (CPU, memory, event-loop delay,
             * GC, database and WAL size, free space, open operations) for the system report.
             * @default 60
             */
            sampleIntervalSec: z.number().int().min(5).max(3600).default(60),
            /** Days of samples kept; older ones are deleted, at most once an hour. @default 35 */
            retentionDays: z.number().int().min(1).max(3660).default(35),
            rules: z
              .object({
                /** Samples a trend, and SYS-004 and SYS-005, need before a rule judges them. @default 60 */
                minSamples: z.number().int().min(2).default(60),
                /** Hours from the first to the last sample a trend needs to be judged. @default 6 */
                minTrendHours: z.number().positive().default(6),
                /**
                 * R² of the least-squares line from which growth counts as steady (SYS-001, SYS-003).
                 * @default 0.8
                 */
                trendR2: Ratio.default(0.8),
                /** SYS-001: WAL size that is too large, in bytes (64 MiB). @default 67108864 */
                walBytes: z.number().int().positive().default(67_108_864),
                /**
                 * SYS-001: steady WAL growth per day that means checkpoints do not complete, in bytes
                 * (16 MiB). @default 16777216
                 */
                walGrowthBytesPerDay: z.number().int().positive().default(16_777_216),
                /** SYS-002: warn when the data volume is forecast to fill within this many days. @default 7 */
                diskFullDays: z.number().positive().default(7),
                /** SYS-002: high instead of warning within this many days. @default 2 */
                diskFullHighDays: z.number().positive().default(2),
                /**
                 * SYS-003: steady RSS growth per day that looks like a leak, in bytes (64 MiB).
                 * @default 67108864
                 */
                rssGrowthBytesPerDay: z.number().int().positive().default(67_108_864),
                /** SYS-004: a sample's event-loop delay p99 that counts as high, in milliseconds. @default 100 */
                eventLoopDelayP99Ms: z.number().positive().default(100),
                /**
                 * SYS-005: a sample's CPU time per second (1 = one core busy) that counts as near one
                 * core. @default 0.8
                 */
                cpuCoreShare: z.number().positive().max(64).default(0.8),
                /**
                 * SYS-004 and SYS-005: share of the samples at or above their threshold that makes it
                 * sustained. @default 0.2
                 */
                sustainedShare: Ratio.default(0.2),
              })
              .prefault({}),
          })
          .prefault({}),
        logs: z
          .object({
            /**
             * Where the log report reads lines: `file` (the rotated JSON files of `logging.file`),
             * `loki` (`logging.loki.url`), or `auto`: Loki when it is configured, else the files.
             * @default "auto"
             */
            source: z.enum(["auto", "file", "loki"]).default("auto"),
            /** Deadline of one query to Loki. @default 10000 */
            lokiTimeoutMs: z.number().int().positive().default(10_000),
            /** Least ratio of counts between the window and the one before for a rising or falling trend. @default 2 */
            trendFactor: z.number().min(1).default(2),
            /** Least count in the larger window for a rising or falling trend. @default 5 */
            trendMinCount: z.number().int().positive().default(5),
          })
          .prefault({}),
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
    config.webhooks.endpoints.forEach((endpoint, i) => {
      const undeclared = (endpoint.strategies ?? []).filter((name) => !config.strategies.includes(name));
      if (undeclared.length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["webhooks", "endpoints", i, "strategies"],
          message: `not declared in strategies: ${undeclared.join(", ")}`,
        });
      }
      const unknown = (endpoint.instruments ?? []).filter((name) => !(name in config.instruments));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["webhooks", "endpoints", i, "instruments"],
          message: `not declared in instruments: ${unknown.join(", ")}`,
        });
      }
    });
  });

/** The validated configuration: every key present, defaults filled in. */
export type Config = z.infer<typeof Config>;
/** What a user may write: every key optional. */
export type ConfigInput = z.input<typeof Config>;
