import { parseArgs } from "node:util";

/** Every knob of `npm run bench`; each has a `BENCH_*` variable and a `--flag`, the flag winning. */
export interface BenchOptions {
  /** Seconds of measured load per round and target. @default 10 */
  durationSec: number;
  /** Seconds of load before each measured run, discarded (JIT, caches, connections). @default 3 */
  warmupSec: number;
  /** Rounds of (bare, opsguard with telemetry, opsguard without), in rotating order. @default 3 */
  rounds: number;
  /** Concurrent connections of the load generator. @default 50 */
  connections: number;
  /** wrk threads. @default 2 */
  threads: number;
  /** Operations submitted over HTTP before RSS is read. @default 100000 */
  operations: number;
  /**
   * Seconds of load while the telemetry endpoints are down, per kind of outage, sampled. Two
   * minutes: over one, the garbage collector's sawtooth (up to 100 MB) moves the fitted slope by
   * ±30 MB/min even when nothing grows. @default 120
   */
  outageSec: number;
  /** Seconds of the same load before the sampling starts. @default 20 */
  outageWarmupSec: number;
  /** Seconds between two RSS samples. @default 2 */
  sampleEverySec: number;
  /** Series counts the scrape is timed at. @default [1000, 10000] */
  scrapeSeries: number[];
  /** Open operations the supervision tick is timed with, and memory measured at. @default [1000, 10000, 100000] */
  supervisorOpen: number[];
  /** Milliseconds tinybench spends on each risk-decision task. @default 1000 */
  riskTimeMs: number;
  /** Operations in the database the backup phase backs up (seeded, all closed). @default 1000000 */
  backupOperations: number;
  /**
   * Rounds of (load without a backup, load during a backup) in the backup phase, in alternating
   * order; each costs a backup of the whole database. @default 2
   */
  backupRounds: number;
  /** Longest window of phase 7's load during a backup (it ends with the backup). @default 30 */
  backupWindowSec: number;
  /**
   * Operations in the database of the security-check phase (seeded, all closed): what
   * `integrity_check` and the walk of the audit chain read. @default 200000
   */
  securityOperations: number;
  /**
   * Rounds of (load without a security check, load with checks back to back) in the security-check
   * phase, in alternating order, each on a fresh server. @default 2
   */
  securityRounds: number;
  /** Closed operations in the database of phase 9, over a year. @default 1000000 */
  reportsOperations: number;
  /** Timed requests of each report in phase 9. @default 5 */
  reportsRepeats: number;
  /** Fixed rates of phase 10, requests per second. @default [500, 1000] */
  openRates: number[];
  /** Measured seconds of each open-loop run. @default 20 */
  openDurationSec: number;
  /** Rounds of (no consumer, stream clients and webhook endpoints) in phase 11, alternating. @default 3 */
  eventsRounds: number;
  /** Event-stream clients of phase 11. @default 100 */
  eventsClients: number;
  /**
   * What each client of phase 11 subscribes to: every event, or the events of one strategy (client
   * i the i-th of the load's three, as a strategy would follow its own operations). @default all
   */
  eventsFilter: "all" | "strategy";
  /**
   * How the clients of phase 11 read their streams: `plain`, or `gzip` (they ask for it, as
   * browsers and fetch do, and decompress on the benchmark's own cores). @default plain
   */
  eventsEncoding: "plain" | "gzip";
  /** Rounds of phase 12, each a server with the firm-wide limits on and one without. */
  globalRounds: number;
  /** Phases to run. @default all */
  phases: Phase[];
  /** Servers of the submit phase besides bare, full and quiet. @default none */
  variants: Variant[];
  /** Where the JSON results go. @default bench/results.json */
  out: string;
  /** When set, every server under test writes a `.cpuprofile` here. */
  profileDir: string | undefined;
  /** Node.js flags for every server under test (`--trace-gc`, say), separated by spaces. */
  nodeFlags: string | undefined;
  /** The build of opsguard served over HTTP, to compare another one. @default dist */
  dist: string;
}

export const PHASES = [
  "submit",
  "scrape",
  "supervisor",
  "risk",
  "memory",
  "backup",
  "security",
  "reports",
  "open",
  "events",
  "global",
] as const;
export type Phase = (typeof PHASES)[number];

/**
 * The servers compared: the bare Hono route, opsguard with everything on (traces to an OTLP sink,
 * logs to a Loki sink) and opsguard with both exporters off; on request also opsguard with only
 * traces, only logs, or traces exported but none sampled (what the tracing machinery costs by
 * itself), to see where the cost of telemetry goes; and the bare route with the commits an
 * operation's durability asks for (`bench/durable-target.ts`), the floor of the design.
 */
export const VARIANTS = [
  "bare",
  "durable",
  "full",
  "quiet",
  "traces",
  "logs",
  "unsampled",
  "sampled10",
] as const;
export type Variant = (typeof VARIANTS)[number];

const DEFAULTS: BenchOptions = {
  durationSec: 10,
  warmupSec: 3,
  rounds: 3,
  connections: 50,
  threads: 2,
  operations: 100_000,
  outageSec: 120,
  outageWarmupSec: 20,
  sampleEverySec: 2,
  scrapeSeries: [1000, 10_000],
  supervisorOpen: [1000, 10_000, 100_000],
  riskTimeMs: 1000,
  backupOperations: 1_000_000,
  backupRounds: 2,
  backupWindowSec: 30,
  securityOperations: 200_000,
  securityRounds: 5,
  reportsOperations: 1_000_000,
  reportsRepeats: 5,
  openRates: [500, 1000],
  openDurationSec: 20,
  eventsRounds: 3,
  eventsClients: 100,
  eventsFilter: "all",
  eventsEncoding: "plain",
  globalRounds: 3,
  phases: [...PHASES],
  variants: [],
  out: "bench/results.json",
  profileDir: undefined,
  nodeFlags: undefined,
  dist: "dist",
};

/** Flag name (kebab-case) → option, with how to read it. */
const KNOBS = {
  duration: ["durationSec", "number"],
  warmup: ["warmupSec", "number"],
  rounds: ["rounds", "number"],
  connections: ["connections", "number"],
  threads: ["threads", "number"],
  operations: ["operations", "number"],
  outage: ["outageSec", "number"],
  "outage-warmup": ["outageWarmupSec", "number"],
  "sample-every": ["sampleEverySec", "number"],
  "scrape-series": ["scrapeSeries", "list"],
  "supervisor-open": ["supervisorOpen", "list"],
  "risk-time": ["riskTimeMs", "number"],
  "backup-operations": ["backupOperations", "number"],
  "backup-rounds": ["backupRounds", "number"],
  "backup-window": ["backupWindowSec", "number"],
  "security-operations": ["securityOperations", "number"],
  "security-rounds": ["securityRounds", "number"],
  "reports-operations": ["reportsOperations", "number"],
  "reports-repeats": ["reportsRepeats", "number"],
  "open-rates": ["openRates", "list"],
  "open-duration": ["openDurationSec", "number"],
  "events-rounds": ["eventsRounds", "number"],
  "events-clients": ["eventsClients", "number"],
  "events-filter": ["eventsFilter", "eventsFilter"],
  "events-encoding": ["eventsEncoding", "eventsEncoding"],
  "global-rounds": ["globalRounds", "number"],
  only: ["phases", "phases"],
  variants: ["variants", "variants"],
  out: ["out", "string"],
  profile: ["profileDir", "string"],
  "node-flags": ["nodeFlags", "string"],
  dist: ["dist", "string"],
} as const satisfies Record<string, readonly [keyof BenchOptions, Kind]>;

type Kind = "number" | "list" | "phases" | "variants" | "string" | "eventsFilter" | "eventsEncoding";

/**
 * Reads the options from `BENCH_<NAME>` variables (`BENCH_DURATION=10`, `BENCH_SCRAPE_SERIES=1000,10000`,
 * `BENCH_ONLY=submit,risk`) and `--name=value` flags; throws on anything it does not understand.
 */
export function readOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.keys(KNOBS).map((name) => [name, { type: "string" as const }])),
    strict: true,
  });
  const options: BenchOptions = { ...DEFAULTS };
  const set = options as unknown as Record<string, unknown>;
  for (const [flag, [key, kind]] of Object.entries(KNOBS)) {
    const variable = `BENCH_${flag.replace(/-/g, "_").toUpperCase()}`;
    const raw = values[flag] ?? env[variable];
    if (raw === undefined || raw === "") continue;
    set[key] = parse(raw, kind, `--${flag} / ${variable}`);
  }
  return options;
}

function parse(raw: string, kind: Kind, name: string): unknown {
  const number = (text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}: ${text} is not a positive number`);
    return value;
  };
  switch (kind) {
    case "number":
      return number(raw);
    case "list":
      return raw.split(",").map(number);
    case "phases":
      return raw.split(",").map((phase) => {
        if (!(PHASES as readonly string[]).includes(phase))
          throw new Error(`${name}: unknown phase ${phase} (phases: ${PHASES.join(", ")})`);
        return phase;
      });
    case "variants":
      return raw.split(",").map((variant) => {
        if (!(VARIANTS as readonly string[]).includes(variant))
          throw new Error(`${name}: unknown variant ${variant} (variants: ${VARIANTS.join(", ")})`);
        return variant;
      });
    case "string":
      return raw;
    case "eventsFilter":
      if (raw !== "all" && raw !== "strategy") throw new Error(`${name}: ${raw} is neither all nor strategy`);
      return raw;
    case "eventsEncoding":
      if (raw !== "plain" && raw !== "gzip") throw new Error(`${name}: ${raw} is neither plain nor gzip`);
      return raw;
  }
}
