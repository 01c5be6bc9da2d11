import type { z } from "zod";
import { existsSync, readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { Config } from "./schema.js";

/** The file read when neither `--config` nor `OPSGUARD_CONFIG` names one. */
export const DEFAULT_CONFIG_PATH = "opsguard.yaml";
const ENV_PREFIX = "OPSGUARD_";
/**
 * Variables with the prefix that are not config keys, and what each is for. `OPSGUARD_TOKEN` is
 * where the docs keep an API token for curl (`export OPSGUARD_TOKEN=$(cat data/admin-token)`):
 * every command started from that shell sees it, and must not take it for a misspelt key.
 */
export const RESERVED_ENV: Readonly<Record<string, string>> = {
  OPSGUARD_CONFIG: "the configuration file to read",
  OPSGUARD_TOKEN: "an API token kept in the shell for curl and clients, which opsguard does not read",
};

/** Every problem found while loading configuration, each with the key it concerns. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

export interface LoadConfigOptions {
  /** Path given on the command line; wins over `OPSGUARD_CONFIG`. */
  path?: string;
  /** The environment to read `OPSGUARD_*` overrides from. */
  env: NodeJS.ProcessEnv;
}

/** The loaded configuration and the file it came from, if any. */
export interface LoadedConfig {
  config: Config;
  source: string | undefined;
}

/**
 * Reads the YAML file (optional unless named explicitly), applies `OPSGUARD_*` overrides and
 * validates the result once. Throws a {@link ConfigError} listing every problem.
 */
export function loadConfig({ path, env }: LoadConfigOptions): LoadedConfig {
  const explicit = path ?? env.OPSGUARD_CONFIG;
  const file = explicit ?? DEFAULT_CONFIG_PATH;
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};
  let source: string | undefined;

  if (existsSync(file)) {
    source = file;
    try {
      const parsed: unknown = parseYaml(readFileSync(file, "utf8"));
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== "object" || Array.isArray(parsed))
          problems.push(`${file}: the top level must be a mapping`);
        else raw = parsed as Record<string, unknown>;
      }
    } catch (error) {
      problems.push(`${file}: ${(error as Error).message}`);
    }
  } else if (explicit) {
    problems.push(`${file}: no such file`);
  }

  problems.push(...applyEnvOverrides(raw, env));
  applyOtelEnvironment(raw, env);
  // Validate even after a file or variable problem, so one run reports every problem.
  const result = Config.safeParse(raw);
  if (!result.success) {
    problems.push(
      ...result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`),
    );
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return { config: result.data, source };
}

/**
 * Maps `OPSGUARD_RISK_MAX_DAILY_LOSS=2000` onto `risk.maxDailyLoss`. Keys are found by walking the
 * defaults, so every key (a leaf or a whole section, given as YAML/JSON) has exactly one variable,
 * and a misspelt variable is reported rather than ignored.
 */
function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const keys = envKeyIndex();
  const overrides: { name: string; value: string; path: string[] }[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || Object.hasOwn(RESERVED_ENV, name) || value === undefined) continue;
    const path = keys.get(name.slice(ENV_PREFIX.length));
    if (!path) problems.push(`${name}: not a configuration key`);
    else overrides.push({ name, value, path });
  }
  // Sections before their leaves: otherwise OPSGUARD_SERVER would silently erase
  // OPSGUARD_SERVER_PORT whenever the environment happened to list it later.
  overrides.sort((a, b) => a.path.length - b.path.length);
  for (const { name, value, path } of overrides) {
    let parsed: unknown;
    try {
      parsed = parseYaml(value);
    } catch (error) {
      problems.push(`${name}: ${(error as Error).message}`);
      continue;
    }
    setPath(raw, path, parsed);
  }
  return problems;
}

/**
 * The standard OpenTelemetry variables name the traces endpoint when the config does not:
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as is, or `OTEL_EXPORTER_OTLP_ENDPOINT` plus `/v1/traces`
 * (OTLP/HTTP spec). `OTEL_TRACES_EXPORTER=none` turns tracing off. Headers in
 * `OTEL_EXPORTER_OTLP_HEADERS` are read by the exporter itself, so secrets stay out of the config.
 */
function applyOtelEnvironment(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const traces = (raw.telemetry as { traces?: { endpoint?: unknown } } | undefined)?.traces;
  if (env.OTEL_TRACES_EXPORTER === "none") {
    setPath(raw, ["telemetry", "traces", "endpoint"], undefined);
    return;
  }
  if (traces?.endpoint !== undefined) return;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const endpoint =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ||
    (base ? `${base.replace(/\/+$/, "")}/v1/traces` : undefined);
  if (endpoint) setPath(raw, ["telemetry", "traces", "endpoint"], endpoint);
}

let envKeys: Map<string, string[]> | undefined;
function envKeyIndex(): Map<string, string[]> {
  if (envKeys) return envKeys;
  envKeys = new Map();
  // The schema itself is walked, so optional keys without a default have their variable too.
  const walk = (node: z.ZodType, path: string[], section: boolean): void => {
    if (path.length > 0) envKeys!.set(path.map(toEnvSegment).join("_"), path);
    const shape = objectShape(node);
    // Sections with user-chosen keys (instruments) are overridden whole, not key by key.
    if (!section || !shape) return;
    for (const [key, child] of Object.entries(shape))
      walk(child, [...path, key], path.length === 0 ? key !== "instruments" : true);
  };
  walk(Config, [], true);
  return envKeys;
}

/** The fields of an object schema under its optional, default and pipe wrappers; undefined for a leaf. */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let def = (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  for (;;) {
    if (def.type === "object") return def.shape;
    const inner = def.innerType ?? (def.type === "pipe" ? def.in : undefined);
    if (!inner) return undefined;
    def = (inner as unknown as { _zod: { def: SchemaDef } })._zod.def;
  }
}

/** What {@link objectShape} reads of a zod 4 schema's definition. */
interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
}

function toEnvSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}
