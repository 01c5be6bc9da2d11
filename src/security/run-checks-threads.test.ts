import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { countTurns, tempDir } from "../../tests/harness.js";
import type { TaskName } from "../maintenance/database-checks.js";
import type * as OffThread from "../maintenance/off-thread.js";
import { fixtureContext, writeFixtureApp } from "./app-root.fixture.js";
import { recordBaseline } from "./integrity.js";
import { runChecks, type CheckContext } from "./run-checks.js";

// What a run of the checks leaves to worker threads and what it does on the event loop: the
// service keeps answering while the checks run only if the reading is done elsewhere.

const tasks = vi.hoisted(() => [] as string[]);
vi.mock("../maintenance/off-thread.js", async (importOriginal) => {
  const real = await importOriginal<typeof OffThread>();
  return {
    ...real,
    runOffThread: (task: TaskName, ...args: unknown[]) => {
      tasks.push(task);
      return (real.runOffThread as (task: TaskName, ...args: unknown[]) => Promise<unknown>)(task, ...args);
    },
  };
});

describe("runChecks, on and off the event loop", () => {
  let dir: string;
  let context: CheckContext;
  beforeAll(async () => {
    dir = tempDir("opsguard-run-checks-threads-");
    const osv = join(dir, "osv.json");
    writeFileSync(osv, "[]");
    context = fixtureContext({
      dataDir: dir,
      appRoot: writeFixtureApp(join(dir, "app")),
      config: { security: { advisoriesFile: osv } },
    });
    await recordBaseline(context.integrity, 0);
  });
  beforeEach(() => tasks.splice(0));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the baseline, the installed packages and the advisories in worker threads, each once per run", async () => {
    const results = await runChecks(context, [
      "OG-INT-001",
      "OG-INT-002",
      "OG-INT-003",
      "OG-DEP-001",
      "OG-DEP-002",
    ]);
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ["OG-INT-001", "ok"],
      ["OG-INT-002", "ok"],
      ["OG-INT-003", "ok"],
      ["OG-DEP-001", "ok"],
      ["OG-DEP-002", "ok"],
    ]);
    expect(results[4]!.evidence).toEqual([
      `checked: 2 installed packages against 0 OSV advisories in ${join(dir, "osv.json")}`,
    ]);
    expect(tasks.sort()).toEqual(["compareWithBaseline", "inspectBaseline", "inspectDependencies"]);
  });

  it("reads nothing it does not need: the settings checks start no worker", async () => {
    await runChecks(context, ["OG-CFG-001", "OG-CFG-002", "OG-PROC-001"]);
    expect(tasks).toEqual([]);
  });

  it("gives the event loop a turn after each check, even when every check answers at once", async () => {
    const loop = countTurns();
    const ids = [
      "OG-PROC-001",
      "OG-CFG-001",
      "OG-CFG-002",
      "OG-CFG-003",
      "OG-CFG-004",
      "OG-BAK-001",
    ] as const;
    await runChecks(context, ids);
    loop.stop();
    expect(loop.turns).toBeGreaterThanOrEqual(ids.length - 1);
  });
});
