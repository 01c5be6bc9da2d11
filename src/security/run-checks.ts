import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Config } from "../config/schema.js";
import { judgeNodeVersion, missingSecurityRelease } from "../cli/node-support.js";
import { runOffThread } from "../maintenance/off-thread.js";
import { checkAdvisories, type AdvisorySources } from "./advisories.js";
import type { ChainStatus } from "./audit-chain.js";
import { CHECKS, type CheckId } from "./catalog.js";
import { listingProblem, type DependencyFacts } from "./dependencies.js";
import type { FileComparison, IntegrityScope } from "./integrity.js";
import { checkDataFolder, checkPrivateFiles, checkUser, judgeWorldWritable } from "./permissions.js";
import { finding, ok, toResult, unavailable, type CheckResult, type Outcome } from "./report.js";
import {
  checkAuthentication,
  checkBackups,
  checkMetricsProtection,
  checkPlainHttpCredentials,
  checkTokenAge,
  type TokenAge,
} from "./settings.js";

/** Everything the checks look at, gathered by whoever runs them (serve or the CLI). */
export interface CheckContext {
  config: Config;
  databasePath: string;
  integrity: IntegrityScope;
  /** Secret files besides the database: admin token, backup password, token files, the baseline key. */
  secretFiles: { what: string; path: string }[];
  /** The process's user id; undefined where there is none. */
  uid: number | undefined;
  nodeVersion: string;
  /** Whether OTEL_EXPORTER_OTLP_HEADERS is set: it carries the trace endpoint's credentials. */
  otlpHeadersSecret: boolean;
  advisories: AdvisorySources;
  now: () => number;
  /** The API tokens; throws when the database cannot be read. */
  tokens: () => TokenAge[];
  /** When the last backup succeeded, if one has. */
  lastBackupAt: () => number | undefined;
  /** Stops what can be stopped (npm audit) when the service stops. */
  signal?: AbortSignal;
  /**
   * Verifies the audit hash chain: from the last entry found sound, or with `full` from the first
   * (on-demand runs: an entry changed behind the last verification is found at once).
   */
  auditChain: (full: boolean) => Promise<ChainStatus>;
  /** What started the run: schedule, start, api or cli. */
  trigger?: string;
}

type Check = (context: CheckContext, shared: Shared) => Promise<Outcome> | Outcome;

/**
 * Work several checks need, done once per run and in worker threads: the files against the
 * baseline (OG-INT-002, OG-INT-003) and what is installed (OG-DEP-001, OG-DEP-002).
 */
interface Shared {
  files(): Promise<FileComparison>;
  dependencies(): Promise<DependencyFacts>;
}

const DATABASE_FAILURE = /^SQLITE_(CORRUPT|NOTADB)/;

async function checkDatabaseFile(context: CheckContext, thorough: boolean): Promise<Outcome> {
  if (!existsSync(context.databasePath)) return unavailable(`${context.databasePath} does not exist yet`);
  const check = await runOffThread("checkDatabase", context.databasePath, thorough);
  const what = thorough ? "integrity_check" : "quick_check";
  if (check.failure) {
    // A file SQLite cannot read as a database is what these checks are for; anything else (a
    // lock held too long, say) means the check could not run.
    return DATABASE_FAILURE.test(check.failure.code)
      ? finding("critical", [`${context.databasePath}: ${check.failure.code}: ${check.failure.message}`])
      : unavailable(`${context.databasePath}: ${check.failure.code}: ${check.failure.message}`);
  }
  if (check.result !== "ok") return finding("critical", [`${what}: ${check.result}`]);
  if (check.foreignKeys.length > 0)
    return finding(
      "critical",
      check.foreignKeys.map((row) => `foreign_key_check: ${row}`),
    );
  return ok(`${context.databasePath}: ${what} ok${thorough ? ", foreign_key_check ok" : ""}`);
}

const RUNNERS: Record<CheckId, Check> = {
  "OG-INT-001": ({ integrity }) => runOffThread("inspectBaseline", integrity),
  "OG-INT-002": async (_, shared) => (await shared.files()).app,
  "OG-INT-003": async (_, shared) => (await shared.files()).configAndPaths,
  "OG-DEP-001": async (_, shared) => (await shared.dependencies()).installedCheck,
  "OG-DEP-002": async ({ integrity, advisories, signal }, shared) => {
    const { installed, osv } = await shared.dependencies();
    if (!("packages" in installed)) return listingProblem(installed)!;
    const sources = advisories.npmAudit
      ? { ...advisories, npmAudit: { ...advisories.npmAudit, signal } }
      : advisories;
    return checkAdvisories(integrity.appRoot, installed.packages, sources, osv);
  },
  "OG-DEP-003": ({ nodeVersion, now }) => {
    const judged = judgeNodeVersion(nodeVersion, now());
    if (judged) return finding(judged.severity === "problem" ? "critical" : "warning", [judged.message]);
    const missing = missingSecurityRelease(nodeVersion);
    if (missing)
      return finding("critical", [
        `node ${nodeVersion} lacks the security release of ${missing.date}: upgrade to ${missing.fixedIn} or later`,
      ]);
    return ok(`node ${nodeVersion}: a supported line, with every security release opsguard knows of`);
  },
  "OG-DB-001": (context) => checkDatabaseFile(context, false),
  "OG-DB-002": (context) => checkDatabaseFile(context, true),
  "OG-DB-003": async ({ databasePath, auditChain, trigger }) => {
    if (!existsSync(databasePath)) return unavailable(`${databasePath} does not exist yet`);
    const chain = await auditChain(trigger === "api" || trigger === "cli");
    const walked = chain.fullWalkAt ?? chain.verifiedAt;
    if (chain.ok)
      return ok(
        walked >= chain.verifiedAt
          ? `${chain.verifiedEntries} entries verified, from the first to the last`
          : `${chain.verifiedEntries} entries sound: the whole chain was walked ${new Date(walked).toISOString()}, the entries since verified from there`,
      );
    return finding("critical", [
      `entry ${chain.brokenAt} breaks the chain: ${chain.reason}`,
      `entries 1 to ${chain.verifiedEntries} are sound`,
    ]);
  },
  "OG-FILE-001": ({ config }) => checkDataFolder(config.dataDir),
  "OG-FILE-002": ({ databasePath, secretFiles }) =>
    checkPrivateFiles([
      { what: "database", path: databasePath },
      { what: "database WAL", path: `${databasePath}-wal` },
      { what: "database shared memory", path: `${databasePath}-shm` },
      ...secretFiles,
    ]),
  "OG-FILE-003": async ({ config, integrity }) => {
    const roots = [
      ...new Set([
        resolve(config.dataDir),
        resolve(integrity.appRoot),
        ...(integrity.configPath ? [dirname(resolve(integrity.configPath))] : []),
      ]),
    ];
    return judgeWorldWritable(await runOffThread("findWorldWritable", roots), roots);
  },
  "OG-PROC-001": ({ uid }) => checkUser(uid),
  "OG-CFG-001": ({ config }) => checkAuthentication(config),
  "OG-CFG-002": ({ config }) => checkMetricsProtection(config),
  "OG-CFG-003": ({ config, tokens, now }) => checkTokenAge(tokens(), config.security.maxTokenAgeDays, now()),
  "OG-CFG-004": ({ config, otlpHeadersSecret }) => checkPlainHttpCredentials(config, { otlpHeadersSecret }),
  "OG-BAK-001": ({ config, lastBackupAt, now }) => checkBackups(config, lastBackupAt(), now()),
};

/**
 * Runs the checks `ids` (all of them by default) one after another and returns their results in
 * catalog order. A check that throws is `unavailable` with the error: one broken check never hides
 * the others, and never passes silently.
 */
export async function runChecks(
  context: CheckContext,
  ids: readonly CheckId[] = CHECKS.map((check) => check.id),
  onCheck?: (id: CheckId, index: number, count: number) => void,
): Promise<CheckResult[]> {
  let files: Promise<FileComparison> | undefined;
  let dependencies: Promise<DependencyFacts> | undefined;
  const shared: Shared = {
    files: () => (files ??= runOffThread("compareWithBaseline", context.integrity)),
    dependencies: () =>
      (dependencies ??= runOffThread(
        "inspectDependencies",
        context.integrity.appRoot,
        context.advisories.osvPath,
      )),
  };
  const results: CheckResult[] = [];
  const selected = CHECKS.filter(({ id }) => ids.includes(id));
  for (const [index, { id }] of selected.entries()) {
    onCheck?.(id, index, selected.length);
    const startedAt = context.now();
    const began = performance.now();
    let outcome: Outcome;
    try {
      outcome = await RUNNERS[id](context, shared);
    } catch (error) {
      outcome = unavailable(`the check failed to run: ${(error as Error).message}`);
    }
    results.push(toResult(id, outcome, startedAt, Math.round(performance.now() - began)));
    // Most checks answer at once: without a turn between them, they would hold the event loop
    // together for as long as all of them take.
    await nextTurn();
  }
  return results;
}
