import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Config } from "../config/schema.js";
import { judgeNodeVersion, missingSecurityRelease } from "../cli/node-support.js";
import { runOffThread } from "../maintenance/off-thread.js";
import { checkAdvisories, type AdvisorySources } from "./advisories.js";
import type { ChainStatus } from "./audit-chain.js";
import { CHECKS, type CheckId } from "./catalog.js";
import {
  fingerprintScope,
  judgeBaseline,
  judgeFiles,
  readBaseline,
  type IntegrityScope,
} from "./integrity.js";
import { checkInstalled, installedPackages, readLockfile } from "./lockfile.js";
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

/** Work several checks need, done once per run. */
interface Shared {
  fingerprint(): Promise<Record<string, string>>;
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

/** The files of `labels` against the baseline; nothing is read when there is no trusted baseline. */
async function compareWithBaseline(
  { integrity }: CheckContext,
  shared: Shared,
  labels: readonly string[],
): Promise<Outcome> {
  const state = readBaseline(integrity);
  return judgeFiles(state, state.state === "trusted" ? await shared.fingerprint() : {}, labels);
}

const RUNNERS: Record<CheckId, Check> = {
  "OG-INT-001": ({ integrity }) => judgeBaseline(readBaseline(integrity), integrity),
  "OG-INT-002": (context, shared) => compareWithBaseline(context, shared, ["app"]),
  "OG-INT-003": (context, shared) => compareWithBaseline(context, shared, ["config", "path"]),
  "OG-DEP-001": ({ integrity }) => checkInstalled(integrity.appRoot),
  "OG-DEP-002": ({ integrity, advisories, signal }) => {
    const lockfile = readLockfile(integrity.appRoot);
    if (!lockfile) return unavailable(`${join(integrity.appRoot, "package-lock.json")} does not exist`);
    const sources = advisories.npmAudit
      ? { ...advisories, npmAudit: { ...advisories.npmAudit, signal } }
      : advisories;
    return checkAdvisories(integrity.appRoot, installedPackages(integrity.appRoot, lockfile), sources);
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
  let fingerprint: Promise<Record<string, string>> | undefined;
  const shared: Shared = { fingerprint: () => (fingerprint ??= fingerprintScope(context.integrity)) };
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
  }
  return results;
}
