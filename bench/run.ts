/**
 * `npm run bench`: opsguard against the physical limit of its stack, on loopback, bounded in
 * time. Builds nothing itself (the npm script builds first); runs the servers under test and the
 * load generator (wrk) in processes of their own, prints a table and writes the JSON results.
 * Options: see bench/options.ts (`BENCH_DURATION=10`, `--rounds=3`, `--only=submit,risk`, …).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { format, resolveConfig } from "prettier";
import { runBackupPhase } from "./backup-phase.js";
import { runEventsPhase } from "./events-phase.js";
import { runGlobalPhase } from "./global-phase.js";
import type { InProcessJob } from "./inproc.js";
import { runMemoryPhase } from "./memory-phase.js";
import { readOptions, type Phase } from "./options.js";
import { checkTargets, describeMachine, formatResults, type BenchResults } from "./report.js";
import { runOpenLoopPhase } from "./open-loop.js";
import { runReportsPhase } from "./reports-phase.js";
import { runSecurityPhase } from "./security-phase.js";
import { MIN_ACCEPTED_SHARE, runSubmitPhase } from "./submit-phase.js";
import { nodeFlagsForTargets, profileTargetsInto, ROOT, useBuild } from "./targets.js";
import { requireWrk } from "./wrk.js";

const options = readOptions(process.argv.slice(2), process.env);
const started = performance.now();
const log = (line: string): void => {
  const at = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  process.stderr.write(`[${at} s] ${line}\n`);
};
const runs = (phase: Phase): boolean => options.phases.includes(phase);

profileTargetsInto(options.profileDir);
nodeFlagsForTargets(options.nodeFlags);
useBuild(options.dist);
if (
  runs("submit") ||
  runs("memory") ||
  runs("backup") ||
  runs("security") ||
  runs("events") ||
  runs("global")
)
  requireWrk();

const partial: Omit<BenchResults, "targets"> = {
  date: new Date().toISOString(),
  machine: describeMachine(),
  options,
};
if (runs("submit")) {
  log("phases 1 and 2: POST /v1/operations vs a bare Hono route, telemetry on and off");
  partial.submit = await runSubmitPhase(options, log);
}
if (runs("scrape")) {
  partial.scrape = [];
  for (const targetSeries of options.scrapeSeries) {
    log(`phase 3: GET /metrics at about ${targetSeries} series`);
    partial.scrape.push(await inProcess({ phase: "scrape", targetSeries }));
  }
}
if (runs("supervisor")) {
  partial.supervisor = [];
  for (const open of options.supervisorOpen) {
    log(`phase 4: one supervision tick over ${open} open operations`);
    partial.supervisor.push(await inProcess({ phase: "supervisor", open }));
  }
}
if (runs("risk")) {
  log("phase 5: one risk decision (tinybench)");
  partial.risk = await inProcess({ phase: "risk", timeMs: options.riskTimeMs });
}
if (runs("memory")) {
  log(`phase 6: RSS after ${options.operations} operations, and with the exporters down under load`);
  partial.memory = await runMemoryPhase(options, log);
  const shares = [partial.memory.operations, ...partial.memory.outages].map((m) => m.acceptedShare);
  if (Math.min(...shares) < MIN_ACCEPTED_SHARE)
    throw new Error(
      `memory phase: only ${(Math.min(...shares) * 100).toFixed(2)}% of requests were accepted`,
    );
}

if (runs("backup")) {
  log(`phase 7: submits during a backup of ${options.backupOperations} operations`);
  partial.backup = await runBackupPhase(options, log);
}

if (runs("security")) {
  log(`phase 8: submits during security checks, database of ${options.securityOperations} operations`);
  partial.security = await runSecurityPhase(options, log);
}

if (runs("reports")) {
  log(`phase 9: reports over ${options.reportsOperations} operations`);
  partial.reports = await runReportsPhase(options, log);
}

if (runs("open")) {
  log(`phase 10: open-loop latency at ${options.openRates.join(" and ")} req/s and one request at a time`);
  partial.open = await runOpenLoopPhase(options, log);
}

if (runs("events")) {
  log(`phase 11: submits with ${options.eventsClients} event-stream clients and two webhook endpoints`);
  partial.events = await runEventsPhase(options, log);
}

if (runs("global")) {
  log("phase 12: submits with the firm-wide limits in PostgreSQL, and without");
  partial.global = await runGlobalPhase(options, log);
}

const results: BenchResults = { ...partial, targets: checkTargets(partial) };
const out = resolve(ROOT, options.out);
const json = JSON.stringify(results, null, 2);
// Formatted as the repository formats JSON, so a committed result passes `prettier --check`.
writeFileSync(out, await format(json, { ...(await resolveConfig(out)), filepath: out }));
console.log(formatResults(results));
log(`done; results in ${out}`);

/** Runs one in-process measurement in a fresh `node` (bench/inproc.ts) and returns its JSON result. */
async function inProcess<T>(job: InProcessJob): Promise<T> {
  const profile = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : [];
  const child = spawn(
    process.execPath,
    [...profile, "--expose-gc", "--import", "tsx", join(ROOT, "bench", "inproc.ts"), JSON.stringify(job)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  const [code] = (await once(child, "exit")) as [number | null];
  const line = stdout.trim().split("\n").at(-1);
  if (code !== 0 || !line) throw new Error(`${job.phase} failed with ${String(code)}`);
  return JSON.parse(line) as T;
}
