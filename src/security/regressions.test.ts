import { describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { checkAdvisories, matchOsv } from "./advisories.js";
import { fixtureContext } from "./app-root.fixture.js";
import { runChecks } from "./run-checks.js";
import { isLoopback } from "./settings.js";

const pkg = { key: "node_modules/lib", name: "lib", version: "3.1.0" };
const record = (id: string, events: Record<string, string>[]) => ({
  id,
  affected: [{ package: { ecosystem: "npm", name: "lib" }, ranges: [{ type: "SEMVER", events }] }],
});

describe("found in review", () => {
  it("evaluates an OSV range over its events sorted by version, as the schema says", () => {
    // [1.0.0, 1.0.2) or [3.0.0, 3.2.5): 3.1.0 is affected, whatever order the file lists them in.
    const sorted: Record<string, string>[] = [
      { introduced: "1.0.0" },
      { fixed: "1.0.2" },
      { introduced: "3.0.0" },
      { fixed: "3.2.5" },
    ];
    const unsorted: Record<string, string>[] = [
      { introduced: "3.0.0" },
      { fixed: "3.2.5" },
      { introduced: "1.0.0" },
      { fixed: "1.0.2" },
    ];
    expect(matchOsv([record("GHSA-a", sorted)], [pkg], "f")).toHaveLength(1);
    expect(matchOsv([record("GHSA-a", unsorted)], [pkg], "f")).toHaveLength(1);
  });

  it("skips an OSV record with a version that is not semver, and still matches the others", async () => {
    const bad = record("GHSA-bad", [{ introduced: "0" }, { fixed: "3.2" }]);
    const good = record("GHSA-good", [{ introduced: "3.0.0" }, { fixed: "3.2.5" }]);
    const skipped: string[] = [];
    expect(matchOsv([bad, good], [pkg], "f", skipped).map((v) => v.id)).toEqual(["GHSA-good"]);
    expect(skipped).toEqual(["GHSA-bad"]);

    const dir = tempDir();
    const file = `${dir}/osv.json`;
    const { writeFileSync } = await import("node:fs");
    writeFileSync(file, JSON.stringify([bad, good]));
    const outcome = await checkAdvisories(dir, [pkg], { osvPath: file });
    expect(outcome.status).toBe("warning");
    expect(outcome.evidence).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^GHSA-good: lib@3\.1\.0/),
        expect.stringMatching(/GHSA-bad: a version that is not semver, skipped/),
      ]),
    );
  });

  it("takes only 127.0.0.0/8 literals for loopback, not a name that starts with 127.", () => {
    expect(isLoopback("127.0.0.1.attacker.example")).toBe(false);
    expect(isLoopback("127.12.0.1")).toBe(true);
  });

  it("says what it saw when an ok check had nothing to judge", async () => {
    const dir = tempDir();
    const results = await runChecks(fixtureContext({ dataDir: dir, appRoot: dir }), [
      "OG-FILE-002",
      "OG-CFG-004",
    ]);
    for (const result of results) expect(result.evidence.length).toBeGreaterThan(0);
  });
});
