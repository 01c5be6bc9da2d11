import { serve, type ServerType } from "@hono/node-server";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createApp, type AppOverrides, type OpsguardApp } from "../app.js";
import { PidLock } from "../maintenance/pid-lock.js";
import { StartupError } from "../platform/errors.js";
import { describeStorageError, StorageError } from "../platform/storage.js";
import type { Config } from "../config/schema.js";
import { ensureAdminToken } from "../http/tokens.js";

/** A started opsguard: the app, its HTTP server and the port it listens on. */
export interface RunningServer {
  app: OpsguardApp;
  server: ServerType;
  port: number;
  /**
   * Stops accepting, lets in-flight requests finish, stops the supervisor, flushes spans and log
   * lines and closes the database, within `server.shutdownDeadlineMs` (a request still running at
   * the deadline is cut; flushing gives up at it).
   */
  close(): Promise<void>;
}

/**
 * Builds the app, makes sure an admin token exists, listens, and reconciles what a previous run
 * left unknown: `/healthz` answers at once, `/readyz` once reconciliation has had its first answers.
 */
export async function startServer(
  config: Config,
  overrides: AppOverrides = {},
  /** Called once it listens, before reconciliation: the place to install signal handlers. */
  onListening?: (running: RunningServer) => void,
): Promise<RunningServer> {
  // One service per data folder; a restore in place also looks for this lock.
  const serving = new PidLock(join(config.dataDir, "opsguard.pid"));
  let acquired: boolean;
  try {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    acquired = serving.acquire();
  } catch (error) {
    throw new StorageError(describeStorageError(error, serving.path), { cause: error });
  }
  if (!acquired) {
    throw new StartupError(
      `another opsguard (pid ${serving.liveHolder() ?? "?"}) serves from ${config.dataDir}`,
    );
  }
  let app: OpsguardApp;
  try {
    app = createApp(config, overrides);
  } catch (error) {
    serving.release();
    throw error;
  }
  if (config.auth.enabled) {
    const { path, created } = ensureAdminToken(app.tokens, config.dataDir, app.logger);
    if (created) process.stderr.write(`opsguard: created an admin token in ${path} (mode 0600)\n`);
  } else {
    app.logger.warn("authentication is disabled: every caller is admin", { event: "auth.disabled" });
  }
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve(
      {
        fetch: app.http.fetch,
        port: config.server.port,
        hostname: config.server.host,
        serverOptions: { maxHeaderSize: config.server.maxHeaderBytes },
      },
      () => resolve(s),
    );
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.server.port;
  app.logger.info(`listening on http://${config.server.host}:${port}`, {
    event: "server.started",
    host: config.server.host,
    port,
    executor: app.executor.name,
  });
  const running: RunningServer = {
    app,
    server,
    port,
    async close() {
      const deadline = Date.now() + config.server.shutdownDeadlineMs;
      const remaining = (): number => Math.max(0, deadline - Date.now());
      // Event streams never end by themselves: tell their clients, so the server can close.
      app.streams.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // In-flight requests may finish; a connection still busy at the deadline is cut.
      const cut = setTimeout(
        () => "closeAllConnections" in server && server.closeAllConnections(),
        remaining(),
      );
      await closed;
      clearTimeout(cut);
      // Spans and logs share what is left, so a hung collector and a hung Loki cannot add up.
      await app.stop(remaining() / 2);
      app.logger.info("stopped", { event: "server.stopped" });
      serving.release();
      await app.flushLogs(remaining());
    },
  };
  onListening?.(running);
  await app.start();
  app.logger.info("ready: what the last run left unknown was asked about, and supervision runs", {
    event: "server.ready",
  });
  return running;
}

/** Stops gracefully on SIGTERM or SIGINT; a second signal exits at once. */
export function stopOnSignals(running: RunningServer, extra?: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    running.app.logger.info(`received ${signal}, shutting down`, { event: "server.stopping", signal });
    void (async () => {
      try {
        await extra?.();
        await running.close();
        process.exit(0);
      } catch (error) {
        process.stderr.write(`opsguard: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      }
    })();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
