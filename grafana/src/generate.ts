/**
 * Writes every dashboard to `grafana/dashboards/<uid>.json` (or to `--out DIR`) and removes JSON
 * files there that no dashboard produces any more. Run with `npm run dashboards`; commit the result.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DASHBOARDS } from "./dashboards.js";
import { renderJson } from "./render.js";

/** Where the committed dashboards live, and where Grafana's provider loads them from. */
const DASHBOARDS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "dashboards");

/** Renders every dashboard into `outDir`; returns the file names written. */
function writeDashboards(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const build of DASHBOARDS) {
    const dashboard = build();
    if (!dashboard.uid) throw new Error(`dashboard "${dashboard.title}" has no uid`);
    const file = `${dashboard.uid}.json`;
    if (written.includes(file)) throw new Error(`two dashboards share the uid ${dashboard.uid}`);
    writeFileSync(join(outDir, file), renderJson(dashboard));
    written.push(file);
  }
  for (const stale of readdirSync(outDir).filter((f) => f.endsWith(".json") && !written.includes(f))) {
    rmSync(join(outDir, stale));
  }
  return written;
}

const { values } = parseArgs({ options: { out: { type: "string" } } });
const outDir = values.out ? resolve(values.out) : DASHBOARDS_DIR;
const written = writeDashboards(outDir);
process.stdout.write(`wrote ${written.length} dashboards to ${outDir}: ${written.join(", ")}\n`);
