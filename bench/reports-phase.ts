import { chmodSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { BenchOptions } from "./options.js";
import { copyDurably, seedDatabase } from "./seed-database.js";
import { median, round } from "./stats.js";
import { startOpsguard, type Target } from "./targets.js";

/** The history the phase seeds: a year, so `timeframe=all` spans 365 days of aggregates. */
const SPREAD_DAYS = 365;

/** One kind of report request, timed `repeats` times after one untimed request. */
export interface ReportTiming {
  name: string;
  path: string;
  /** From the request to the last byte of the answer, each request. */
  ms: number[];
  medianMs: number;
  maxMs: number;
  bytes: number;
}

export interface ReportsResults {
  database: { operations: number; days: number; bytes: number; seedSec: number; aggregateRows: number };
  requests: ReportTiming[];
}

const REQUESTS = [
  { name: "performance, all (JSON)", path: "/v1/reports/performance?timeframe=all" },
  { name: "performance, month (JSON)", path: "/v1/reports/performance?timeframe=month" },
  { name: "performance, all (HTML with charts)", path: "/v1/reports/performance?timeframe=all&format=html" },
  { name: "system, week (JSON)", path: "/v1/reports/system?timeframe=week" },
] as const;

async function time(target: Target, path: string): Promise<{ ms: number; bytes: number }> {
  const began = performance.now();
  const response = await fetch(`${target.url}${path}`, {
    headers: { authorization: `Bearer ${target.token}` },
  });
  const body = await response.text();
  const ms = performance.now() - began;
  if (response.status !== 200)
    throw new Error(`GET ${path} answered ${response.status}: ${body.slice(0, 200)}`);
  return { ms, bytes: body.length };
}

/**
 * Phase 9: how long a report over a large history takes to answer. A database of
 * `reportsOperations` closed operations with varied P&L, patterns and confidences over a year is
 * seeded once (with its daily aggregates, as booking the closes would have left them); the built
 * service runs on a copy, and each report is asked for once to warm it, then `reportsRepeats`
 * times in a row. Only loopback; no load beside it.
 */
export async function runReportsPhase(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<ReportsResults> {
  const work = mkdtempSync(join(tmpdir(), "opsguard-bench-reports-"));
  try {
    const seedPath = join(work, "seed.db");
    const seeded = seedDatabase(seedPath, options.reportsOperations, Date.now(), {
      spreadDays: SPREAD_DAYS,
      varied: true,
    });
    const db = new Database(seedPath, { readonly: true });
    const aggregateRows = (db.prepare("SELECT COUNT(*) AS n FROM performance_daily").get() as { n: number })
      .n;
    db.close();
    log(
      `reports: seeded ${seeded.operations} operations over ${SPREAD_DAYS} days (${(seeded.bytes / 1024 / 1024).toFixed(0)} MB, ${aggregateRows} aggregate rows) in ${seeded.seconds.toFixed(1)} s`,
    );
    const target = await startOpsguard(
      "reports",
      {},
      {
        prepare: (dir) => {
          const path = join(dir, "opsguard.db");
          copyDurably(seedPath, path);
          chmodSync(path, 0o600);
        },
        config: { reports: { schedule: "off" }, security: { schedule: { checks: "off", quick: "off" } } },
      },
    );
    try {
      const requests: ReportTiming[] = [];
      for (const { name, path } of REQUESTS) {
        await time(target, path);
        const runs: { ms: number; bytes: number }[] = [];
        for (let i = 0; i < options.reportsRepeats; i++) runs.push(await time(target, path));
        const ms = runs.map((r) => round(r.ms, 2));
        requests.push({
          name,
          path,
          ms,
          medianMs: round(median(ms), 2),
          maxMs: Math.max(...ms),
          bytes: runs[0]!.bytes,
        });
        log(`reports: ${name}: median ${median(ms).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`);
      }
      return {
        database: {
          operations: seeded.operations,
          days: SPREAD_DAYS,
          bytes: statSync(seedPath).size,
          seedSec: round(seeded.seconds, 2),
          aggregateRows,
        },
        requests,
      };
    } finally {
      await target.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
