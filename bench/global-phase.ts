import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPostgres } from "../tests/postgres.js";
import {
  describeWindow,
  loadWindow,
  requireAccepted,
  summarizeWindows,
  type LoadWindow,
  type WindowSummary,
} from "./load-window.js";
import type { BenchOptions } from "./options.js";
import { median, round } from "./stats.js";
import { startOpsguard } from "./targets.js";

export interface GlobalRound {
  round: number;
  without: LoadWindow;
  with: LoadWindow;
}

export interface GlobalResults {
  rounds: GlobalRound[];
  without: WindowSummary;
  with: WindowSummary;
  /** Medians over rounds of with ÷ without, each round's pair measured back to back. */
  rpsRatio: number;
  p99Ratio: number;
  /** Submits that took their share in PostgreSQL in the last server with the limits on, warm-up included. */
  reserved: number;
}

/**
 * Phase 12: submits with the firm-wide limits on (each submit reserves its share in PostgreSQL,
 * docs/scaling.md), against the same build without them. The load is the submit phase's (wrk,
 * closed loop, saturating; exporters off, so that what is measured is the reservation's cost).
 * PostgreSQL is Debian's, started in a scratch folder (`fsync` off, as the tests start it) and on
 * the same two cores: a deployment has it on a machine of its own. Each round starts a fresh
 * server per condition, in an order that rotates by round.
 */
export async function runGlobalPhase(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<GlobalResults> {
  const postgres = await startPostgres();
  const work = mkdtempSync(join(tmpdir(), "opsguard-bench-global-"));
  try {
    const urlFile = join(work, "postgres-url");
    writeFileSync(urlFile, postgres.url, { mode: 0o600 });
    // Limits far above what a window reaches: every check runs, none refuses.
    const globalLimits = {
      urlFile,
      account: "bench",
      maxExposure: "1000000000000",
      maxDailyOperations: 1_000_000_000,
      maxDailyLoss: "1000000000000",
    };
    const rounds: GlobalRound[] = [];
    let reserved = 0;
    for (let r = 1; r <= options.globalRounds; r++) {
      let without: LoadWindow | undefined;
      let withLimits: LoadWindow | undefined;
      for (const condition of r % 2 === 1 ? ["with", "without"] : ["without", "with"]) {
        const on = condition === "with";
        const target = await startOpsguard(
          `global ${condition} (round ${r})`,
          {},
          on ? { config: { globalLimits: { ...globalLimits, account: `bench-${r}` } } } : {},
        );
        try {
          const window = await loadWindow(target, options, options.durationSec, `g${condition[0]}${r}`);
          if (on) {
            withLimits = window;
            const metrics = await target.metrics();
            reserved = metrics
              .filter(
                (s) => s.name === "opsguard_global_reservations_total" && s.labels.result === "reserved",
              )
              .reduce((sum, s) => sum + s.value, 0);
          } else without = window;
          log(`round ${r} ${condition}: ${describeWindow(window)}`);
        } finally {
          await target.stop();
        }
      }
      rounds.push({ round: r, without: without!, with: withLimits! });
    }
    requireAccepted(
      "global limits phase",
      rounds.flatMap((r) => [r.without, r.with]),
    );
    const paired = (f: (r: GlobalRound) => number): number => round(median(rounds.map(f)), 4);
    return {
      rounds,
      without: summarizeWindows(rounds.map((r) => r.without)),
      with: summarizeWindows(rounds.map((r) => r.with)),
      rpsRatio: paired((r) => r.with.rps / r.without.rps),
      p99Ratio: paired((r) => r.with.p99Ms / r.without.p99Ms),
      reserved,
    };
  } finally {
    postgres.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}
