/**
 * Which Node.js versions opsguard supports, judged against the official release schedule
 * (https://github.com/nodejs/Release): a release line past its end of life gets no more security
 * fixes, so running a risk-bearing service on it is a problem.
 */

/**
 * The release lines opsguard knows, with their end-of-life dates. Add a line here once the suite
 * has run on it; a newer major that is missing is reported as untested.
 */
export const NODE_RELEASES: readonly { major: number; endOfLife: string }[] = [
  { major: 18, endOfLife: "2025-04-30" },
  { major: 20, endOfLife: "2026-04-30" },
  { major: 22, endOfLife: "2027-04-30" },
  { major: 24, endOfLife: "2028-04-30" },
];

/**
 * The Node.js security releases opsguard knows of (https://nodejs.org/en/blog/vulnerability), with
 * the first version of each release line that carries the fixes. A version older than that on its
 * line has known, published vulnerabilities. Add each new security release here.
 */
export const NODE_SECURITY_RELEASES: readonly { date: string; fixedIn: Readonly<Record<number, string>> }[] =
  [{ date: "2026-03-24", fixedIn: { 20: "20.20.2", 22: "22.22.2", 24: "24.14.1" } }];

/** The oldest major opsguard runs on; keep in step with `engines.node` in package.json. */
export const MIN_NODE_MAJOR = 22;

/** The major that CI tests on and the Docker image ships; what every finding recommends. */
export const RECOMMENDED_NODE_MAJOR = 24;

/**
 * The last odd major of the old schedule. Up to it, odd majors were never LTS and lived for
 * months only; from Node 27 on every major becomes LTS, so parity no longer says anything.
 */
const LAST_ODD_CURRENT_MAJOR = 25;

export interface NodeFinding {
  /** A problem fails `opsguard check`; a warning is printed and the check passes. */
  severity: "problem" | "warning";
  message: string;
}

/**
 * Judges the Node.js `version` (as in `process.versions.node`) at the time `now` (milliseconds
 * since the epoch). Returns nothing when the version is supported.
 */
export function judgeNodeVersion(version: string, now: number): NodeFinding | undefined {
  const todo = `upgrade to Node ${RECOMMENDED_NODE_MAJOR} LTS`;
  const match = /^v?(\d+)\./.exec(version);
  if (!match) return { severity: "problem", message: `node ${version}: not a Node.js version; ${todo}` };
  const major = Number(match[1]);
  const release = NODE_RELEASES.find((r) => r.major === major);

  if (release && now >= Date.parse(`${release.endOfLife}T00:00:00Z`)) {
    return {
      severity: "problem",
      message: `node ${version}: Node.js ${major} reached end of life on ${release.endOfLife} and gets no security fixes; ${todo}`,
    };
  }
  if (!release && major % 2 === 1 && major <= LAST_ODD_CURRENT_MAJOR) {
    return {
      severity: "problem",
      message: `node ${version}: Node.js ${major} is an odd-numbered line (never LTS, supported for months only), which opsguard does not support; ${todo}`,
    };
  }
  if (major < MIN_NODE_MAJOR) {
    const endOfLife = release ? ` (Node.js ${major} reaches end of life on ${release.endOfLife})` : "";
    return {
      severity: "problem",
      message: `node ${version}: opsguard needs Node.js ${MIN_NODE_MAJOR} or later${endOfLife}; ${todo}`,
    };
  }
  if (!release) {
    // Newer than every line in the table: it may well work, but nobody has run the suite on it.
    return {
      severity: "warning",
      message: `node ${version}: opsguard is not tested with Node ${major}; if anything misbehaves, use Node ${RECOMMENDED_NODE_MAJOR} LTS`,
    };
  }
  return undefined;
}

/**
 * The latest security release that `version` lacks: its line got a fix in a later version.
 * Undefined when the version has every fix opsguard knows of, or its line is not in the table.
 */
export function missingSecurityRelease(version: string): { date: string; fixedIn: string } | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return undefined;
  const [major, minor, patch] = match.slice(1).map(Number) as [number, number, number];
  for (const release of [...NODE_SECURITY_RELEASES].sort((a, b) => b.date.localeCompare(a.date))) {
    const fixed = release.fixedIn[major];
    if (!fixed) continue;
    const [, fMinor, fPatch] = fixed.split(".").map(Number) as [number, number, number];
    if (minor < fMinor || (minor === fMinor && patch < fPatch)) return { date: release.date, fixedIn: fixed };
    return undefined;
  }
  return undefined;
}
