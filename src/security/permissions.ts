import { existsSync, statSync } from "node:fs";
import { finding, ok, unavailable, type Outcome } from "./report.js";

const mode = (path: string): number => statSync(path).mode & 0o7777;
const octal = (bits: number): string => bits.toString(8).padStart(4, "0");

/** OG-FILE-001: the data folder is 0700 — others can neither list it nor reach into it. */
export function checkDataFolder(dataDir: string): Outcome {
  if (!existsSync(dataDir)) return unavailable(`${dataDir} does not exist yet`);
  const bits = mode(dataDir);
  if ((bits & 0o077) === 0) return ok(`${dataDir}: mode ${octal(bits)}`);
  return finding(bits & 0o002 ? "critical" : "warning", [`${dataDir}: mode ${octal(bits)}, expected 0700`]);
}

/**
 * OG-FILE-002: the database (with its WAL and shared memory) and every secret file are readable
 * by their owner only. Files that do not exist are listed as such, not judged.
 */
export function checkPrivateFiles(files: readonly { what: string; path: string }[]): Outcome {
  const exposed: string[] = [];
  const fine: string[] = [];
  for (const { what, path } of files) {
    if (!existsSync(path)) continue;
    const bits = mode(path);
    if (bits & 0o077) exposed.push(`${what} ${path}: mode ${octal(bits)}, expected 0600`);
    else fine.push(`${what} ${path}: mode ${octal(bits)}`);
  }
  if (exposed.length > 0) return finding("critical", exposed);
  return fine.length > 0 ? ok(...fine) : ok("none of these files exists yet");
}

/** OG-FILE-003: nothing under the given roots is writable by others (found by a worker walk). */
export function judgeWorldWritable(found: string[], roots: readonly string[]): Outcome {
  if (found.length > 0)
    return finding(
      "critical",
      found.map((path) => `writable by others: ${path}`),
    );
  return ok(`nothing writable by others under ${roots.join(", ")}`);
}

/** OG-PROC-001: root can do anything the service is tricked into doing. */
export function checkUser(uid: number | undefined): Outcome {
  if (uid === undefined) return unavailable("this platform has no user ids");
  if (uid === 0) return finding("warning", ["the process runs as root (uid 0)"]);
  return ok(`the process runs as uid ${uid}`);
}
