import { cpus, release } from "node:os";
import type { BackupResults } from "./backup-phase.js";
import type { EventsResults } from "./events-phase.js";
import type { GlobalResults } from "./global-phase.js";
import { ms, pct, signed, type Table } from "./format.js";
import type { MemoryResults } from "./memory-phase.js";
import type { BenchOptions, Variant } from "./options.js";
import type { RiskResult } from "./risk-phase.js";
import type { ScrapeResult } from "./scrape-phase.js";
import { formatBackup, formatSecurity } from "./report-maintenance.js";
import type { OpenLoopResult, OpenRun } from "./open-loop.js";
import type { ReportsResults } from "./reports-phase.js";
import type { SecurityResults } from "./security-phase.js";
import { VARIANT_NAMES, type SubmitResults, type VariantResult } from "./submit-phase.js";
import type { SupervisorResult } from "./supervisor-phase.js";

/** Everything `npm run bench` measured, as written to the JSON file. */
export interface BenchResults {
  date: string;
  machine: { cpu: string; cores: number; node: string; os: string };
  options: BenchOptions;
  submit?: SubmitResults;
  scrape?: ScrapeResult[];
  supervisor?: SupervisorResult[];
  risk?: RiskResult;
  memory?: MemoryResults;
  backup?: BackupResults;
  security?: SecurityResults;
  reports?: ReportsResults;
  open?: OpenLoopResult[];
  events?: EventsResults;
  global?: GlobalResults;
  /** Each target of the issue, with what was measured against it. */
  targets: TargetCheck[];
}

export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}

/** CPU model, cores and versions of the machine running the benchmark. */
export function describeMachine(): BenchResults["machine"] {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? "unknown",
    cores: list.length,
    node: process.version,
    os: `${process.platform} ${release()}`,
  };
}

/**
 * The RSS slope below which it "levels off". The sawtooth of garbage collection moves single
 * samples by up to 100 MB; fitted over two minutes of samples, the slope of a process that does
 * not grow stays within ±15 MB/min (measured over four-minute outages). A buffer without a bound
 * would add 90 MB a minute at this load (the log lines dropped) to over 1 GB (the spans dropped).
 */
const LEVELS_OFF_MB_PER_MIN = 30;

/** The issue's targets, checked against what was measured (only for the phases that ran). */
export function checkTargets(results: Omit<BenchResults, "targets">): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const { submit, scrape, supervisor, risk, memory, backup, security, reports, open, events } = results;
  if (submit) {
    checks.push(
      {
        name: "submit req/s vs bare Hono",
        target: "≥ 30%",
        measured: `${pct(submit.ratio)} (${submit.full.rps.toFixed(0)} vs ${submit.bare.rps.toFixed(0)} req/s)`,
        met: submit.ratio >= 0.3,
      },
      {
        name: `submit p99 at ${results.options.connections} connections`,
        target: "< 10 ms",
        measured: ms(submit.full.p99Ms),
        met: submit.full.p99Ms < 10,
      },
      {
        name: "throughput cost of traces and logs",
        target: "≤ 15%",
        measured: `${pct(submit.telemetryCost)} (${submit.full.rps.toFixed(0)} vs ${submit.quiet.rps.toFixed(0)} req/s)`,
        met: submit.telemetryCost <= 0.15,
      },
    );
  }
  const largestScrape = scrape?.at(-1);
  if (largestScrape) {
    checks.push({
      name: `/metrics at ${largestScrape.series} series`,
      target: "< 25 ms",
      measured: ms(largestScrape.openMetricsMs.median),
      met: largestScrape.openMetricsMs.median < 25,
    });
  }
  // The target is set at 10,000 open (larger books are measured for memory and the longest turn).
  const largestTick = supervisor?.filter((s) => s.open <= 10_000).at(-1);
  if (largestTick) {
    checks.push({
      name: `supervision tick, ${largestTick.open} open operations`,
      target: "< 20 ms",
      measured: ms(largestTick.tickMs.median),
      met: largestTick.tickMs.median < 20,
    });
  }
  if (risk) {
    checks.push({
      name: "risk decision",
      target: "< 5 µs",
      measured: `${(risk.acceptedFixedNs / 1000).toFixed(2)} µs`,
      met: risk.acceptedFixedNs < 5000,
    });
  }
  for (const outage of memory?.outages ?? []) {
    const samples = outage.samples.map((s) => s.rssMb);
    checks.push({
      name: `RSS with exporters ${outage.endpoints}, under load`,
      target: `levels off (< ${LEVELS_OFF_MB_PER_MIN} MB/min)`,
      measured: `${signed(outage.slopeMbPerMin)} MB/min over ${outage.samples.length} samples (${Math.min(...samples)}–${Math.max(...samples)} MB)`,
      met: outage.slopeMbPerMin < LEVELS_OFF_MB_PER_MIN,
    });
  }
  if (backup) {
    const { without, during, rounds } = backup;
    const ended = rounds.filter((r) => r.backup.endedUnderLoad && r.backup.status === "succeeded").length;
    // A ratio over a window in which the backup did not run to its end measures a part of it only.
    const completed = `the backup ended under load in ${ended} of ${rounds.length} rounds`;
    const operations = backup.database.operations;
    checks.push(
      {
        name: `submit req/s during a backup of ${operations} operations`,
        target: "≥ 80% of without",
        measured: `${pct(backup.rpsRatio)} (${during.rps.toFixed(0)} vs ${without.rps.toFixed(0)} req/s); ${completed}`,
        met: backup.rpsRatio >= 0.8 && ended === rounds.length,
      },
      {
        name: `submit p99 during a backup of ${operations} operations`,
        target: "≤ 120% of without",
        measured: `${pct(backup.p99Ratio)} (${ms(during.p99Ms)} vs ${ms(without.p99Ms)}); ${completed}`,
        met: backup.p99Ratio <= 1.2 && ended === rounds.length,
      },
    );
  }
  if (security) {
    const { without, during, rounds } = security;
    // The goals of a backup, the other maintenance that runs beside trading. A ratio over a
    // window in which no check ended measures a part of one only.
    const ended = rounds.filter((r) => r.checks.some((c) => c.endedUnderLoad)).length;
    const completed =
      `${security.checksUnderLoad} ${security.checksUnderLoad === 1 ? "check" : "checks"} ended under load ` +
      `in ${rounds.length} ${rounds.length === 1 ? "round" : "rounds"}`;
    const operations = security.database.operations;
    checks.push(
      {
        name: `submit req/s during security checks, ${operations} operations`,
        target: "≥ 80% of without",
        measured: `${pct(security.rpsRatio)} (${during.rps.toFixed(0)} vs ${without.rps.toFixed(0)} req/s); ${completed}`,
        met: security.rpsRatio >= 0.8 && ended === rounds.length,
      },
      {
        name: `submit p99 during security checks, ${operations} operations`,
        target: "≤ 120% of without",
        measured:
          `${pct(security.p99Ratio)} (${ms(during.p99Ms)} vs ${ms(without.p99Ms)}); ` +
          `event loop max ${ms(during.loopMaxMs)} vs ${ms(without.loopMaxMs)}`,
        met: security.p99Ratio <= 1.2 && ended === rounds.length,
      },
    );
  }
  if (reports) {
    const all = reports.requests.find((r) => r.path === "/v1/reports/performance?timeframe=all")!;
    checks.push({
      name: `performance report over ${reports.database.operations} operations, ${reports.database.days} days`,
      target: "< 1 s",
      measured: `${ms(all.medianMs)} median, ${ms(all.maxMs)} max (timeframe=all, JSON, over HTTP)`,
      met: all.maxMs < 1000,
    });
  }
  for (const { load, bare, opsguard } of open ?? []) {
    // The issue's targets: at a rate, p50 within 0.5 ms of the floor and the tail within 2×; one
    // request at a time, p50 within 0.3 ms and p99 within 2×.
    const p50Gap = load.mode === "lone" ? 0.3 : 0.5;
    checks.push({
      name: `open loop, ${load.name}: p50`,
      target: `≤ bare + ${p50Gap} ms`,
      measured: `${ms(opsguard.p50Ms)} vs ${ms(bare.p50Ms)}`,
      met: opsguard.p50Ms <= bare.p50Ms + p50Gap,
    });
    checks.push({
      name: `open loop, ${load.name}: p99${load.mode === "lone" ? "" : " and p99.9"}`,
      target: "≤ 2× bare",
      measured:
        `p99 ${ms(opsguard.p99Ms)} vs ${ms(bare.p99Ms)}` +
        (load.mode === "lone" ? "" : `; p99.9 ${ms(opsguard.p999Ms)} vs ${ms(bare.p999Ms)}`) +
        `; event loop max ${ms(opsguard.loop?.maxMs ?? 0)}`,
      met: opsguard.p99Ms <= 2 * bare.p99Ms && (load.mode === "lone" || opsguard.p999Ms <= 2 * bare.p999Ms),
    });
  }
  if (events) {
    const consumers = `${events.clients} stream clients, ${events.endpoints} webhook endpoints`;
    const loads = events.rounds.map((r) => r.delivered.consumerCpuCores).join(", ");
    checks.push(
      {
        name: `submit req/s with ${consumers}`,
        target: "≥ 90% of none",
        measured:
          `${pct(events.rpsRatio)} (${events.with.rps.toFixed(0)} vs ${events.matched.rps.toFixed(0)} req/s, ` +
          `none beside the consumers' CPU); ${pct(events.rawRpsRatio)} of none alone`,
        met: events.rpsRatio >= 0.9,
      },
      {
        name: `submit p99 with ${consumers}`,
        target: "≤ 110% of none",
        measured:
          `${pct(events.p99Ratio)} (${ms(events.with.p99Ms)} vs ${ms(events.matched.p99Ms)}); ` +
          `${pct(events.rawP99Ratio)} of none alone`,
        met: events.p99Ratio <= 1.1,
      },
      {
        name: `server CPU per submit with ${consumers}`,
        target: "≤ 110% of none",
        measured: `${pct(events.cpuPerSubmitRatio)}; the consumers used ${loads} cores`,
        met: events.cpuPerSubmitRatio <= 1.1,
      },
    );
  }
  return checks;
}

/** The results as Markdown tables, for the terminal and for BENCHMARKS.md. */
export function formatResults(results: BenchResults): string {
  const lines: string[] = [];
  const table: Table = (header, rows) => {
    lines.push(`| ${header.join(" | ")} |`, `| ${header.map(() => "---").join(" | ")} |`);
    for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
    lines.push("");
  };
  const { machine, options } = results;
  lines.push(
    `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}; ${results.date}`,
    `${options.connections} connections, ${options.threads} wrk threads, ${options.rounds} rounds of ` +
      `${options.warmupSec} s warm-up + ${options.durationSec} s`,
    "",
  );
  table(
    ["target", "goal", "measured", "met"],
    results.targets.map((t) => [t.name, t.target, t.measured, t.met ? "yes" : "**no**"]),
  );
  if (results.submit) {
    const { bare, full, quiet, more } = results.submit;
    const rows: [string, VariantResult][] = [
      [VARIANT_NAMES.bare, bare],
      [VARIANT_NAMES.full, full],
      [VARIANT_NAMES.quiet, quiet],
      ...Object.entries(more).map(
        ([v, result]) => [VARIANT_NAMES[v as Variant], result] as [string, VariantResult],
      ),
    ];
    table(
      ["POST /v1/operations", "req/s", "p50", "p99", "accepted", "server CPU"],
      rows.map(([name, v]) => [
        name,
        v.rps.toFixed(0),
        ms(v.p50Ms),
        ms(v.p99Ms),
        pct(v.acceptedShare),
        `${v.serverCpuCores.toFixed(2)} cores`,
      ]),
    );
  }
  if (results.scrape) {
    table(
      ["GET /metrics", "series", "k × k", "OpenMetrics p50 / p95", "text p50 / p95", "bytes"],
      results.scrape.map((s) => [
        `~${s.targetSeries}`,
        String(s.series),
        `${s.strategies} × ${s.instruments}`,
        `${ms(s.openMetricsMs.median)} / ${ms(s.openMetricsMs.p95)}`,
        `${ms(s.textMs.median)} / ${ms(s.textMs.p95)}`,
        String(s.bytes),
      ]),
    );
  }
  if (results.supervisor) {
    table(
      ["supervision tick", "p50", "p95", "max", "longest turn", "memory per open operation: heap / resident"],
      results.supervisor.map((s) => [
        `${s.open} open`,
        ms(s.tickMs.median),
        ms(s.tickMs.p95),
        ms(s.tickMs.max),
        ms(s.longestTurnMs),
        `${(s.memoryPerOpen.heapBytes / 1024).toFixed(1)} / ${(s.memoryPerOpen.rssBytes / 1024).toFixed(1)} KiB`,
      ]),
    );
  }
  if (results.risk) {
    const r = results.risk;
    table(
      ["risk decision", "mean"],
      [
        ["accepted, fixed size", `${r.acceptedFixedNs} ns (p99 of a batch ${r.acceptedFixedP99Ns} ns)`],
        ["accepted, automatic size", `${r.acceptedAutoNs} ns`],
        ["rejected, three failures", `${r.rejectedNs} ns`],
      ],
    );
  }
  if (results.memory) {
    const o = results.memory.operations;
    table(
      ["memory", "RSS"],
      [
        ["ready", `${o.rssReadyMb} MB`],
        [`after ${o.operations} operations (${o.rps.toFixed(0)}/s over HTTP)`, `${o.rssAfterLoadMb} MB`],
        ["once all had closed", `${o.rssAfterCloseMb} MB (heap in use ${o.heapUsedMb} MB)`],
        ["peak", `${o.rssPeakMb} MB`],
      ],
    );
    table(
      ["exporters down, under load", "RSS samples (MB)", "slope", "dropped spans / lines", "req/s"],
      results.memory.outages.map((x) => [
        x.endpoints,
        x.samples.map((s) => s.rssMb).join(" "),
        `${signed(x.slopeMbPerMin)} MB/min`,
        `${x.droppedSpans} / ${x.droppedLogLines}`,
        x.rps.toFixed(0),
      ]),
    );
  }
  if (results.backup) formatBackup(results.backup, options, table);
  if (results.security) formatSecurity(results.security, options, table, (line) => lines.push(line, ""));
  if (results.open) {
    table(
      [
        "open loop",
        "opsguard p50 / p99 / p99.9 / max",
        "bare route p50 / p99 / p99.9 / max",
        "accepted",
        "event loop max",
        "GC pauses (over 10 ms), total",
        "send lag max",
      ],
      results.open.map(({ load, bare, opsguard: o }) => [
        `${load.name} (${o.requests} requests)`,
        `${ms(o.p50Ms)} / ${ms(o.p99Ms)} / ${ms(o.p999Ms)} / ${ms(o.maxMs)}`,
        `${ms(bare.p50Ms)} / ${ms(bare.p99Ms)} / ${ms(bare.p999Ms)} / ${ms(bare.maxMs)}`,
        pct(o.acceptedShare),
        ms(o.loop?.maxMs ?? 0),
        gcCell(o),
        `${ms(o.sendLagMaxMs)} / ${ms(bare.sendLagMaxMs)}`,
      ]),
    );
  }
  const variantRows = (results.open ?? []).flatMap(({ load, more }) =>
    Object.entries(more).map(([variant, o]) => [
      load.name,
      variant,
      `${ms(o.p50Ms)} / ${ms(o.p99Ms)} / ${ms(o.p999Ms)} / ${ms(o.maxMs)}`,
      ms(o.loop?.maxMs ?? 0),
      gcCell(o),
    ]),
  );
  if (variantRows.length > 0)
    table(
      [
        "open loop",
        "server (durable: the bare route with opsguard's commits)",
        "p50 / p99 / p99.9 / max",
        "event loop max",
        "GC pauses (over 10 ms), total",
      ],
      variantRows,
    );
  if (results.reports) {
    const { database, requests } = results.reports;
    table(
      [
        `report, ${database.operations} operations over ${database.days} days (${database.aggregateRows} aggregate rows)`,
        "median",
        "max",
        "answer",
      ],
      requests.map((r) => [r.name, ms(r.medianMs), ms(r.maxMs), `${(r.bytes / 1024).toFixed(0)} KiB`]),
    );
  }
  if (results.global) {
    const g = results.global;
    table(
      ["firm-wide limits round", "without: req/s, p99", "with: req/s, p99", "with ÷ without"],
      g.rounds.map((r) => [
        String(r.round),
        `${r.without.rps.toFixed(0)}, ${ms(r.without.p99Ms)}`,
        `${r.with.rps.toFixed(0)}, ${ms(r.with.p99Ms)}`,
        `${pct(r.with.rps / r.without.rps)} req/s, ${pct(r.with.p99Ms / r.without.p99Ms)} p99`,
      ]),
    );
  }
  if (results.events) {
    table(
      [
        "events round",
        "none req/s, p99",
        "none beside a load: req/s, p99 (load)",
        "with consumers req/s, p99 (their CPU)",
        "events",
        "per client",
        "per endpoint (POSTs)",
        "caught up",
      ],
      results.events.rounds.map((r) => [
        String(r.round),
        `${r.none.rps.toFixed(0)}, ${ms(r.none.p99Ms)}`,
        `${r.matched.rps.toFixed(0)}, ${ms(r.matched.p99Ms)} (${r.matchedLoadCores} cores)`,
        `${r.with.rps.toFixed(0)}, ${ms(r.with.p99Ms)} (${r.delivered.consumerCpuCores} cores)`,
        String(r.delivered.recorded),
        `${r.delivered.streamMin}–${r.delivered.streamMax}`,
        r.delivered.webhookEvents.map((n, i) => `${n} (${r.delivered.webhookDeliveries[i]})`).join(", "),
        `${r.delivered.catchUpSec} s`,
      ]),
    );
  }
  return lines.join("\n");
}

/**
 * An open-loop run's GC pauses: how many, how many of them over 10 ms, and their total; then the
 * same per kind of pause.
 */
function gcCell({ gc }: OpenRun): string {
  if (!gc) return "—";
  const kinds = Object.entries(gc.kinds)
    .map(([kind, k]) => `${kind} ${k.count} (${k.over10Ms}), ${ms(k.totalMs)}`)
    .join("; ");
  return `${gc.count} (${gc.over10Ms}), ${ms(gc.totalMs)}${kinds ? ` [${kinds}]` : ""}`;
}
