import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig, type LoadConfigOptions } from "./load.js";
import { Config } from "./schema.js";

const DEFAULTS = Config.parse({});

let dir: string;
let originalCwd: string;

// loadConfig looks for opsguard.yaml in the cwd, so every test runs in an empty temp folder
// (the forks pool lets a test file change its own process's cwd).
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "opsguard-config-"));
  originalCwd = process.cwd();
  process.chdir(dir);
});

afterEach(() => {
  process.chdir(originalCwd);
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` to `name` in the test folder and returns its absolute path. */
function writeFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError that loading must throw. */
function catchConfigError(options: LoadConfigOptions): ConfigError {
  try {
    loadConfig(options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected loadConfig to throw a ConfigError");
}

/** The problems of the ConfigError that loading must throw. */
function loadProblems(options: LoadConfigOptions): string[] {
  return catchConfigError(options).problems;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("loadConfig: the file", () => {
  it("returns the defaults when there is no file and no variable", () => {
    const { config, source } = loadConfig({ env: {} });
    expect(config).toEqual(DEFAULTS);
    expect(source).toBeUndefined();
  });

  it("reads opsguard.yaml from the cwd when present", () => {
    writeFile(DEFAULT_CONFIG_PATH, "server:\n  port: 9000\n");
    const { config, source } = loadConfig({ env: {} });
    expect(source).toBe(DEFAULT_CONFIG_PATH);
    expect(config.server.port).toBe(9000);
  });

  it("reports a file named explicitly that does not exist", () => {
    const path = join(dir, "missing.yaml");
    expect(loadProblems({ path, env: {} })).toEqual([`${path}: no such file`]);
  });

  it("merges the file with the defaults, key by key", () => {
    const path = writeFile(
      "merge.yaml",
      [
        "server:",
        "  port: 9000",
        "risk:",
        "  maxDailyLoss: '2000'",
        "  lossStreak:",
        "    maxConsecutive: 3",
      ].join("\n"),
    );
    const { config, source } = loadConfig({ path, env: {} });
    expect(source).toBe(path);
    expect(config.server).toEqual({
      host: DEFAULTS.server.host,
      port: 9000,
      shutdownDeadlineMs: 10_000,
      maxBodyBytes: 65_536,
      maxHeaderBytes: 16_384,
    });
    expect(config.risk).toEqual({
      ...DEFAULTS.risk,
      maxDailyLoss: "2000",
      lossStreak: { maxConsecutive: 3, cooldownSec: DEFAULTS.risk.lossStreak.cooldownSec },
    });
    expect(config.executor).toEqual(DEFAULTS.executor);
    expect(config.instruments).toEqual(DEFAULTS.instruments);
  });

  it("treats an empty file as the defaults", () => {
    const path = writeFile("empty.yaml", "# nothing set yet\n");
    expect(loadConfig({ path, env: {} }).config).toEqual(DEFAULTS);
  });

  it.each([
    ["a sequence", "- port: 9000\n"],
    ["a scalar", "9000\n"],
  ])("reports a top level that is %s, not a mapping", (_kind, text) => {
    const path = writeFile("top.yaml", text);
    expect(loadProblems({ path, env: {} })).toEqual([`${path}: the top level must be a mapping`]);
  });

  it("reports a YAML syntax error with the file name", () => {
    const path = writeFile("broken.yaml", "server:\n  port: [9000\n");
    const problems = loadProblems({ path, env: {} });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^${escapeRegExp(path)}: .+`));
  });

  it("reports a key written twice", () => {
    const path = writeFile("twice.yaml", "server:\n  port: 1\n  port: 2\n");
    expect(loadProblems({ path, env: {} })).toEqual([
      expect.stringMatching(new RegExp(`^${escapeRegExp(path)}: .+`)),
    ]);
  });
});

describe("loadConfig: choosing the file", () => {
  it("reads the file named by OPSGUARD_CONFIG", () => {
    const path = writeFile("from-env.yaml", "server:\n  port: 9001\n");
    writeFile(DEFAULT_CONFIG_PATH, "server:\n  port: 9000\n");
    const { config, source } = loadConfig({ env: { OPSGUARD_CONFIG: path } });
    expect(source).toBe(path);
    expect(config.server.port).toBe(9001);
  });

  it("prefers --config over OPSGUARD_CONFIG", () => {
    const fromEnv = writeFile("from-env.yaml", "server:\n  port: 9001\n");
    const fromFlag = writeFile("from-flag.yaml", "server:\n  port: 9002\n");
    const { config, source } = loadConfig({ path: fromFlag, env: { OPSGUARD_CONFIG: fromEnv } });
    expect(source).toBe(fromFlag);
    expect(config.server.port).toBe(9002);
  });

  it("reports a missing file named by OPSGUARD_CONFIG rather than falling back", () => {
    writeFile(DEFAULT_CONFIG_PATH, "server:\n  port: 9000\n");
    const path = join(dir, "missing.yaml");
    expect(loadProblems({ env: { OPSGUARD_CONFIG: path } })).toEqual([`${path}: no such file`]);
  });
});

describe("loadConfig: OPSGUARD_* overrides", () => {
  it("parses a leaf value, so a port is a number", () => {
    const { config } = loadConfig({ env: { OPSGUARD_SERVER_PORT: "9090" } });
    expect(config.server.port).toBe(9090);
    expect(config.server.host).toBe(DEFAULTS.server.host);
  });

  it("wins over the file", () => {
    const path = writeFile("file.yaml", "server:\n  host: 0.0.0.0\n  port: 9000\n");
    const { config } = loadConfig({ path, env: { OPSGUARD_SERVER_PORT: "9090" } });
    expect(config.server).toEqual({
      host: "0.0.0.0",
      port: 9090,
      shutdownDeadlineMs: 10_000,
      maxBodyBytes: 65_536,
      maxHeaderBytes: 16_384,
    });
  });

  it("sets nested leaves by their upper snake case path", () => {
    const { config } = loadConfig({
      env: {
        OPSGUARD_RISK_MAX_DAILY_LOSS: "2000",
        OPSGUARD_RISK_MAX_DAILY_OPERATIONS_PER_STRATEGY: "10",
        OPSGUARD_EXECUTOR_WEBHOOK_CIRCUIT_BREAKER_RESET_MS: "500",
        OPSGUARD_METRICS_BEARER_TOKEN_FILE: "/run/secrets/metrics",
      },
    });
    expect(config.risk.maxDailyLoss).toBe(2000);
    expect(config.risk.maxDailyOperations).toEqual({ global: 5000, perStrategy: 10 });
    expect(config.executor.webhook.circuitBreaker).toEqual({ failureThreshold: 5, resetMs: 500 });
    expect(config.metrics.bearerTokenFile).toBe("/run/secrets/metrics");
  });

  it("replaces a whole section given as JSON", () => {
    const path = writeFile("file.yaml", "server:\n  host: 0.0.0.0\n  port: 9000\n");
    const { config } = loadConfig({ path, env: { OPSGUARD_SERVER: '{"port": 9091}' } });
    expect(config.server).toEqual({
      host: DEFAULTS.server.host,
      port: 9091,
      shutdownDeadlineMs: 10_000,
      maxBodyBytes: 65_536,
      maxHeaderBytes: 16_384,
    });
  });

  it("replaces a whole nested section given as YAML", () => {
    const { config } = loadConfig({ env: { OPSGUARD_RISK_LOSS_STREAK: "maxConsecutive: 3" } });
    expect(config.risk.lossStreak).toEqual({ maxConsecutive: 3, cooldownSec: 60 });
  });

  it("applies a leaf over its section whatever order the environment lists them in", () => {
    const section = { OPSGUARD_SERVER: "{host: 0.0.0.0}" };
    const leaf = { OPSGUARD_SERVER_PORT: "9090" };
    for (const env of [
      { ...section, ...leaf },
      { ...leaf, ...section },
    ]) {
      expect(loadConfig({ env }).config.server).toEqual({
        host: "0.0.0.0",
        port: 9090,
        shutdownDeadlineMs: 10_000,
        maxBodyBytes: 65_536,
        maxHeaderBytes: 16_384,
      });
    }
  });

  it("replaces instruments whole, filling each instrument's defaults", () => {
    const { config } = loadConfig({
      env: { OPSGUARD_INSTRUMENTS: '{"DOGE-USD": {"maxPositionSize": "1000", "initialPrice": "0.1"}}' },
    });
    expect(config.instruments).toEqual({
      "DOGE-USD": {
        pricePrecision: 2,
        sizePrecision: 4,
        maxPositionSize: "1000",
        initialPrice: "0.1",
        volatility: 0.0005,
      },
    });
  });

  it("has no variable per instrument key, since instrument names are the user's", () => {
    expect(loadProblems({ env: { OPSGUARD_INSTRUMENTS_BTC_USD_PRICE_PRECISION: "3" } })).toEqual([
      "OPSGUARD_INSTRUMENTS_BTC_USD_PRICE_PRECISION: not a configuration key",
    ]);
  });

  it("sets a list", () => {
    const { config } = loadConfig({ env: { OPSGUARD_STRATEGIES: "[alpha, beta]" } });
    expect(config.strategies).toEqual(["alpha", "beta"]);
  });

  it("reports a misspelt variable and ignores variables without the prefix", () => {
    const problems = loadProblems({
      env: { OPSGUARD_SERVER_PROT: "9090", OPSGUARDIAN: "x", PATH: "/usr/bin", OPSGUARD_CONFIG: undefined },
    });
    expect(problems).toEqual(["OPSGUARD_SERVER_PROT: not a configuration key"]);
  });

  it("takes neither OPSGUARD_CONFIG nor a token kept in OPSGUARD_TOKEN for a misspelt key", () => {
    // The first session of the README exports OPSGUARD_TOKEN, then runs `opsguard report` from that shell.
    const { config } = loadConfig({ env: { OPSGUARD_TOKEN: "og_abc_def" } });
    expect(config.server.port).toBe(8080);
    expect(loadProblems({ env: { OPSGUARD_TOKENS: "x" } })).toEqual([
      "OPSGUARD_TOKENS: not a configuration key",
    ]);
  });

  it("reports a value that is not valid YAML with its variable", () => {
    expect(loadProblems({ env: { OPSGUARD_SERVER: "{port: [" } })).toEqual([
      expect.stringMatching(/^OPSGUARD_SERVER: .+/),
    ]);
  });

  it("reports a value of the wrong type under its dotted key", () => {
    expect(loadProblems({ env: { OPSGUARD_SERVER_PORT: "abc" } })).toEqual([
      expect.stringMatching(/^server\.port: .*number/),
    ]);
  });
});

describe("loadConfig: validation", () => {
  it("reports every problem at once: the file, the variables and the values", () => {
    const path = writeFile("bad.yaml", "server:\n  port: 70000\n");
    const problems = loadProblems({
      path,
      env: { OPSGUARD_SERVR_PORT: "1", OPSGUARD_RISK_MAX_DRAWDOWN: "2" },
    });
    expect(problems).toHaveLength(3);
    expect(problems).toEqual(
      expect.arrayContaining([
        "OPSGUARD_SERVR_PORT: not a configuration key",
        expect.stringMatching(/^server\.port: /),
        expect.stringMatching(/^risk\.maxDrawdown: /),
      ]),
    );
  });

  it("reports a broken file and a broken variable together", () => {
    const path = writeFile("top.yaml", "- a\n");
    expect(loadProblems({ path, env: { OPSGUARD_SERVER_PORT: "abc" } })).toEqual([
      `${path}: the top level must be a mapping`,
      expect.stringMatching(/^server\.port: /),
    ]);
  });

  it("names each invalid value by its dotted path", () => {
    const path = writeFile(
      "values.yaml",
      [
        "logging:",
        "  level: loud",
        "executor:",
        "  paper:",
        "    failureRate: 1.5",
        "instruments:",
        "  BTC-USD:",
        "    maxPositionSize: '-1'",
        "    initialPrice: '100'",
        "    pricePrecision: 13",
      ].join("\n"),
    );
    const problems = loadProblems({ path, env: {} });
    expect(problems.map((problem) => problem.split(":")[0]).sort()).toEqual([
      "executor.paper.failureRate",
      "instruments.BTC-USD.maxPositionSize",
      "instruments.BTC-USD.pricePrecision",
      "logging.level",
    ]);
  });

  it("lists every problem in the error message", () => {
    const error = catchConfigError({ env: { OPSGUARD_SERVER_PORT: "abc", OPSGUARD_NOPE: "1" } });
    expect(error.message).toMatch(/^invalid configuration:\n/);
    for (const problem of error.problems) expect(error.message).toContain(`\n  - ${problem}`);
  });

  it("requires a url for the webhook executor", () => {
    expect(loadProblems({ env: { OPSGUARD_EXECUTOR_TYPE: "webhook" } })).toEqual([
      "executor.webhook.url: required when executor.type is webhook",
    ]);
    const { config } = loadConfig({
      env: { OPSGUARD_EXECUTOR_TYPE: "webhook", OPSGUARD_EXECUTOR_WEBHOOK_URL: "http://bridge:9000" },
    });
    expect(config.executor.webhook.url).toBe("http://bridge:9000");
  });

  it("reports duplicate strategies", () => {
    const path = writeFile("strategies.yaml", "strategies: [alpha, beta, alpha]\n");
    expect(loadProblems({ path, env: {} })).toEqual(["strategies: strategy names must be unique"]);
  });

  it("requires at least one instrument", () => {
    expect(loadProblems({ env: { OPSGUARD_INSTRUMENTS: "{}" } })).toEqual([
      "instruments: declare at least one instrument",
    ]);
  });
});

describe("loadConfig: OpenTelemetry variables", () => {
  const endpoint = (env: NodeJS.ProcessEnv, path?: string) =>
    loadConfig({ env, path }).config.telemetry.traces.endpoint;

  it("leaves traces off without an endpoint", () => {
    expect(endpoint({})).toBeUndefined();
  });

  it("appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT, as the OTLP/HTTP specification says", () => {
    expect(endpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://tempo:4318/" })).toBe(
      "http://tempo:4318/v1/traces",
    );
  });

  it("takes OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, over the general one", () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://tempo:4318/custom",
    };
    expect(endpoint(env)).toBe("http://tempo:4318/custom");
  });

  it("lets the config key win over the variables", () => {
    const path = writeFile("otel.yaml", "telemetry: { traces: { endpoint: http://mine:4318/v1/traces } }\n");
    expect(endpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://other:4318" }, path)).toBe(
      "http://mine:4318/v1/traces",
    );
    expect(endpoint({ OPSGUARD_TELEMETRY_TRACES_ENDPOINT: "http://env:4318/v1/traces" }, path)).toBe(
      "http://env:4318/v1/traces",
    );
  });

  it("turns traces off with OTEL_TRACES_EXPORTER=none", () => {
    const path = writeFile("otel.yaml", "telemetry: { traces: { endpoint: http://mine:4318/v1/traces } }\n");
    expect(endpoint({ OTEL_TRACES_EXPORTER: "none" }, path)).toBeUndefined();
  });

  it("reports an endpoint that is not a URL", () => {
    expect(catchConfigError({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "tempo:4318" } }).problems).toEqual([
      expect.stringContaining("telemetry.traces.endpoint"),
    ]);
  });
});
