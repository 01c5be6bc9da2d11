import type { BackupResults } from "./backup-phase.js";
import { mib, ms, pct, type Table } from "./format.js";
import type { WindowSummary } from "./load-window.js";
import type { BenchOptions } from "./options.js";
import { HEAVY_CHECKS, type CheckRun, type HeavyCheck } from "./security-api.js";
import type { SecurityResults } from "./security-phase.js";
import { median } from "./stats.js";

/** Phase 7's tables: each backup, then the submit load without and from the start of one. */
export function formatBackup(backup: BackupResults, options: BenchOptions, table: Table): void {
  const { database, first, rounds } = backup;
  const loop = (l: { maxMs: number; p99Ms: number } | null): string =>
    l ? `${ms(l.maxMs)} / ${ms(l.p99Ms)}` : "—";
  table(
    [
      `backup of ${database.operations} operations (${mib(database.bytes)})`,
      "result",
      "duration",
      "read / added",
      "files",
      "restic CPU",
      "event loop max / p99",
    ],
    [
      [
        "first, empty repository, no load",
        first.status,
        `${first.durationSec.toFixed(1)} s`,
        `${mib(first.bytesProcessed)} / ${mib(first.bytesAdded)}`,
        String(first.files),
        `${first.resticCpuSec.toFixed(1)} s (service ${first.serverCpuSec.toFixed(1)} s)`,
        loop(first.loop),
      ],
      ...rounds.map(({ round, backup: b }) => [
        b.endedUnderLoad
          ? `round ${round}, under load throughout`
          : `round ${round}: ${pct(b.copiedUnderLoad)} copied under load, then ${b.afterLoadSec} s alone`,
        b.reason ? `${b.status}: ${b.reason}` : b.status,
        `${b.durationSec.toFixed(1)} s`,
        `${mib(b.bytesProcessed)} / ${mib(b.bytesAdded)}`,
        String(b.files),
        `${b.resticCpuSec.toFixed(1)} s`,
        b.afterLoadLoop ? `${loop(b.afterLoadLoop)} (alone)` : "(see below)",
      ]),
    ],
  );
  windowsTable(table, options, rounds.length, [
    ["without a backup", backup.without],
    ["from the start of a backup", backup.during],
  ]);
}

/**
 * Phase 8's tables: each check alone and under load with where its time goes, then the submit
 * load without and with checks; `note` adds the ratios as a line.
 */
export function formatSecurity(
  security: SecurityResults,
  options: BenchOptions,
  table: Table,
  note: (line: string) => void,
): void {
  const { database, rounds } = security;
  const heavy = Object.keys(HEAVY_CHECKS) as HeavyCheck[];
  const steps = (runs: CheckRun[]): string[] =>
    heavy.map((id) => ms(median(runs.map((run) => run.stepsMs[id]))));
  const loop = (l: { maxMs: number; p99Ms: number }): string => `${ms(l.maxMs)} / ${ms(l.p99Ms)}`;
  table(
    [
      `security checks, ${database.operations} operations (${mib(database.bytes)}), ${security.baselineFiles} files`,
      "duration",
      ...heavy.map((id) => HEAVY_CHECKS[id]),
      "service CPU",
      "event loop max / p99",
    ],
    rounds.flatMap(({ round, first, alone, checks }) => {
      const ended = checks.filter((c) => c.endedUnderLoad);
      return [
        [
          `round ${round}, first after the start, no load`,
          `${first.durationSec.toFixed(2)} s`,
          ...steps([first]),
          `${first.serverCpuSec.toFixed(1)} s (main thread ${first.mainThreadCpuSec.toFixed(2)} s)`,
          loop(first.loop),
        ],
        [
          `round ${round}, alone`,
          `${alone.durationSec.toFixed(2)} s`,
          ...steps([alone]),
          `${alone.serverCpuSec.toFixed(1)} s (main thread ${alone.mainThreadCpuSec.toFixed(2)} s)`,
          loop(alone.loop),
        ],
        [
          `round ${round}, under load: ${ended.length} ended in the window, ${checks.length - ended.length} after (median)`,
          ended.length > 0 ? `${median(ended.map((c) => c.durationSec)).toFixed(2)} s` : "—",
          ...(ended.length > 0 ? steps(ended) : heavy.map(() => "—")),
          "(see below)",
          "(see below)",
        ],
      ];
    }),
  );
  windowsTable(
    table,
    options,
    rounds.length,
    [
      ["without a check", security.without],
      ["with checks back to back", security.during],
    ],
    true,
  );
  note(
    `with checks ÷ without, median of the rounds' ratios: req/s ${pct(security.rpsRatio)}, ` +
      `p99 ${pct(security.p99Ratio)}, max ${pct(security.maxRatio)}, event loop max ${pct(security.loopMaxRatio)}; ` +
      `a check took ${security.underLoadSec.toFixed(2)} s under load (median of ${security.checksUnderLoad}), ` +
      `${security.aloneSec.toFixed(2)} s alone`,
  );
}

/**
 * The submit load of a maintenance phase, without and with the maintenance running: one row per
 * window, medians of the rounds; `mainThread` adds the event loop thread's share of the CPU.
 */
function windowsTable(
  table: Table,
  options: BenchOptions,
  rounds: number,
  windows: [string, WindowSummary][],
  mainThread = false,
): void {
  table(
    [
      `POST /v1/operations, ${options.connections} connections, median of ${rounds}`,
      "req/s",
      "p50",
      "p99",
      "max",
      mainThread ? "server CPU (main thread)" : "server CPU",
      "event loop max / p99",
    ],
    windows.map(([name, w]) => [
      name,
      w.rps.toFixed(0),
      ms(w.p50Ms),
      ms(w.p99Ms),
      ms(w.maxMs),
      `${w.serverCpuCores.toFixed(2)} cores` + (mainThread ? ` (${w.mainThreadCores.toFixed(2)})` : ""),
      `${ms(w.loopMaxMs)} / ${ms(w.loopP99Ms)}`,
    ]),
  );
}
