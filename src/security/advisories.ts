import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import semver from "semver";
import type { InstalledPackage } from "./lockfile.js";
import { finding, ok, unavailable, type Outcome, type Severity } from "./report.js";

/** The parts of an OSV record (https://ossf.github.io/osv-schema/) that matching needs. */
export interface OsvRecord {
  id: string;
  summary?: string;
  aliases?: string[];
  affected?: {
    package?: { ecosystem?: string; name?: string };
    versions?: string[];
    ranges?: { type: string; events: Record<string, string>[] }[];
  }[];
  database_specific?: { severity?: string };
}

/** A known vulnerability of an installed package. */
export interface Vulnerability {
  id: string;
  package: string;
  version: string;
  severity: Severity;
  summary: string;
  source: string;
}

/**
 * Reads OSV records from a file or from every `.json` file of a folder (osv-scanner's offline
 * databases are folders of them). A file holds one record, an array of them, or `{"vulns": […]}`
 * (an osv.dev query answer).
 */
export function readOsv(path: string): OsvRecord[] {
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((name) => name.endsWith(".json"))
        .sort()
        .map((name) => join(path, name))
    : [path];
  const records: OsvRecord[] = [];
  for (const file of files) {
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new Error(`${file}: not JSON: ${(error as Error).message}`);
    }
    const list = Array.isArray(value) ? value : ((value as { vulns?: unknown[] }).vulns ?? [value]);
    for (const record of list as OsvRecord[]) {
      if (typeof record?.id !== "string") throw new Error(`${file}: an OSV record without an "id"`);
      records.push(record);
    }
  }
  return records;
}

/** The version an OSV event names; "0" (introduced from the start) sorts before every version. */
const eventVersion = (event: Record<string, string>): string =>
  event.introduced ?? event.fixed ?? event.last_affected ?? event.limit ?? "0";

/**
 * Whether `version` is in one OSV range, evaluated as the OSV schema says: over the events sorted
 * by their versions (files need not list them in order), each `introduced` at or below the version
 * makes it affected, each `fixed` at or below it (or `last_affected` below it) unaffected again.
 * Throws on a version that is not semver.
 */
function inRange(version: string, events: Record<string, string>[]): boolean {
  const sorted = [...events].sort((a, b) => {
    const [x, y] = [eventVersion(a), eventVersion(b)];
    if (x === "0" || y === "0") return x === y ? 0 : x === "0" ? -1 : 1;
    return semver.compare(x, y, true);
  });
  let affected = false;
  for (const event of sorted) {
    if (event.introduced !== undefined) {
      if (event.introduced === "0" || semver.gte(version, event.introduced, true)) affected = true;
    } else if (event.fixed !== undefined) {
      if (semver.gte(version, event.fixed, true)) affected = false;
    } else if (event.last_affected !== undefined) {
      if (semver.gt(version, event.last_affected, true)) affected = false;
    }
  }
  return affected;
}

/** OSV's severities, GitHub's words: CRITICAL and HIGH are critical findings, the rest warnings. */
function severityOf(word: string | undefined): Severity {
  return /^(critical|high)$/i.test(word ?? "") ? "critical" : "warning";
}

/** The installed packages that an OSV record names as affected (npm ecosystem only). */
export function matchOsv(
  records: OsvRecord[],
  installed: InstalledPackage[],
  source: string,
  /** Receives the ids of records that could not be read (a version that is not semver): one bad record never hides the others. */
  skipped: string[] = [],
): Vulnerability[] {
  const byName = new Map<string, InstalledPackage[]>();
  for (const pkg of installed) byName.set(pkg.name, [...(byName.get(pkg.name) ?? []), pkg]);
  const found: Vulnerability[] = [];
  for (const record of records) {
    for (const affected of record.affected ?? []) {
      if (affected.package?.ecosystem !== "npm" || !affected.package.name) continue;
      for (const pkg of byName.get(affected.package.name) ?? []) {
        if (!semver.valid(pkg.version, true)) continue;
        let hit: boolean;
        try {
          hit =
            (affected.versions ?? []).includes(pkg.version) ||
            (affected.ranges ?? []).some(
              (range) =>
                (range.type === "SEMVER" || range.type === "ECOSYSTEM") && inRange(pkg.version, range.events),
            );
        } catch {
          if (!skipped.includes(record.id)) skipped.push(record.id);
          continue;
        }
        if (hit)
          found.push({
            id: record.id,
            package: pkg.name,
            version: pkg.version,
            severity: severityOf(record.database_specific?.severity),
            summary: record.summary ?? record.aliases?.join(", ") ?? "",
            source,
          });
      }
    }
  }
  return found;
}

/** What `npm audit --json` says about the lockfile of `appRoot`. */
export async function npmAudit(
  appRoot: string,
  options: { registry?: string; timeoutMs: number; npm?: string; signal?: AbortSignal },
): Promise<{ vulnerabilities: Vulnerability[] } | { unavailable: string }> {
  const args = [
    "audit",
    "--json",
    "--omit=dev",
    ...(options.registry ? ["--registry", options.registry] : []),
  ];
  let stdout: string;
  try {
    // Exit status 1 is how npm audit says it found something: read its JSON either way.
    const result = await execa(options.npm ?? "npm", args, {
      cwd: appRoot,
      timeout: options.timeoutMs,
      cancelSignal: options.signal,
      reject: false,
      env: { npm_config_update_notifier: "false", npm_config_fund: "false" },
    });
    if (result.timedOut) return { unavailable: `npm audit did not answer within ${options.timeoutMs} ms` };
    if (result.failed && result.exitCode === undefined)
      return { unavailable: `npm audit could not run: ${result.shortMessage}` };
    stdout = result.stdout;
  } catch (error) {
    return { unavailable: `npm audit could not run: ${(error as Error).message}` };
  }
  let report: {
    message?: string;
    error?: { code?: string; summary?: string };
    vulnerabilities?: Record<string, { name: string; severity: string; range?: string; via?: unknown[] }>;
  };
  try {
    report = JSON.parse(stdout) as typeof report;
  } catch {
    return { unavailable: `npm audit did not answer with JSON: ${stdout.slice(0, 200)}` };
  }
  if (report.error) {
    const why = report.error.summary || report.message || report.error.code || "it failed without saying why";
    return { unavailable: `npm audit: ${why.split("\n")[0]}` };
  }
  const vulnerabilities: Vulnerability[] = [];
  for (const entry of Object.values(report.vulnerabilities ?? {})) {
    // `via` holds the advisories themselves, or the names of the dependencies they come through.
    const advisories = (entry.via ?? []).filter(
      (via): via is { url?: string; title?: string; source?: number } =>
        typeof via === "object" && via !== null,
    );
    if (advisories.length === 0) continue; // vulnerable only through another package: listed there
    for (const advisory of advisories)
      vulnerabilities.push({
        id: advisory.url?.split("/").pop() ?? String(advisory.source ?? "npm"),
        package: entry.name,
        version: entry.range ?? "",
        severity: severityOf(entry.severity),
        summary: advisory.title ?? "",
        source: "npm audit",
      });
  }
  return { vulnerabilities };
}

/** Where OG-DEP-002 looks for advisories. */
export interface AdvisorySources {
  /** An OSV file or folder (`security.advisoriesFile`). */
  osvPath?: string;
  /** `npm audit`, when on. */
  npmAudit?: { registry?: string; timeoutMs: number; npm?: string; signal?: AbortSignal };
}

/** The installed packages against the OSV records of a file or folder, or why they could not be read. */
export type OsvMatch = { records: number; found: Vulnerability[]; skipped: string[] } | { error: string };

/**
 * Reads the OSV records at `path` and matches the installed packages against them. An offline
 * OSV database of the npm ecosystem is tens of megabytes of JSON: a worker task (see
 * dependencies.ts), never run on the service's event loop.
 */
export function matchOsvSource(path: string, installed: InstalledPackage[]): OsvMatch {
  try {
    if (!existsSync(path)) throw new Error(`${path} does not exist`);
    const records = readOsv(path);
    const skipped: string[] = [];
    const found = matchOsv(records, installed, path, skipped);
    return { records: records.length, found, skipped };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/**
 * OG-DEP-002: installed versions against every advisory source that answers. No source at all
 * answering is `unavailable`, never `ok`: not knowing is not the same as being safe. `osv` is the
 * OSV match when it was made already (in a worker thread); otherwise it is made here.
 */
export async function checkAdvisories(
  appRoot: string,
  installed: InstalledPackage[],
  sources: AdvisorySources,
  osv?: OsvMatch,
): Promise<Outcome> {
  const consulted: string[] = [];
  const failures: string[] = [];
  const found: Vulnerability[] = [];
  if (sources.osvPath) {
    const match = osv ?? matchOsvSource(sources.osvPath, installed);
    if ("error" in match) failures.push(`OSV advisories: ${match.error}`);
    else {
      found.push(...match.found);
      if (match.skipped.length > 0)
        failures.push(`OSV advisories ${match.skipped.join(", ")}: a version that is not semver, skipped`);
      consulted.push(
        `${installed.length} installed packages against ${match.records} OSV advisories in ${sources.osvPath}`,
      );
    }
  }
  if (sources.npmAudit) {
    const audit = await npmAudit(appRoot, sources.npmAudit);
    if ("unavailable" in audit) failures.push(audit.unavailable);
    else {
      // npm audit names the vulnerable range; the evidence names what is installed.
      const versions = (name: string) =>
        [...new Set(installed.filter((pkg) => pkg.name === name).map((pkg) => pkg.version))].join(", ");
      found.push(...audit.vulnerabilities.map((v) => ({ ...v, version: versions(v.package) || v.version })));
      consulted.push("npm audit of the production dependencies");
    }
  }
  if (consulted.length === 0)
    return unavailable(
      failures.length > 0
        ? `no advisory source answered: ${failures.join("; ")}`
        : "no advisory source is configured (security.advisoriesFile, security.npmAudit.enabled)",
    );
  const notes = [
    ...consulted.map((line) => `checked: ${line}`),
    ...failures.map((line) => `not checked: ${line}`),
  ];
  if (found.length === 0) return ok(...notes);
  const severity: Severity = found.some((v) => v.severity === "critical") ? "critical" : "warning";
  return finding(severity, [
    ...found.map(
      (v) =>
        `${v.id}: ${v.package}@${v.version} (${v.severity}, ${v.source})${v.summary ? ` ${v.summary}` : ""}`,
    ),
    ...notes,
  ]);
}
