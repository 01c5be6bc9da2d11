import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { buildDashboard } from "./frame.js";
import { UNITS, statPanel, tablePanel, thresholds, timeSeries, valueMappings } from "./panels.js";
import { increaseOverRange, series, sumBy } from "./promql.js";
import { prom } from "./queries.js";

/** Age of the last success of a kind of run, in seconds: `time() - <prefix>_last_success_…`. */
const age = (prefix: string): string => `time() - max(${series(`${prefix}_last_success_timestamp_seconds`)})`;

const SUCCESS_MAPPINGS = (): dashboard.ValueMapping[] =>
  valueMappings({ 0: ["failed", "red"], 1: ["succeeded", "green"] });

/** The stat panels of one kind of run: how long ago it last succeeded, and how the last one went. */
function lastRunStats(prefix: string, what: string, warnAfter: number, alertAfter: number) {
  return [
    statPanel(
      {
        title: `Last successful ${what}`,
        description: `Time since the last successful ${what} finished. Very large when there has been none.`,
        unit: UNITS.seconds,
      },
      [prom(age(prefix))],
      { thresholds: thresholds(["green", null], ["orange", warnAfter], ["red", alertAfter]) },
    ),
    statPanel(
      { title: `Last ${what}`, description: `How the last ${what} ended.`, unit: UNITS.none },
      [prom(`min(${series(`${prefix}_last_run_success`)})`)],
      { mappings: SUCCESS_MAPPINGS(), thresholds: thresholds(["red", null], ["green", 1]) },
    ),
    statPanel(
      {
        title: `${what[0]!.toUpperCase()}${what.slice(1)}s in range`,
        description: `${what}s finished in the dashboard's range, by result.`,
        unit: UNITS.count,
      },
      [prom(sumBy(["result"], increaseOverRange(`${prefix}_runs_total`)), "{{result}}", { instant: true })],
      { thresholds: thresholds(["blue", null]) },
    ),
  ];
}

/** opsguard-maintenance: backups, restore drills and repository checks. */
export function maintenanceDashboard(): dashboard.Dashboard {
  return buildDashboard({
    uid: "opsguard-maintenance",
    title: "opsguard / Maintenance",
    description:
      "Backups with restic: how old the last good one is, how they went, their sizes; restore drills that prove a snapshot restores; repository checks; security checks and the audit chain.",
    variables: ["instance"],
    rows: [
      {
        title: "Backups",
        panels: [
          ...lastRunStats("opsguard_backup", "backup", 2 * 3600, 3 * 3600),
          statPanel(
            {
              title: "Snapshots",
              description: "This instance's snapshots in the repository after the last backup's retention.",
              unit: UNITS.count,
            },
            [prom(`max(${series("opsguard_backup_snapshots")})`)],
            { thresholds: thresholds(["blue", null]) },
          ),
          timeSeries(
            {
              title: "Backup age",
              description:
                "Time since the last successful backup. It drops at each success; the alert OpsguardBackupTooOld fires above 3 hours.",
              unit: UNITS.seconds,
            },
            [prom(age("opsguard_backup"), "age")],
          ),
          timeSeries(
            {
              title: "Backup size",
              description:
                "What the last successful backup read (processed) and what it added to the repository after deduplication.",
              unit: UNITS.bytes,
            },
            [
              prom(`max(${series("opsguard_backup_last_bytes_processed")})`, "processed"),
              prom(`max(${series("opsguard_backup_last_bytes_added")})`, "added"),
            ],
          ),
          timeSeries(
            {
              title: "Backup duration",
              description: "How long the last backup took, from the copy of the database to the retention.",
              unit: UNITS.seconds,
            },
            [prom(`max(${series("opsguard_backup_last_duration_seconds")})`, "duration")],
          ),
          timeSeries(
            {
              title: "Files backed up",
              description:
                "Files in the last successful backup: the database copy, the config, the manifest and `backup.paths`.",
              unit: UNITS.count,
            },
            [prom(`max(${series("opsguard_backup_last_files")})`, "files")],
          ),
        ],
      },
      {
        title: "Restore drills",
        panels: [
          ...lastRunStats("opsguard_restore_drill", "drill", 26 * 3600, 48 * 3600),
          timeSeries(
            {
              title: "Drill age",
              description:
                "Time since the last successful restore drill; OpsguardRestoreDrillTooOld fires above two days.",
              unit: UNITS.seconds,
            },
            [prom(age("opsguard_restore_drill"), "age")],
          ),
          timeSeries(
            {
              title: "Drill duration",
              description: "How long the last drill took: restore, then every check against the manifest.",
              unit: UNITS.seconds,
            },
            [prom(`max(${series("opsguard_restore_drill_last_duration_seconds")})`, "duration")],
          ),
        ],
      },
      {
        title: "Repository checks",
        panels: [
          ...lastRunStats("opsguard_backup_check", "check", 8 * 86400, 15 * 86400),
          statPanel(
            {
              title: "Check errors",
              description:
                "Errors the last `restic check` reported; OpsguardBackupCheckErrors fires above 0.",
              unit: UNITS.count,
            },
            [prom(`max(${series("opsguard_backup_check_last_errors")})`)],
            { thresholds: thresholds(["green", null], ["red", 1]) },
          ),
        ],
      },
      {
        title: "Security checks",
        panels: [
          statPanel(
            {
              title: "Critical findings",
              description:
                "Security checks whose last result is critical. OpsguardIntegrityViolation pages for integrity, OpsguardSecurityFindingCritical fires for the rest.",
              unit: UNITS.count,
            },
            [prom(`max(${series("opsguard_security_findings", 'severity="critical"')})`)],
            { thresholds: thresholds(["green", null], ["red", 1]) },
          ),
          statPanel(
            {
              title: "Warnings",
              description: "Security checks whose last result is a warning.",
              unit: UNITS.count,
            },
            [prom(`max(${series("opsguard_security_findings", 'severity="warning"')})`)],
            { thresholds: thresholds(["green", null], ["orange", 1]) },
          ),
          statPanel(
            {
              title: "Last security check",
              description:
                "Time since every check last ran (hourly by default); OpsguardSecurityChecksNotRun fires after three hours.",
              unit: UNITS.seconds,
            },
            [prom(`time() - max(${series("opsguard_security_check_last_run_timestamp_seconds")})`)],
            { thresholds: thresholds(["green", null], ["orange", 2 * 3600], ["red", 3 * 3600]) },
          ),
          tablePanel(
            {
              title: "Checks that are not ok",
              description:
                "Each check whose last result is a warning, critical or unavailable (it could not run). `opsguard security check` or GET /v1/security-checks/latest gives the evidence and what to do.",
              unit: UNITS.none,
              width: 12,
            },
            [
              prom(
                `max by (check, status) (${series("opsguard_security_check_status", 'status!="ok"')}) == 1`,
                undefined,
                { instant: true, table: true },
              ),
            ],
            { hide: ["Value"] },
          ),
        ],
      },
      {
        title: "Audit log",
        panels: [
          statPanel(
            {
              title: "Audit chain",
              description:
                "Whether the audit log's hash chain verified at the last check; OpsguardAuditChainBroken pages when it breaks.",
              unit: UNITS.none,
            },
            [prom(`min(${series("opsguard_audit_chain_ok")})`)],
            {
              mappings: valueMappings({ 0: ["broken", "red"], 1: ["verifies", "green"] }),
              thresholds: thresholds(["red", null], ["green", 1]),
            },
          ),
          statPanel(
            {
              title: "Entries verified",
              description: "Audit entries the chain verification has covered, from the first one.",
              unit: UNITS.count,
            },
            [prom(`max(${series("opsguard_audit_chain_verified_entries")})`)],
            { thresholds: thresholds(["blue", null]) },
          ),
          statPanel(
            {
              title: "Last chain verification",
              description: "Time since the audit chain was last verified (every five minutes by default).",
              unit: UNITS.seconds,
            },
            [prom(`time() - max(${series("opsguard_audit_chain_last_verified_timestamp_seconds")})`)],
            { thresholds: thresholds(["green", null], ["orange", 900], ["red", 3600]) },
          ),
        ],
      },
    ],
  });
}
