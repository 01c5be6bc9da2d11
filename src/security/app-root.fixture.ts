import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { testConfig } from "../../tests/harness.js";
import type { ConfigInput } from "../config/schema.js";
import { ManualClock } from "../platform/clock.js";
import { staticContext } from "./context.js";
import type { CheckContext } from "./run-checks.js";

// Shared by the tests of the security checks; not a test file itself.

/** A fake integrity value: npm's `sha512-<base64 of 64 bytes>`, distinct per `seed`. */
export const fakeIntegrity = (seed: number): string => `sha512-${Buffer.alloc(64, seed).toString("base64")}`;

/** The packages the fixture's lockfile installs: one plain, one scoped, one for development only. */
export const FIXTURE_PACKAGES = {
  "node_modules/left-pad-fixture": {
    version: "1.2.0",
    resolved: "https://registry.npmjs.org/left-pad-fixture/-/left-pad-fixture-1.2.0.tgz",
    integrity: fakeIntegrity(1),
    license: "MIT",
  },
  "node_modules/@acme/widget": {
    version: "0.3.1",
    resolved: "https://registry.npmjs.org/@acme/widget/-/widget-0.3.1.tgz",
    integrity: fakeIntegrity(2),
    license: "MIT",
  },
  // In the lockfile, not installed: a production install leaves it out, and nothing misses it.
  "node_modules/dev-only-fixture": {
    version: "5.0.0",
    resolved: "https://registry.npmjs.org/dev-only-fixture/-/dev-only-fixture-5.0.0.tgz",
    integrity: fakeIntegrity(3),
    dev: true,
    license: "MIT",
  },
} as const;

/** The day the tests of the checks run on: Node 20 is past its end of life, 24 is not. */
export const TODAY = Date.parse("2026-12-01T12:00:00Z");

/** Writes `contents` (JSON when not a string) at `root/path`, making the folders. */
export function writeAt(root: string, path: string, contents: unknown): string {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, typeof contents === "string" ? contents : `${JSON.stringify(contents, null, 2)}\n`);
  return file;
}

/**
 * Writes an application folder as `npm ci --omit=dev && npm run build` leaves it: package.json,
 * package-lock.json (lockfileVersion 3), node_modules/ with the production packages and npm's
 * hidden lockfile (the integrity it installed each from), and dist/. Returns `root`.
 */
export function writeFixtureApp(root: string): string {
  const dependencies = { "left-pad-fixture": "^1.2.0", "@acme/widget": "^0.3.1" };
  const devDependencies = { "dev-only-fixture": "^5.0.0" };
  writeAt(root, "package.json", {
    name: "fixture-app",
    version: "1.0.0",
    type: "module",
    dependencies,
    devDependencies,
  });
  writeAt(root, "package-lock.json", {
    name: "fixture-app",
    version: "1.0.0",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "fixture-app", version: "1.0.0", dependencies, devDependencies },
      ...FIXTURE_PACKAGES,
    },
  });
  const installed = Object.fromEntries(
    Object.entries(FIXTURE_PACKAGES).filter(([, entry]) => !("dev" in entry)),
  );
  writeAt(root, "node_modules/.package-lock.json", {
    name: "fixture-app",
    version: "1.0.0",
    lockfileVersion: 3,
    requires: true,
    packages: installed,
  });
  writeAt(root, "node_modules/left-pad-fixture/package.json", { name: "left-pad-fixture", version: "1.2.0" });
  writeAt(root, "node_modules/left-pad-fixture/index.js", "module.exports = (s) => s;\n");
  writeAt(root, "node_modules/@acme/widget/package.json", { name: "@acme/widget", version: "0.3.1" });
  writeAt(root, "node_modules/@acme/widget/lib/index.js", "module.exports = 2;\n");
  writeAt(root, "dist/main.js", "export const main = 1;\n");
  writeAt(root, "dist/cli/run.js", "export const run = 2;\n");
  return root;
}

/** What {@link fixtureContext} builds a check context from. */
export interface FixtureContextOptions {
  dataDir: string;
  appRoot: string;
  config?: ConfigInput;
  configPath?: string;
  databasePath?: string;
  uid?: number | undefined;
  nodeVersion?: string;
  clock?: ManualClock;
  /** What the database sources answer; the defaults: no token, no backup, a sound chain. */
  sources?: Partial<Pick<CheckContext, "tokens" | "lastBackupAt" | "auditChain">>;
}

/**
 * A check context on a fixture application, as serve builds it, with the database sources
 * answered by the test. npm audit is off (the test config turns it off: no test asks the real
 * registry) unless the config turns it on with a loopback registry.
 */
export function fixtureContext(options: FixtureContextOptions): CheckContext {
  const clock = options.clock ?? new ManualClock(TODAY);
  const config = testConfig(options.dataDir, options.config);
  return {
    ...staticContext({
      config,
      configPath: options.configPath,
      databasePath: options.databasePath ?? join(options.dataDir, "opsguard.db"),
      env: {},
      clock,
      appRoot: options.appRoot,
      uid: "uid" in options ? options.uid : 1000,
      nodeVersion: options.nodeVersion ?? "24.14.1",
    }),
    tokens: () => [],
    lastBackupAt: () => undefined,
    auditChain: () => Promise.resolve({ ok: true, verifiedEntries: 0, verifiedAt: clock.now() }),
    ...options.sources,
  };
}
