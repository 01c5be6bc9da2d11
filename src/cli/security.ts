import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { databasePath } from "../app.js";
import type { Config } from "../config/schema.js";
import { TokenStore } from "../http/tokens.js";
import { runOffThread } from "../maintenance/off-thread.js";
import { RunRepository } from "../maintenance/runs.js";
import { AuditLog, type AuditInput } from "../platform/audit.js";
import { SYSTEM_CLOCK, type Clock } from "../platform/clock.js";
import { openDatabase } from "../platform/db.js";
import { staticContext } from "../security/context.js";
import { recordBaseline } from "../security/integrity.js";
import { countStatuses, FAIL_ON, reaches, type CheckResult, type FailOn } from "../security/report.js";
import { runChecks, type CheckContext } from "../security/run-checks.js";
import type { CommandOutput } from "./backup.js";
import { UsageError } from "./usage-error.js";

/** `opsguard security …` usage, for the CLI's help. */
export const SECURITY_USAGE = `opsguard security check [--json] [--fail-on critical|warning|unavailable]
                                         run every security check; exit 1 when a result reaches
                                         --fail-on (default critical)
opsguard security baseline               record the integrity baseline of what is installed now`;

/** What a CLI run of the checks is given besides the config; tests substitute these. */
export interface SecurityCommandOptions {
  configPath: string | undefined;
  json?: boolean;
  failOn?: string;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  appRoot?: string;
  uid?: number;
}

/**
 * Runs `opsguard security <sub>` in this process, beside a service that may be running on the
 * same data folder: the database is read on read-only connections, and each run is recorded in
 * the audit log (actor `cli`). Returns the exit status.
 */
export async function runSecurityCommand(
  sub: string | undefined,
  config: Config,
  options: SecurityCommandOptions,
  output: CommandOutput,
): Promise<number> {
  const failOn = (options.failOn ?? "critical") as FailOn;
  if (!FAIL_ON.includes(failOn)) throw new UsageError(`--fail-on must be one of ${FAIL_ON.join(", ")}`);
  const clock = options.clock ?? SYSTEM_CLOCK;
  const env = options.env ?? process.env;
  const dbPath = databasePath(config);
  const base = staticContext({
    config,
    configPath: options.configPath,
    databasePath: dbPath,
    env,
    clock,
    appRoot: options.appRoot,
    ...("uid" in options ? { uid: options.uid } : {}),
  });

  if (sub === "baseline") {
    const baseline = await recordBaseline(base.integrity, clock.now());
    const files = Object.keys(baseline.files).length;
    audit(dbPath, clock, {
      actor: "cli",
      action: "security.baseline",
      target: base.integrity.baselineFile,
      details: { files },
    });
    output.out(`recorded the integrity baseline of ${files} files in ${base.integrity.baselineFile}`);
    return 0;
  }
  if (sub !== "check") throw new UsageError(`usage:\n${SECURITY_USAGE}`);

  const context: CheckContext = { ...base, ...databaseSources(dbPath), trigger: "cli" };
  const onTerminal = output.err.isTTY === true && !options.json;
  const results = await runChecks(context, undefined, (id, index, count) => {
    if (onTerminal) output.err.write(`\r\x1b[Kchecking ${id} (${index + 1}/${count})`);
  });
  if (onTerminal) output.err.write("\r\x1b[K");
  const counts = countStatuses(results);
  audit(dbPath, clock, {
    actor: "cli",
    action: "security.check",
    details: {
      trigger: "cli",
      ...counts,
      findings: results.filter((r) => r.status === "warning" || r.status === "critical").map((r) => r.id),
    },
  });
  if (options.json) {
    const shown = results.map((result) => ({
      ...result,
      checkedAt: new Date(result.checkedAt).toISOString(),
    }));
    output.out(JSON.stringify({ counts, results: shown }, null, 2));
  } else for (const line of formatTable(results)) output.out(line);
  return reaches(results, failOn) ? 1 : 0;
}

/** What the checks read from the database, on read-only connections of their own. */
function databaseSources(path: string): Pick<CheckContext, "tokens" | "lastBackupAt" | "auditChain"> {
  const read = <T>(fn: (db: Database.Database) => T): T => {
    if (!existsSync(path)) throw new Error(`${path} does not exist yet`);
    const db = new Database(path, { readonly: true, fileMustExist: true });
    db.defaultSafeIntegers(true);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  return {
    tokens: () => read((db) => new TokenStore(db, SYSTEM_CLOCK).list()),
    lastBackupAt: () => {
      if (!existsSync(path)) return undefined;
      return read((db) => new RunRepository(db).summary("backup").lastSuccess?.finishedAt ?? undefined);
    },
    auditChain: async () => {
      const result = await runOffThread("verifyAuditChain", path, undefined);
      const verifiedAt = Date.now();
      return result.ok
        ? { ok: true, verifiedEntries: result.checkpoint.seq, verifiedAt, fullWalkAt: verifiedAt }
        : {
            ok: false,
            verifiedEntries: result.brokenAt - 1,
            brokenAt: result.brokenAt,
            reason: result.reason,
            verifiedAt,
          };
    },
  };
}

/** Records a CLI run in the audit log, when there is a database to record it in. */
function audit(path: string, clock: Clock, entry: AuditInput): void {
  if (!existsSync(path)) return;
  const db = openDatabase({ path });
  try {
    new AuditLog(db, clock).append(entry);
  } finally {
    db.close();
  }
}

const MARK: Record<CheckResult["status"], string> = {
  ok: "ok",
  warning: "WARNING",
  critical: "CRITICAL",
  unavailable: "unavailable",
};

/** One line per check, and under each finding its evidence and what to do. */
export function formatTable(results: readonly CheckResult[]): string[] {
  const width = Math.max(...results.map((r) => MARK[r.status].length));
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`${MARK[result.status].padEnd(width)}  ${result.id}  ${result.title}`);
    const indent = " ".repeat(width + 2);
    if (result.status === "unavailable") lines.push(`${indent}  why: ${result.reason}`);
    if (result.status === "warning" || result.status === "critical") {
      for (const line of result.evidence) lines.push(`${indent}  - ${line}`);
      lines.push(`${indent}  do: ${result.recommendation}`);
    }
  }
  const counts = countStatuses(results);
  lines.push(
    "",
    `${counts.critical} critical, ${counts.warning} warning, ${counts.unavailable} unavailable, ${counts.ok} ok`,
  );
  return lines;
}
