import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { databasePath } from "../app.js";
import { loadConfig, ConfigError } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { SYSTEM_CLOCK, type Clock } from "../platform/clock.js";
import { liveOperations, quickCheck } from "../platform/db.js";
import { describeStorageError, unwritableDatabaseFiles } from "../platform/storage.js";
import { describeUndeclared, operationsOnUndeclaredInstruments } from "../operations/undeclared.js";
import { judgeNodeVersion, missingSecurityRelease } from "./node-support.js";
import { backupSettings } from "../maintenance/settings.js";
import { dirname, resolve } from "node:path";

/**
 * Validates the configuration and the environment it will run in. Returns every problem found;
 * an empty list means `serve` can start.
 */
export function checkEnvironment(options: {
  path?: string;
  env: NodeJS.ProcessEnv;
  /** The time the Node.js release schedule is judged at. */
  clock?: Clock;
  /** The Node.js version to judge; the one running by default. */
  nodeVersion?: string;
}): {
  problems: string[];
  warnings: string[];
  config?: Config;
} {
  const problems: string[] = [];
  const warnings: string[] = [];
  let config: Config;
  try {
    config = loadConfig(options).config;
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems, warnings };
    throw error;
  }

  const node = judgeNodeVersion(
    options.nodeVersion ?? process.versions.node,
    (options.clock ?? SYSTEM_CLOCK).now(),
  );
  if (node) (node.severity === "problem" ? problems : warnings).push(node.message);
  const nodeVersion = options.nodeVersion ?? process.versions.node;
  const unpatched = node ? undefined : missingSecurityRelease(nodeVersion);
  if (unpatched)
    warnings.push(
      `node ${nodeVersion} lacks the security release of ${unpatched.date}: upgrade to ${unpatched.fixedIn} or later`,
    );

  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    accessSync(config.dataDir, constants.W_OK | constants.R_OK);
    const mode = statSync(config.dataDir).mode & 0o777;
    if (mode & 0o007)
      warnings.push(`dataDir ${config.dataDir}: readable or writable by others (mode ${mode.toString(8)})`);
  } catch (error) {
    problems.push(`dataDir ${config.dataDir}: ${(error as Error).message}`);
  }

  const db = databasePath(config);
  problems.push(...unwritableDatabaseFiles(db).map((problem) => `database ${problem}`));
  if (existsSync(db)) {
    try {
      const result = quickCheck(db);
      if (result !== "ok") problems.push(`database ${db}: quick_check reports ${result}`);
      const stranded = describeUndeclared(
        operationsOnUndeclaredInstruments(liveOperations(db), new Set(Object.keys(config.instruments))),
      );
      if (stranded) problems.push(`database ${db}: ${stranded}`);
    } catch (error) {
      problems.push(`database ${describeStorageError(error, db)}`);
    }
  }

  const secretFiles: [string, string | undefined][] = [
    ["metrics.bearerTokenFile", config.metrics.bearerTokenFile],
    ["executor.webhook.tokenFile", config.executor.webhook.tokenFile],
    ["logging.loki.tokenFile", config.logging.loki.tokenFile],
  ];
  config.webhooks.endpoints.forEach((endpoint, i) => {
    if (endpoint.secretFile !== undefined) {
      secretFiles.push([`webhooks.endpoints.${i}.secretFile`, endpoint.secretFile]);
    } else if (!options.env[endpoint.secretEnv ?? ""]?.trim()) {
      problems.push(
        `webhooks.endpoints.${i}.secretEnv: the variable ${endpoint.secretEnv} is not set or empty`,
      );
    }
  });
  for (const [key, file] of secretFiles) {
    if (!file) continue;
    try {
      accessSync(file, constants.R_OK);
      if (statSync(file).mode & 0o077)
        warnings.push(`${key} ${file}: readable by group or others; use chmod 600`);
      if (readFileSync(file, "utf8").trim() === "") problems.push(`${key} ${file}: the file is empty`);
    } catch (error) {
      problems.push(`${key} ${file}: ${(error as Error).message}`);
    }
  }

  warnings.push(...backupWarnings(config));

  if (!config.auth.enabled && !isLoopback(config.server.host)) {
    problems.push(`auth.enabled is false while server.host ${config.server.host} is not a loopback address`);
  }
  return { problems, warnings, config };
}

/**
 * What makes backups weaker than they look: a repository on the data folder's disk does not
 * survive the loss of that disk, and a password kept only in the data folder is lost with it.
 */
function backupWarnings(config: Config): string[] {
  const warnings: string[] = [];
  let settings;
  try {
    settings = backupSettings(config);
  } catch (error) {
    return [`backup.environmentFile: ${(error as Error).message}`];
  }
  if (settings.local) {
    const device = (path: string): number | undefined => {
      for (let p = resolve(path); ; p = dirname(p)) {
        if (existsSync(p)) return statSync(p).dev;
        if (p === dirname(p)) return undefined;
      }
    };
    if (device(settings.repository) === device(config.dataDir)) {
      warnings.push(
        `backup.repository ${settings.repository} is on the same disk as the data folder: it does not survive the loss of that disk; use another disk or a remote repository (s3:, sftp:, rest:, b2:)`,
      );
    }
  }
  if (resolve(settings.passwordFile).startsWith(`${resolve(config.dataDir)}/`)) {
    warnings.push(
      `backup.passwordFile ${settings.passwordFile} is in the data folder: keep a copy elsewhere, or the backups cannot be read once the data folder is lost`,
    );
  }
  return warnings;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}
