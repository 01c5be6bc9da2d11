/**
 * Every security check opsguard runs, with a stable id (as Lynis numbers its tests): ids are never
 * reused or renumbered, so alerts, dashboards and a user's `--fail-on` scripts can rely on them.
 */
export const CHECKS = [
  {
    id: "OG-INT-001",
    category: "integrity",
    title: "The integrity baseline exists and its signature verifies",
    recommendation:
      "Run `opsguard security baseline` after an intended change; if nobody changed the baseline, treat its files as tampered with.",
  },
  {
    id: "OG-INT-002",
    category: "integrity",
    title: "Application files (built code, package.json, lockfile, installed packages) match the baseline",
    recommendation:
      "Reinstall opsguard from a trusted source (`npm ci && npm run build`, or the image); if the change was intended, run `opsguard security baseline`.",
  },
  {
    id: "OG-INT-003",
    category: "integrity",
    title: "The config file and the configured paths match the baseline",
    recommendation:
      "Review the change (who, when: the audit log and the host's records); if it was intended, run `opsguard security baseline`.",
  },
  {
    id: "OG-DEP-001",
    category: "dependencies",
    title: "Installed packages are the ones the lockfile names, with its integrity",
    recommendation: "Reinstall the dependencies from the lockfile with `npm ci`.",
  },
  {
    id: "OG-DEP-002",
    category: "dependencies",
    title: "No installed package version has a known vulnerability",
    recommendation:
      "Upgrade the affected packages to a fixed version (`npm audit fix`, or a newer opsguard), then `npm ci`.",
  },
  {
    id: "OG-DEP-003",
    category: "dependencies",
    title: "The Node.js runtime is supported and has the latest security fixes",
    recommendation: "Upgrade Node.js to the newest release of an LTS line (24 recommended).",
  },
  {
    id: "OG-DB-001",
    category: "database",
    title: "The database passes PRAGMA quick_check",
    recommendation:
      "Stop the service, keep a copy of the data folder, and restore the latest good backup (`opsguard backup restore`).",
  },
  {
    id: "OG-DB-002",
    category: "database",
    title: "The database passes PRAGMA integrity_check and foreign_key_check",
    recommendation:
      "Stop the service, keep a copy of the data folder, and restore the latest good backup (`opsguard backup restore`).",
  },
  {
    id: "OG-DB-003",
    category: "database",
    title:
      "The audit log's hash chain verifies (new entries every five minutes, the whole chain daily and on demand)",
    recommendation:
      "Treat the database as tampered with: keep a copy, find who wrote to it, compare the broken entry with a backup from before it.",
  },
  {
    id: "OG-FILE-001",
    category: "permissions",
    title: "The data folder is private to its owner (mode 0700)",
    recommendation: "chmod 700 the data folder.",
  },
  {
    id: "OG-FILE-002",
    category: "permissions",
    title: "The database, its WAL and every secret file are not readable by group or others",
    recommendation: "chmod 600 each file listed.",
  },
  {
    id: "OG-FILE-003",
    category: "permissions",
    title: "Nothing opsguard runs or reads is writable by others",
    recommendation: "chmod o-w each path listed.",
  },
  {
    id: "OG-PROC-001",
    category: "permissions",
    title: "The service does not run as root",
    recommendation:
      "Run opsguard as an unprivileged user that owns the data folder (the image runs as `node`).",
  },
  {
    id: "OG-CFG-001",
    category: "settings",
    title: "Authentication is on when the API listens beyond loopback",
    recommendation: "Set auth.enabled: true, or bind server.host to 127.0.0.1.",
  },
  {
    id: "OG-CFG-002",
    category: "settings",
    title: "/metrics is protected when the API listens beyond loopback",
    recommendation:
      "Set metrics.bearerTokenFile, and give Prometheus the token (authorization.credentials_file).",
  },
  {
    id: "OG-CFG-003",
    category: "settings",
    title: "API tokens are rotated",
    recommendation:
      "Create a new token (`opsguard token create`), move its user over, then revoke the old one (`opsguard token revoke ID`).",
  },
  {
    id: "OG-CFG-004",
    category: "settings",
    title: "Credentials never travel over plain HTTP to another host",
    recommendation:
      "Use https:// for every endpoint that gets a token or secret header, or keep it on loopback.",
  },
  {
    id: "OG-BAK-001",
    category: "settings",
    title: "Backups are scheduled and the last one is recent",
    recommendation:
      "Turn backups on (backup.enabled, backup.schedule.backup) and fix what fails: `opsguard backup run` says why.",
  },
] as const;

export type CheckId = (typeof CHECKS)[number]["id"];
export type CheckCategory = (typeof CHECKS)[number]["category"];

/** The checks the frequent, cheap schedule runs (`security.schedule.quick`). */
export const QUICK_CHECKS: readonly CheckId[] = ["OG-DB-001", "OG-DB-003"];

/** The catalog entry of `id`. */
export function describeCheck(id: CheckId): (typeof CHECKS)[number] {
  return CHECKS.find((check) => check.id === id)!;
}
