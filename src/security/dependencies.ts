import { join } from "node:path";
import { matchOsvSource, type OsvMatch } from "./advisories.js";
import { checkInstalled, installedPackages, readLockfile, type InstalledPackage } from "./lockfile.js";
import { unavailable, type Outcome } from "./report.js";

/** What the dependency checks read from disk: OG-DEP-001's outcome and OG-DEP-002's inputs. */
export interface DependencyFacts {
  /** OG-DEP-001. */
  installedCheck: Outcome;
  /** The installed packages, or why they could not be listed (OG-DEP-002 is then unavailable). */
  installed: { packages: InstalledPackage[] } | { unavailable: string } | { error: string };
  /** The OSV advisories matched against them, when a file or folder of them is configured. */
  osv?: OsvMatch;
}

/**
 * Reads the lockfile, npm's record of the install and the package.json of every locked package
 * (hundreds of files), and the OSV advisories: a worker task (database-checks.ts), so that none of
 * it runs on the service's event loop. Only npm audit, a child process, is left to OG-DEP-002.
 */
export function inspectDependencies(appRoot: string, osvPath: string | undefined): DependencyFacts {
  const installedCheck = checkInstalled(appRoot);
  let installed: DependencyFacts["installed"];
  try {
    const lockfile = readLockfile(appRoot);
    installed = lockfile
      ? { packages: installedPackages(appRoot, lockfile) }
      : { unavailable: `${join(appRoot, "package-lock.json")} does not exist` };
  } catch (error) {
    installed = { error: (error as Error).message };
  }
  const osv =
    osvPath !== undefined && "packages" in installed
      ? matchOsvSource(osvPath, installed.packages)
      : undefined;
  return { installedCheck, installed, osv };
}

/** OG-DEP-002 is unavailable when the installed packages could not be listed: this outcome, or undefined. */
export function listingProblem(installed: DependencyFacts["installed"]): Outcome | undefined {
  if ("unavailable" in installed) return unavailable(installed.unavailable);
  if ("error" in installed) return unavailable(`the check failed to run: ${installed.error}`);
  return undefined;
}
