import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { markCpu, readLoopDelay, type LoopDelay } from "./backup-api.js";
import {
  describeWindow,
  loadWindow,
  requireAccepted,
  summarizeWindows,
  type LoadWindow,
  type WindowSummary,
} from "./load-window.js";
import type { BenchOptions } from "./options.js";
import { runSecurityCheck, type CheckRun } from "./security-api.js";
import { copyDurably, seedDatabase } from "./seed-database.js";
import { median, round } from "./stats.js";
import { runOpsguardCli, startOpsguard, type Target } from "./targets.js";

const MB = 1024 * 1024;
/**
 * How much longer than `durationSec` a window with checks may last while no check has ended in
 * it yet: long enough for a check of a large database, short enough to bound the phase.
 */
const LONGEST_EXTRA_SEC = 60;

/** A check with nothing else to do: what it costs by itself. */
export interface IdleCheck extends CheckRun {
  /** CPU of the service process meanwhile (event loop and the checks' worker threads), seconds. */
  serverCpuSec: number;
  /** The part of it on the event loop's thread, seconds. */
  mainThreadCpuSec: number;
  loop: LoopDelay;
}

/** A check started in a window of load. */
export interface LoadedCheck extends CheckRun {
  /** Whether it ended before the load stopped; the last of a window usually ends after. */
  endedUnderLoad: boolean;
}

export interface SecurityRound {
  round: number;
  /** The first check after the start, with its code not yet optimized by V8. */
  first: IdleCheck;
  /** The next check, still with no load: what a check costs by itself. */
  alone: IdleCheck;
  without: LoadWindow;
  during: LoadWindow;
  /** Every check started in the window with checks, in order. */
  checks: LoadedCheck[];
}

export interface SecurityResults {
  database: { operations: number; auditEntries: number; bytes: number; seedSec: number };
  /** Files under the integrity baseline: the build, package.json, the lockfile, production packages, the config. */
  baselineFiles: number;
  rounds: SecurityRound[];
  without: WindowSummary;
  during: WindowSummary;
  /** Checks that started and ended under load, over every round. */
  checksUnderLoad: number;
  /** Median duration of those, seconds. */
  underLoadSec: number;
  /** Median duration of a check alone (each round's second), seconds. */
  aloneSec: number;
  /** Median over rounds of with checks ÷ without requests per second. */
  rpsRatio: number;
  /** Median over rounds of with checks ÷ without p99. */
  p99Ratio: number;
  /** Median over rounds of with checks ÷ without slowest request. */
  maxRatio: number;
  /** Median over rounds of with checks ÷ without worst event-loop delay. */
  loopMaxRatio: number;
}

/**
 * Phase 8: the submit path while the security checks run. A database of `securityOperations`
 * closed operations is seeded once (bench/seed-database.ts); each round starts `opsguard serve` on
 * a copy of it (mode 0600, as the service creates its own), the checks' schedules off and `npm
 * audit` off (it asks the registry; the benchmark stays on loopback), an empty OSV file as the
 * advisory source instead, so that every check runs. The CLI records the integrity baseline beside
 * it (`opsguard security baseline`, as `serve` does at a first start), then two checks run with no
 * load: the first after the start, then one that is what a check costs alone. Then, in an order
 * that alternates by round, the submit load of the submit phase (wrk, closed loop, saturating)
 * without a check, and with checks back to back from the end of the warm-up (`POST
 * /v1/security-checks`, the next one when the last answers); that window lasts `durationSec`,
 * longer only until a check has ended in it. The check running when the load stops is awaited.
 * The window without checks is as long as the last window with them.
 */
export async function runSecurityPhase(
  options: BenchOptions,
  log: (line: string) => void,
): Promise<SecurityResults> {
  const work = mkdtempSync(join(tmpdir(), "opsguard-bench-security-"));
  try {
    const seedPath = join(work, "seed.db");
    const seeded = seedDatabase(seedPath, options.securityOperations);
    log(
      `security: seeded ${seeded.operations} operations (${mb(seeded.bytes)} MB) in ${seeded.seconds.toFixed(1)} s`,
    );
    const advisories = join(work, "osv.json");
    writeFileSync(advisories, "[]\n");
    const config = {
      security: {
        schedule: { quick: "off", checks: "off" },
        npmAudit: { enabled: false },
        advisoriesFile: advisories,
      },
    };
    const rounds: SecurityRound[] = [];
    let baselineFiles = 0;
    let windowSec = options.durationSec;
    for (let r = 1; r <= options.securityRounds; r++) {
      const target = await startOpsguard(
        `security (round ${r})`,
        {},
        {
          prepare: (dir) => {
            const db = join(dir, "opsguard.db");
            copyDurably(seedPath, db);
            chmodSync(db, 0o600);
          },
          config,
        },
      );
      try {
        baselineFiles = recordBaseline(target);
        const first = await measureAlone(target);
        const alone = await measureAlone(target);
        log(
          `round ${r}: baseline of ${baselineFiles} files; first check ${describeAlone(first)}; ` +
            `alone ${describeAlone(alone)}`,
        );
        let without: LoadWindow | undefined;
        let during: { window: LoadWindow; checks: LoadedCheck[] } | undefined;
        // Alternating, so that drifting noise hits both alike; the first round starts with the
        // checks, so that the window without them knows how long to be.
        for (const condition of r % 2 === 1 ? ["during", "without"] : ["without", "during"]) {
          if (condition === "during") {
            during = await loadWithChecks(target, options, `sd${r}`);
            windowSec = Math.max(1, Math.ceil(during.window.seconds));
            log(`round ${r} during : ${describeWindow(during.window)}; ${describeChecks(during.checks)}`);
          } else {
            without = await loadWindow(target, options, windowSec, `sw${r}`);
            log(`round ${r} without: ${describeWindow(without)}`);
          }
        }
        rounds.push({
          round: r,
          first,
          alone,
          without: without!,
          during: during!.window,
          checks: during!.checks,
        });
      } finally {
        await target.stop();
      }
    }
    requireAccepted(
      "security phase",
      rounds.flatMap((r) => [r.without, r.during]),
    );
    const paired = (f: (r: SecurityRound) => number): number => round(median(rounds.map(f)), 4);
    const underLoad = rounds.flatMap((r) => r.checks.filter((c) => c.endedUnderLoad));
    return {
      database: {
        operations: seeded.operations,
        auditEntries: seeded.auditEntries,
        bytes: seeded.bytes,
        seedSec: round(seeded.seconds, 1),
      },
      baselineFiles,
      rounds,
      without: summarizeWindows(rounds.map((r) => r.without)),
      during: summarizeWindows(rounds.map((r) => r.during)),
      checksUnderLoad: underLoad.length,
      underLoadSec: round(median(underLoad.map((c) => c.durationSec)), 3),
      aloneSec: round(median(rounds.map((r) => r.alone.durationSec)), 3),
      rpsRatio: paired((r) => r.during.rps / r.without.rps),
      p99Ratio: paired((r) => r.during.p99Ms / r.without.p99Ms),
      maxRatio: paired((r) => r.during.maxMs / r.without.maxMs),
      loopMaxRatio: paired((r) => r.during.loop.maxMs / r.without.loop.maxMs),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `opsguard security baseline` beside the service; the number of files it recorded. */
function recordBaseline(target: Target): number {
  const output = runOpsguardCli(target, ["security", "baseline"]);
  const files = /baseline of (\d+) files/.exec(output)?.[1];
  if (!files) throw new Error(`opsguard security baseline said: ${output}`);
  return Number(files);
}

async function measureAlone(target: Target): Promise<IdleCheck> {
  await readLoopDelay(target); // starts the stretch the next reading covers
  const from = markCpu(target);
  const run = await runSecurityCheck(target);
  const to = markCpu(target);
  return {
    ...run,
    serverCpuSec: round(to.server - from.server, 2),
    mainThreadCpuSec: round(to.mainThread - from.mainThread, 2),
    loop: await readLoopDelay(target),
  };
}

/**
 * A window of load with checks back to back from the end of the warm-up: it lasts `durationSec`,
 * and longer (by {@link LONGEST_EXTRA_SEC} at most) until a check has ended under load. The check
 * running when the load stops is awaited, so the next window starts with none.
 */
async function loadWithChecks(
  target: Target,
  options: BenchOptions,
  prefix: string,
): Promise<{ window: LoadWindow; checks: LoadedCheck[] }> {
  const checks: LoadedCheck[] = [];
  let loadOver = false;
  let failed = false;
  let began: number | undefined;
  let checking: Promise<void> = Promise.resolve();
  let window: LoadWindow;
  try {
    window = await loadWindow(
      target,
      options,
      options.durationSec + LONGEST_EXTRA_SEC,
      prefix,
      () => {
        began = performance.now();
        checking = (async () => {
          while (!loadOver) {
            const run = await runSecurityCheck(target);
            checks.push({ ...run, endedUnderLoad: !loadOver });
          }
        })();
        // Awaited once the load is over; meanwhile a failure ends the window.
        checking.catch(() => (failed = true));
        return Promise.resolve();
      },
      () =>
        Promise.resolve(
          failed ||
            (began !== undefined &&
              performance.now() - began >= options.durationSec * 1000 &&
              checks.some((check) => check.endedUnderLoad)),
        ),
    );
  } finally {
    loadOver = true;
  }
  await checking;
  return { window, checks };
}

function describeAlone(check: IdleCheck): string {
  return (
    `${check.durationSec.toFixed(2)} s, ${check.serverCpuSec.toFixed(2)} s of CPU ` +
    `(main thread ${check.mainThreadCpuSec.toFixed(2)} s), event loop max ${check.loop.maxMs} ms`
  );
}

function describeChecks(checks: LoadedCheck[]): string {
  const ended = checks.filter((check) => check.endedUnderLoad);
  const after = checks.length - ended.length;
  const durations = ended.map((check) => `${check.durationSec.toFixed(1)} s`).join(", ");
  const unavailable = checks.flatMap((check) => check.unavailable);
  return (
    `${ended.length} ${ended.length === 1 ? "check" : "checks"} ended under load (${durations})` +
    `${after > 0 ? `, ${after} after it` : ""}` +
    (unavailable.length > 0 ? `; unavailable: ${unavailable.join("; ")}` : "")
  );
}

const mb = (bytes: number): number => round(bytes / MB, 1);
