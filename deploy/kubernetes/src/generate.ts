/**
 * Writes the generated kube-prometheus-stack objects of deploy/kubernetes/base/monitoring/: the
 * PrometheusRules (from prometheus/rules/) and the Grafana dashboards' ConfigMaps (from
 * grafana/dashboards/). Run with `npm run kubernetes` after changing either; commit the result.
 */
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import { renderMonitoring, REPO } from "./render.js";

try {
  const written: string[] = [];
  for (const { path, text } of await renderMonitoring()) {
    writeFileSync(path, text);
    written.push(relative(REPO, path));
  }
  process.stdout.write(`wrote ${written.join(", ")}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
