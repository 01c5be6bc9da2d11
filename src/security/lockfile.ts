import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import semver from "semver";
import { finding, ok, unavailable, type Outcome } from "./report.js";

/** One entry of a package-lock.json (lockfileVersion 2 or 3) `packages` map. */
export interface LockedPackage {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  link?: boolean;
  name?: string;
}

export interface Lockfile {
  lockfileVersion: number;
  packages: Record<string, LockedPackage>;
}

/** The lockfile at `<root>/package-lock.json` (or npm's hidden one), or undefined when absent. */
export function readLockfile(root: string, file = "package-lock.json"): Lockfile | undefined {
  const path = join(root, file);
  if (!existsSync(path)) return undefined;
  const lockfile = JSON.parse(readFileSync(path, "utf8")) as Lockfile;
  if (typeof lockfile.packages !== "object" || lockfile.packages === null)
    throw new Error(
      `${path}: no "packages" map (lockfileVersion ${lockfile.lockfileVersion}; npm 7 or later writes it)`,
    );
  return lockfile;
}

/** The package name of a lockfile key: `node_modules/a/node_modules/@s/b` → `@s/b`. */
export function packageName(key: string): string {
  return key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
}

/** An installed package: where, which name and version. */
export interface InstalledPackage {
  key: string;
  name: string;
  version: string;
}

/** Every package of the lockfile that is on disk, with the version its package.json says. */
export function installedPackages(appRoot: string, lockfile: Lockfile): InstalledPackage[] {
  const installed: InstalledPackage[] = [];
  for (const [key, entry] of Object.entries(lockfile.packages)) {
    if (!key.startsWith("node_modules/") || entry.link) continue;
    const manifest = join(appRoot, key, "package.json");
    if (!existsSync(manifest)) continue;
    const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version?: string };
    installed.push({ key, name: entry.name ?? packageName(key), version: version ?? "" });
  }
  return installed;
}

/**
 * OG-DEP-001: every installed package is the one the lockfile names. Offline: the version in each
 * installed package.json against the lockfile's; the `integrity` npm recorded when it installed
 * the package (node_modules/.package-lock.json) against the lockfile's; a package the lockfile
 * needs in production that is missing; a package in node_modules the lockfile does not know.
 * The files inside each package are covered by the integrity baseline (OG-INT-002).
 */
export function checkInstalled(appRoot: string): Outcome {
  let lockfile: Lockfile | undefined;
  let hidden: Lockfile | undefined;
  try {
    lockfile = readLockfile(appRoot);
    hidden = readLockfile(join(appRoot, "node_modules"), ".package-lock.json");
  } catch (error) {
    return finding("critical", [(error as Error).message]);
  }
  if (!lockfile) return unavailable(`${join(appRoot, "package-lock.json")} does not exist`);
  if (!existsSync(join(appRoot, "node_modules")))
    return unavailable(`${join(appRoot, "node_modules")} does not exist`);

  const critical: string[] = [];
  const warnings: string[] = [];
  let checked = 0;
  for (const [key, entry] of Object.entries(lockfile.packages)) {
    if (!key.startsWith("node_modules/") || entry.link) continue;
    const manifest = join(appRoot, key, "package.json");
    if (!existsSync(manifest)) {
      if (!entry.dev && !entry.optional && !entry.devOptional)
        critical.push(`missing: ${key}@${entry.version}`);
      continue;
    }
    checked++;
    let version: string | undefined;
    try {
      version = (JSON.parse(readFileSync(manifest, "utf8")) as { version?: string }).version;
    } catch (error) {
      critical.push(`unreadable: ${manifest}: ${(error as Error).message}`);
      continue;
    }
    if (!sameVersion(version, entry.version))
      critical.push(`version: ${key} is ${version}, the lockfile says ${entry.version}`);
    const recorded = hidden?.packages[key]?.integrity;
    if (hidden && entry.integrity && recorded !== entry.integrity)
      critical.push(
        `integrity: ${key} was installed from ${recorded ?? "an unknown tarball"}, the lockfile says ${entry.integrity}`,
      );
  }
  for (const key of topLevelPackages(join(appRoot, "node_modules")))
    if (!(key in lockfile.packages)) warnings.push(`extraneous: ${key} is installed but not in the lockfile`);

  const evidence = [...critical, ...warnings];
  if (critical.length > 0) return finding("critical", evidence);
  if (warnings.length > 0) return finding("warning", evidence);
  return ok(
    `${checked} installed packages match package-lock.json` +
      (hidden
        ? ", with the integrity npm recorded at install"
        : " (no node_modules/.package-lock.json: versions only)"),
  );
}

/** Versions as npm compares them: `v0.0.21` in a package.json is the lockfile's `0.0.21`. */
function sameVersion(installed: string | undefined, locked: string | undefined): boolean {
  if (installed === locked) return true;
  if (!installed || !locked) return false;
  const a = semver.valid(installed, true);
  return a !== null && a === semver.valid(locked, true);
}

/** `node_modules/<name>` and `node_modules/@scope/<name>` for each folder installed at the top. */
function topLevelPackages(nodeModules: string): string[] {
  const keys: string[] = [];
  for (const name of readdirSync(nodeModules)) {
    if (name.startsWith(".")) continue;
    if (name.startsWith("@")) {
      for (const inner of readdirSync(join(nodeModules, name))) keys.push(`node_modules/${name}/${inner}`);
    } else keys.push(`node_modules/${name}`);
  }
  return keys;
}
