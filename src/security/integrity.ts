import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeSecretFile } from "../http/tokens.js";
import { canonicalJson } from "../platform/audit.js";
import { VERSION } from "../platform/version.js";
import { runOffThread } from "../maintenance/off-thread.js";
import { fingerprintFiles, type FingerprintRoot } from "./fingerprint.js";
import { readLockfile } from "./lockfile.js";
import { finding, ok, unavailable, type Outcome } from "./report.js";

/** What the integrity baseline covers. */
export interface IntegrityScope {
  /** The folder opsguard runs from: package.json, package-lock.json, dist/, node_modules/. */
  appRoot: string;
  /** The config file in use, if any. */
  configPath?: string;
  /** More files and folders: `backup.paths` and `security.paths` (a models folder, say). */
  paths: string[];
  baselineFile: string;
  keyFile: string;
}

/** The signed record of what every covered file was. */
export interface Baseline {
  format: 1;
  createdAt: string;
  opsguardVersion: string;
  /** `app:<relative path>`, `config:<path>` or `path:<path>` → sha256 (or `symlink:<target>`). */
  files: Record<string, string>;
  /** HMAC-SHA256 of the rest, as canonical JSON, with the key in `keyFile`. */
  signature: string;
}

/** What a baseline was found to be. */
export type BaselineState =
  { state: "trusted"; baseline: Baseline } | { state: "missing" } | { state: "untrusted"; why: string };

/**
 * The roots the application is made of: its built code, package.json, the lockfile, and each
 * production package the lockfile installs. Development packages are left out: a production
 * install does not have them.
 */
export function applicationRoots(appRoot: string): FingerprintRoot[] {
  const roots: FingerprintRoot[] = ["package.json", "package-lock.json", "dist"].map((name) => ({
    label: "app",
    path: join(appRoot, name),
    relativeTo: appRoot,
  }));
  const lockfile = readLockfile(appRoot);
  for (const [key, entry] of Object.entries(lockfile?.packages ?? {})) {
    // Nested packages (node_modules/a/node_modules/b) are inside their parent's folder.
    if (!key.startsWith("node_modules/") || key.includes("/node_modules/", 1) || entry.dev) continue;
    roots.push({ label: "app", path: join(appRoot, key), relativeTo: appRoot });
  }
  return roots;
}

function scopeRoots(scope: IntegrityScope): FingerprintRoot[] {
  return [
    ...applicationRoots(scope.appRoot),
    ...(scope.configPath ? [{ label: "config", path: resolve(scope.configPath) }] : []),
    ...scope.paths.map((path) => ({ label: "path", path: resolve(path) })),
  ];
}

/** Fingerprints everything in scope, in a worker thread. */
export function fingerprintScope(scope: IntegrityScope): Promise<Record<string, string>> {
  return runOffThread("fingerprintFiles", scopeRoots(scope));
}

/**
 * Records the baseline of everything in scope now, signed with the key (created, 0600, on first
 * use). The file is replaced in one rename, so a reader never sees half of it.
 */
export async function recordBaseline(scope: IntegrityScope, now: number): Promise<Baseline> {
  const files = await fingerprintScope(scope);
  if (!existsSync(scope.keyFile)) writeSecretFile(scope.keyFile, `${randomBytes(32).toString("hex")}\n`);
  const body = {
    format: 1 as const,
    createdAt: new Date(now).toISOString(),
    opsguardVersion: VERSION,
    files,
  };
  const baseline: Baseline = { ...body, signature: sign(body, readKey(scope.keyFile)) };
  const temporary = `${scope.baselineFile}.${process.pid}.tmp`;
  writeSecretFile(temporary, `${JSON.stringify(baseline, null, 1)}\n`);
  renameSync(temporary, scope.baselineFile);
  return baseline;
}

/** Reads the baseline and verifies its signature. */
export function readBaseline(scope: IntegrityScope): BaselineState {
  if (!existsSync(scope.baselineFile)) return { state: "missing" };
  let baseline: Baseline;
  try {
    baseline = JSON.parse(readFileSync(scope.baselineFile, "utf8")) as Baseline;
  } catch (error) {
    return { state: "untrusted", why: `${scope.baselineFile} cannot be read: ${(error as Error).message}` };
  }
  if (baseline?.format !== 1 || typeof baseline.files !== "object" || typeof baseline.signature !== "string")
    return { state: "untrusted", why: `${scope.baselineFile} is not an opsguard baseline` };
  let key: Buffer;
  try {
    key = readKey(scope.keyFile);
  } catch (error) {
    return { state: "untrusted", why: `the baseline key cannot be read: ${(error as Error).message}` };
  }
  const { signature, ...body } = baseline;
  const expected = Buffer.from(sign(body, key), "hex");
  const given = Buffer.from(signature, "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return {
      state: "untrusted",
      why: `${scope.baselineFile}: the signature does not match its contents (edited without the key in ${scope.keyFile})`,
    };
  return { state: "trusted", baseline };
}

/** OG-INT-001: the baseline's own state. */
export function judgeBaseline(state: BaselineState, scope: IntegrityScope): Outcome {
  switch (state.state) {
    case "trusted":
      return ok(
        `${scope.baselineFile}: ${Object.keys(state.baseline.files).length} files, recorded ${state.baseline.createdAt} by opsguard ${state.baseline.opsguardVersion}, signature verified`,
      );
    case "missing":
      return finding(
        "warning",
        [`${scope.baselineFile} does not exist: nothing to compare the files with`],
        "Run `opsguard security baseline` (serve records one at its first start).",
      );
    case "untrusted":
      return finding("critical", [state.why]);
  }
}

/** What changed between two fingerprints, among the entries whose label is one of `labels`. */
export function compareFiles(
  baseline: Record<string, string>,
  current: Record<string, string>,
  labels: readonly string[],
): { changed: string[]; added: string[]; removed: string[]; compared: number } {
  const inScope = (key: string) => labels.includes(key.slice(0, key.indexOf(":")));
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  let compared = 0;
  for (const [key, hash] of Object.entries(current)) {
    if (!inScope(key)) continue;
    compared++;
    const before = baseline[key];
    if (before === undefined) added.push(key);
    else if (before !== hash) changed.push(key);
  }
  for (const key of Object.keys(baseline)) if (inScope(key) && !(key in current)) removed.push(key);
  return { changed, added, removed, compared };
}

/** OG-INT-002 and OG-INT-003, from one fingerprint. */
export interface FileComparison {
  app: Outcome;
  configAndPaths: Outcome;
}

/**
 * OG-INT-001: reads the baseline and verifies its signature. Parsing the baseline and writing it
 * again as canonical JSON to verify it take tens of milliseconds for ten thousand files: a worker
 * task (database-checks.ts), never run on the service's event loop.
 */
export function inspectBaseline(scope: IntegrityScope): Outcome {
  return judgeBaseline(readBaseline(scope), scope);
}

/**
 * OG-INT-002 and OG-INT-003: reads and verifies the baseline, fingerprints everything in scope
 * (only when the baseline is trusted) and compares. A worker task: the fingerprint of a production
 * install has ten thousand entries, and only the two outcomes come back to the event loop.
 */
export function compareWithBaseline(scope: IntegrityScope): FileComparison {
  const state = readBaseline(scope);
  const current = state.state === "trusted" ? fingerprintFiles(scopeRoots(scope)) : {};
  return {
    app: judgeFiles(state, current, ["app"]),
    configAndPaths: judgeFiles(state, current, ["config", "path"]),
  };
}

/** OG-INT-002 and OG-INT-003: the files against a trusted baseline. */
export function judgeFiles(
  state: BaselineState,
  current: Record<string, string>,
  labels: readonly string[],
): Outcome {
  if (state.state !== "trusted")
    return unavailable(
      state.state === "missing"
        ? "no baseline has been recorded"
        : "the baseline is not trusted (OG-INT-001)",
    );
  const { changed, added, removed, compared } = compareFiles(state.baseline.files, current, labels);
  if (changed.length + added.length + removed.length === 0)
    return ok(
      `${compared} ${compared === 1 ? "file matches" : "files match"} the baseline of ${state.baseline.createdAt}`,
    );
  return finding("critical", [
    ...changed.map((key) => `changed: ${key}`),
    ...added.map((key) => `added: ${key}`),
    ...removed.map((key) => `removed: ${key}`),
  ]);
}

function sign(body: Omit<Baseline, "signature">, key: Buffer): string {
  return createHmac("sha256", key).update(canonicalJson(body)).digest("hex");
}

function readKey(path: string): Buffer {
  const text = readFileSync(path, "utf8").trim();
  if (text.length < 32) throw new Error(`${path}: a key of at least 32 characters is needed`);
  return Buffer.from(text);
}

/** The folder the baseline and its key go in by default. */
export function securityDir(dataDir: string): string {
  return join(dataDir, "security");
}
