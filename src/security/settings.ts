import type { Config } from "../config/schema.js";
import { finding, ok, type Outcome } from "./report.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Whether `host` (a name or an address, possibly in brackets) only reaches this machine. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  // An IPv4 literal in 127.0.0.0/8, not a name that merely starts with "127." (127.0.0.1.example.com).
  return (
    bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare) || bare.endsWith(".localhost")
  );
}

/** OG-CFG-001: without authentication, whoever reaches the port can trade. */
export function checkAuthentication(config: Config): Outcome {
  const { host, port } = config.server;
  if (config.auth.enabled) return ok(`auth.enabled is true (server.host ${host})`);
  if (isLoopback(host))
    return finding(
      "warning",
      [`auth.enabled is false; server.host ${host} is loopback, so every local user and process can trade`],
      "Set auth.enabled: true unless this is a development machine.",
    );
  return finding("critical", [`auth.enabled is false while the API listens on ${host}:${port}`]);
}

/** OG-CFG-002: /metrics tells anyone who can reach it the positions, P&L and limits. */
export function checkMetricsProtection(config: Config): Outcome {
  const { host } = config.server;
  if (config.metrics.bearerTokenFile)
    return ok(`GET /metrics requires the token in ${config.metrics.bearerTokenFile}`);
  if (isLoopback(host)) return ok(`GET /metrics is open, on loopback only (server.host ${host})`);
  return finding("warning", [
    `GET /metrics answers anyone who reaches ${host}:${config.server.port}: P&L, exposure and limits`,
  ]);
}

/** An API token as the rotation check sees it. */
export interface TokenAge {
  id: string;
  name: string;
  role: string;
  createdAt: number;
}

/** OG-CFG-003: a token older than `maxAgeDays` has had that long to leak. */
export function checkTokenAge(tokens: readonly TokenAge[], maxAgeDays: number, now: number): Outcome {
  const old = tokens.filter((token) => now - token.createdAt > maxAgeDays * DAY_MS);
  if (old.length === 0)
    return ok(`${tokens.length} token(s), none older than security.maxTokenAgeDays (${maxAgeDays} days)`);
  return finding(
    "warning",
    old.map(
      (token) =>
        `token ${token.id} (${token.name}, ${token.role}) was created ${new Date(token.createdAt).toISOString()}, ${Math.floor((now - token.createdAt) / DAY_MS)} days ago`,
    ),
  );
}

/**
 * OG-CFG-004: each endpoint opsguard sends a credential to, over plain HTTP to a host other than
 * this one, gives that credential to anyone on the path.
 */
export function checkPlainHttpCredentials(config: Config, env: { otlpHeadersSecret: boolean }): Outcome {
  const endpoints: { key: string; url: string | undefined; credential: string | undefined }[] = [
    {
      key: "executor.webhook.url",
      url: config.executor.type === "webhook" ? config.executor.webhook.url : undefined,
      credential: config.executor.webhook.tokenFile && "executor.webhook.tokenFile",
    },
    {
      key: "logging.loki.url",
      url: config.logging.loki.url,
      credential: config.logging.loki.tokenFile && "logging.loki.tokenFile",
    },
    {
      key: "telemetry.traces.endpoint",
      url: config.telemetry.traces.endpoint,
      credential: env.otlpHeadersSecret ? "OTEL_EXPORTER_OTLP_HEADERS" : undefined,
    },
  ];
  const repository = config.backup.repository;
  if (repository?.startsWith("rest:http://")) {
    const url = repository.slice("rest:".length);
    endpoints.push({
      key: "backup.repository",
      url,
      credential: new URL(url).username ? "a user and password in the URL" : undefined,
    });
  }
  const exposed: string[] = [];
  const checked: string[] = [];
  for (const { key, url, credential } of endpoints) {
    if (!url) continue;
    const { protocol, hostname } = new URL(url);
    if (protocol === "http:" && credential && !isLoopback(hostname))
      exposed.push(`${key} sends ${credential} over plain HTTP to ${hostname}`);
    else
      checked.push(
        `${key}: ${protocol.slice(0, -1)} to ${hostname}${credential ? ` with ${credential}` : ""}`,
      );
  }
  if (exposed.length > 0) return finding("critical", exposed);
  return checked.length > 0 ? ok(...checked) : ok("no endpoint opsguard sends a credential to is configured");
}

/** OG-BAK-001: no scheduled backups, or none recent, means the data can be lost with the disk. */
export function checkBackups(config: Config, lastSuccessAt: number | undefined, now: number): Outcome {
  const maxAgeHours = config.security.maxBackupAgeHours;
  if (!config.backup.enabled || config.backup.schedule.backup === "off")
    return finding("warning", [
      config.backup.enabled
        ? "backup.schedule.backup is off"
        : "backup.enabled is false: no scheduled backups",
    ]);
  if (lastSuccessAt === undefined)
    return finding("warning", [`no backup has succeeded yet (schedule "${config.backup.schedule.backup}")`]);
  const ageHours = (now - lastSuccessAt) / HOUR_MS;
  const when = `the last successful backup was taken ${new Date(lastSuccessAt).toISOString()}, ${ageHours.toFixed(1)} h ago`;
  if (ageHours > maxAgeHours)
    return finding("warning", [`${when}; security.maxBackupAgeHours is ${maxAgeHours}`]);
  return ok(when);
}
