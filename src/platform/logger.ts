import winston from "winston";

export type Logger = winston.Logger;

/** Keys whose values never reach a log line. */
const SECRET_KEYS = /token|secret|password|authorization|api[-_]?key|cookie/i;
const REDACTED = "[redacted]";

/** Replaces the values of secret-looking keys, at any depth, before a line is written. */
const redact = winston.format((info) => {
  for (const key of Object.keys(info)) {
    info[key] = redactValue(key, info[key], 0);
  }
  return info;
});

function redactValue(key: string, value: unknown, depth: number): unknown {
  if (SECRET_KEYS.test(key) && value !== undefined && value !== null) return REDACTED;
  if (depth > 4 || value === null || typeof value !== "object" || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => redactValue("", item, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactValue(k, v, depth + 1)]),
  );
}

export interface LoggerOptions {
  level: string;
  service?: string;
  env: string;
  /** Extra transports (tests pass a stream). Defaults to the console. */
  transports?: winston.transport[];
  /** Called once per line written, with its level; feeds `opsguard_log_messages_total`. */
  onLine?: (level: string) => void;
}

/**
 * JSON lines with `timestamp`, `level`, `msg` and a stable `event` name; secrets are redacted.
 * Call as `logger.info("operation opened", { event: "operation.opened", operationId })`.
 */
export function createLogger({
  level,
  service = "opsguard",
  env,
  transports,
  onLine,
}: LoggerOptions): Logger {
  const count = winston.format((info) => {
    onLine?.(info.level);
    return info;
  });
  return winston.createLogger({
    level,
    defaultMeta: { service, env },
    format: winston.format.combine(
      count(),
      redact(),
      winston.format.errors({ stack: true }),
      winston.format.timestamp(),
      // winston keeps the text in `message`; the wire format calls it `msg`.
      winston.format((info) => {
        info.msg = info.message;
        delete (info as { message?: unknown }).message;
        return info;
      })(),
      winston.format.json(),
    ),
    transports: transports ?? [new winston.transports.Console({ stderrLevels: ["error", "warn"] })],
  });
}

/** A logger that writes nothing, for tests that do not look at logs. */
export function createSilentLogger(): Logger {
  return winston.createLogger({
    silent: true,
    transports: [new winston.transports.Console({ silent: true })],
  });
}
