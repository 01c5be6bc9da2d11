import { spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { freePort, REPO, startDaemon, type Daemon } from "./tools.js";

export const ALERTMANAGER_DIR = join(REPO, "alertmanager");
export const ALERTMANAGER_CONFIG = join(ALERTMANAGER_DIR, "alertmanager.yml");

/** One alert as Alertmanager's webhook sends it (payload version 4). */
export interface WebhookAlert {
  status: "firing" | "resolved";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  fingerprint: string;
}

/** One webhook call: the path tells which receiver sent it. */
export interface WebhookNotification {
  path: string;
  receiver: string;
  status: string;
  alerts: WebhookAlert[];
}

/** One line the stack's alert receiver (`opsguard alert-receiver`) wrote for one alert. */
export interface AlertLine {
  event: string;
  level: string;
  msg: string;
  service: string;
  receiver: string;
  path: string;
  status: "firing" | "resolved";
  alertname: string;
  labels: Record<string, string>;
  summary?: string;
  description?: string;
  runbookUrl?: string;
  startsAt: string;
}

/** `opsguard alert-receiver` from the build, on a free loopback port, with the lines it wrote. */
export interface LoggingAlertReceiver {
  url: string;
  /** Every `alert.notification` line so far, parsed. */
  lines: AlertLine[];
  close(): Promise<void>;
}

/**
 * Starts the stack's own alert receiver as the compose file runs it (`opsguard alert-receiver`,
 * built), and reads its log lines (JSON on stdout) as they come.
 */
export async function startLoggingAlertReceiver(main: string, cwd: string): Promise<LoggingAlertReceiver> {
  const port = await freePort();
  const child = spawn(process.execPath, [main, "alert-receiver", "--port", String(port)], {
    cwd,
    env: { PATH: process.env.PATH, OPSGUARD_LOGGING_CONSOLE_FORMAT: "json" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: AlertLine[] = [];
  let started = false;
  // Info lines go to stdout, warnings (a firing alert) to stderr: both are read, line by line.
  for (const stream of [child.stdout, child.stderr]) {
    let pending = "";
    stream.setEncoding("utf8").on("data", (text: string) => {
      pending += text;
      const complete = pending.split("\n");
      pending = complete.pop()!;
      for (const raw of complete) {
        if (!raw.startsWith("{")) continue;
        const line = JSON.parse(raw) as AlertLine;
        if (line.event === "alert_receiver.started") started = true;
        if (line.event === "alert.notification") lines.push(line);
      }
    });
  }
  const exited = once(child, "exit");
  const deadline = Date.now() + 10_000;
  while (!started) {
    if (child.exitCode !== null) throw new Error(`opsguard alert-receiver exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error("opsguard alert-receiver did not start within 10 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    lines,
    async close() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** An in-process HTTP server that records every notification Alertmanager posts to it. */
export interface AlertReceiver {
  url: string;
  notifications: WebhookNotification[];
  close(): Promise<void>;
}

export async function startAlertReceiver(): Promise<AlertReceiver> {
  const notifications: WebhookNotification[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Omit<WebhookNotification, "path">;
      notifications.push({ ...body, path: req.url ?? "" });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    notifications,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface RouteConfig {
  group_wait?: string;
  group_interval?: string;
  routes?: RouteConfig[];
}

interface AlertmanagerConfig {
  route: RouteConfig;
  receivers: { name: string; webhook_configs?: { url: string }[] }[];
}

/**
 * Writes the repository's alertmanager.yml, and its templates, into `dir` with every webhook sent
 * to `${receiverUrl}/<receiver name>` and every group_wait and group_interval cut to 1s, so that a
 * test sees notifications within seconds. Routes, receivers and inhibitions stay as they are.
 */
export function writeAlertmanagerConfig(dir: string, receiverUrl: string): string {
  const config = parse(readFileSync(ALERTMANAGER_CONFIG, "utf8")) as AlertmanagerConfig;
  for (const receiver of config.receivers) {
    if (!receiver.webhook_configs?.length) throw new Error(`receiver ${receiver.name} has no webhook`);
    for (const webhook of receiver.webhook_configs) webhook.url = `${receiverUrl}/${receiver.name}`;
  }
  const shorten = (route: RouteConfig, root: boolean): void => {
    if (root || route.group_wait) route.group_wait = "1s";
    if (root || route.group_interval) route.group_interval = "1s";
    for (const child of route.routes ?? []) shorten(child, false);
  };
  shorten(config.route, true);
  cpSync(join(ALERTMANAGER_DIR, "templates"), join(dir, "templates"), { recursive: true });
  const path = join(dir, "alertmanager.yml");
  writeFileSync(path, stringify(config));
  return path;
}

/** A running Alertmanager on a free loopback port. */
export interface RunningAlertmanager {
  daemon: Daemon;
  port: number;
  url: string;
}

/** Starts Alertmanager as a single node (no cluster port) with its data under `dir`. */
export async function startAlertmanager(configPath: string, dir: string): Promise<RunningAlertmanager> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const daemon = await startDaemon(
    "prometheus-alertmanager",
    [
      `--config.file=${configPath}`,
      `--storage.path=${join(dir, "alertmanager-data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
    ],
    `${url}/-/ready`,
  );
  return { daemon, port, url };
}

/** An alert as Alertmanager's API v2 lists it. */
export interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  fingerprint: string;
  status: { state: "active" | "suppressed" | "unprocessed"; inhibitedBy: string[]; silencedBy: string[] };
}

/** `GET /api/v2/alerts` with label equality filters. */
export async function listAlerts(
  alertmanagerUrl: string,
  filter: Record<string, string> = {},
): Promise<ApiAlert[]> {
  const query = Object.entries(filter)
    .map(([name, value]) => `filter=${encodeURIComponent(`${name}="${value}"`)}`)
    .join("&");
  const response = await fetch(`${alertmanagerUrl}/api/v2/alerts?${query}`);
  if (!response.ok) throw new Error(`GET /api/v2/alerts: ${response.status} ${await response.text()}`);
  return (await response.json()) as ApiAlert[];
}
