import { serve, type ServerType } from "@hono/node-server";
import { ALERT_RECEIVER_SERVICE, alertReceiverRoutes } from "../alerts/receiver.js";
import type { Config } from "../config/schema.js";
import { createLogging } from "../platform/logger.js";
import { UsageError } from "./usage-error.js";

export const ALERT_RECEIVER_USAGE = `Alert receiver (the stack's webhook for Alertmanager; each alert becomes a log line):
  opsguard alert-receiver [--host HOST] [--port PORT]
                              listen on HOST:PORT (default 127.0.0.1:9095); logs go to the
                              console and to Loki when logging.loki.url is set`;

export interface AlertReceiverOptions {
  host?: string;
  port?: string;
}

/** A running receiver, and how to stop it (pushing its last lines to Loki first). */
export interface RunningAlertReceiver {
  server: ServerType;
  port: number;
  close(): Promise<void>;
}

/** Starts the alert receiver with the logging outputs of `config` (no log files: it keeps no state). */
export async function startAlertReceiver(
  config: Config,
  options: AlertReceiverOptions,
): Promise<RunningAlertReceiver> {
  const port = options.port === undefined ? 9095 : Number(options.port);
  if (!/^\d+$/.test(options.port ?? "9095") || port > 65535) {
    throw new UsageError(`--port must be a whole number from 0 to 65535, not ${options.port}`);
  }
  const host = options.host ?? "127.0.0.1";
  const logging = createLogging({
    config: { ...config.logging, file: { ...config.logging.file, enabled: false } },
    dataDir: config.dataDir,
    env: config.env,
    service: ALERT_RECEIVER_SERVICE,
  });
  const http = alertReceiverRoutes(logging.logger);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: http.fetch, port, hostname: host }, () => resolve(s));
  });
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  logging.logger.info(`alert receiver listening on http://${host}:${bound}`, {
    event: "alert_receiver.started",
    host,
    port: bound,
  });
  return {
    server,
    port: bound,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await logging.close(config.server.shutdownDeadlineMs);
    },
  };
}
