import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { PROMETHEUS_DIR } from "./rule-files.js";
import { freePort, readYaml, startDaemon, type Daemon } from "./tools.js";

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[] }[];
  dns_sd_configs?: unknown;
  relabel_configs?: unknown;
}

interface PrometheusConfig {
  global: Record<string, string>;
  rule_files: string[];
  alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
  scrape_configs: ScrapeConfig[];
}

/** One series of an instant query's answer. */
export interface InstantSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A running Prometheus on a free loopback port, with the repository's config and rules. */
export interface RunningPrometheus {
  daemon: Daemon;
  url: string;
  /** When it was ready, in epoch milliseconds: the start of every series it holds. */
  startedAt: number;
  /** An instant query (`/api/v1/query`); the series it returns (a scalar counts as one). */
  query(promql: string): Promise<InstantSample[]>;
  /** The values of `label` in the series `selector` matches, since the start (`/api/v1/label/…/values`). */
  labelValues(selector: string, label: string): Promise<string[]>;
}

export interface PrometheusOptions {
  /** Where the config and the TSDB go. */
  dir: string;
  /** host:port of opsguard and of Alertmanager. */
  targets: { opsguard: string; alertmanager: string };
  /** Scrape and rule evaluation interval. */
  intervalSeconds: number;
  /** Rule files to use instead of the repository's, by file name (`alerts.yml`). */
  ruleFiles?: Record<string, string>;
}

/**
 * Writes the repository's prometheus.yml with loopback targets, the given scrape and evaluation
 * interval, and absolute rule paths. Every job and the Alertmanager target must already be there:
 * a renamed job fails here rather than silently scraping nothing.
 */
function writeConfig(
  { dir, targets, intervalSeconds, ruleFiles = {} }: PrometheusOptions,
  self: string,
): string {
  const config = readYaml<PrometheusConfig>(join(PROMETHEUS_DIR, "prometheus.yml"));
  const interval = `${intervalSeconds}s`;
  config.global = { ...config.global, scrape_interval: interval, evaluation_interval: interval };
  for (const [job, target] of Object.entries({ ...targets, prometheus: self })) {
    const scrape = config.scrape_configs.find((s) => s.job_name === job);
    if (!scrape) throw new Error(`prometheus.yml has no ${job} job`);
    // One static target per job; the compose demo's DNS discovery has nothing to find here.
    scrape.static_configs = [{ targets: [target] }];
    delete scrape.dns_sd_configs;
    delete scrape.relabel_configs;
  }
  if (config.alerting.alertmanagers.length !== 1) throw new Error("prometheus.yml has not one Alertmanager");
  config.alerting.alertmanagers[0]!.static_configs = [{ targets: [targets.alertmanager] }];
  const names = config.rule_files.map((file) => file.replace(/^rules\//, ""));
  const unknown = Object.keys(ruleFiles).filter((name) => !names.includes(name));
  if (unknown.length > 0) throw new Error(`prometheus.yml loads no ${unknown.join(", ")}`);
  config.rule_files = config.rule_files.map((file, i) => ruleFiles[names[i]!] ?? join(PROMETHEUS_DIR, file));
  const path = join(dir, "prometheus.yml");
  writeFileSync(path, stringify(config));
  return path;
}

async function getData<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const body = (await response.json()) as { status: string; error?: string; data: T };
  if (body.status !== "success") throw new Error(`${url}: ${body.error}`);
  return body.data;
}

/** Starts Prometheus on a free port, scraping the targets, opsguard's rules loaded. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const daemon = await startDaemon(
    "prometheus",
    [
      `--config.file=${writeConfig(options, `127.0.0.1:${port}`)}`,
      `--storage.tsdb.path=${join(options.dir, "prometheus-data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    `${url}/-/ready`,
  );
  const startedAt = Date.now();
  return {
    daemon,
    url,
    startedAt,
    async query(promql) {
      const data = await getData<{ resultType: string; result: InstantSample[] | [number, string] }>(
        `${url}/api/v1/query?query=${encodeURIComponent(promql)}`,
      );
      if (data.resultType === "scalar") return [{ metric: {}, value: data.result as [number, string] }];
      return data.result as InstantSample[];
    },
    labelValues(selector, label) {
      const start = Math.floor(startedAt / 1000);
      return getData<string[]>(
        `${url}/api/v1/label/${label}/values?match[]=${encodeURIComponent(selector)}&start=${start}`,
      );
    },
  };
}
