import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config/schema.js";
import { ADMIN_TOKEN_FILE } from "../http/tokens.js";
import type { Clock } from "../platform/clock.js";
import { backupSettings } from "../maintenance/settings.js";
import type { AdvisorySources } from "./advisories.js";
import { securityDir, type IntegrityScope } from "./integrity.js";
import type { CheckContext } from "./run-checks.js";

/** The folder opsguard runs from, with package.json, the lockfile, dist/ and node_modules/. */
export const APP_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What the integrity baseline covers and where it is kept, from the config. */
export function integrityScope(
  config: Config,
  configPath: string | undefined,
  appRoot = APP_ROOT,
): IntegrityScope {
  const dir = securityDir(config.dataDir);
  return {
    appRoot,
    configPath,
    paths: [...config.backup.paths, ...config.security.paths].map((path) => resolve(path)),
    baselineFile: resolve(config.security.baselineFile ?? join(dir, "baseline.json")),
    keyFile: resolve(config.security.baselineKeyFile ?? join(dir, "baseline.key")),
  };
}

/** Where OG-DEP-002 looks for advisories, from the config. */
export function advisorySources(config: Config): AdvisorySources {
  const { advisoriesFile, npmAudit } = config.security;
  return {
    ...(advisoriesFile ? { osvPath: resolve(advisoriesFile) } : {}),
    ...(npmAudit.enabled ? { npmAudit: { registry: npmAudit.registry, timeoutMs: npmAudit.timeoutMs } } : {}),
  };
}

/** Every secret file the config names or opsguard keeps, for OG-FILE-002. */
export function secretFiles(
  config: Config,
  env: NodeJS.ProcessEnv,
  scope: IntegrityScope,
): CheckContext["secretFiles"] {
  const files: CheckContext["secretFiles"] = [
    { what: "admin token", path: join(config.dataDir, ADMIN_TOKEN_FILE) },
    { what: "baseline key", path: scope.keyFile },
  ];
  try {
    files.push({ what: "backup password", path: backupSettings(config, env).passwordFile });
  } catch {
    // Broken backup settings are OG-BAK-001's and the backups' own finding.
  }
  const named: [string, string | undefined][] = [
    ["metrics.bearerTokenFile", config.metrics.bearerTokenFile],
    ["executor.webhook.tokenFile", config.executor.webhook.tokenFile],
    ["logging.loki.tokenFile", config.logging.loki.tokenFile],
    ["backup.environmentFile", config.backup.environmentFile],
  ];
  for (const [what, path] of named) if (path) files.push({ what, path: resolve(path) });
  return files;
}

/** The parts of a check context that come from the config and the process alone. */
export function staticContext(options: {
  config: Config;
  configPath: string | undefined;
  databasePath: string;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  appRoot?: string;
  uid?: number | undefined;
  nodeVersion?: string;
}): Omit<CheckContext, "tokens" | "lastBackupAt" | "auditChain"> {
  const { config, env, clock } = options;
  const integrity = integrityScope(config, options.configPath, options.appRoot);
  return {
    config,
    databasePath: options.databasePath,
    integrity,
    secretFiles: secretFiles(config, env, integrity),
    uid: "uid" in options ? options.uid : process.getuid?.(),
    nodeVersion: options.nodeVersion ?? process.versions.node,
    otlpHeadersSecret: Boolean(env.OTEL_EXPORTER_OTLP_HEADERS || env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
    advisories: advisorySources(config),
    now: () => clock.now(),
  };
}
