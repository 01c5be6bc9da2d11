import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { analyzeLogs } from "./analyze.js";
import { parseLogLine, type LogEntry } from "./log-line.js";

const FROM = Date.parse("2026-01-05T12:00:00.000Z");
const TO = Date.parse("2026-01-05T12:10:00.000Z");

/** An entry as a source yields it, from the fields of a JSON line. */
function entry(at: string, level: string, event: string | undefined, msg: string, more = {}): LogEntry {
  return parseLogLine(
    JSON.stringify({ timestamp: at, level, msg, event, service: "opsguard", env: "test", ...more }),
  );
}

const REFUSED = { err: { name: "ExecutorError", message: "connect ECONNREFUSED 10.0.0.1:8443" } };

/** Ten minutes: 4 info, 3 warn, 2 error, 1 debug, 1 verbose; one line at `to`, two unparseable. */
const current: LogEntry[] = [
  entry("2026-01-05T12:00:00.000Z", "info", "operation.opened", "operation opened", {
    operationId: "01KE6SMQ64HVTP5AEAJGNE0EMS",
  }),
  entry("2026-01-05T12:01:00.000Z", "warn", "risk.rejected", "operation rejected by risk checks", {
    codes: ["RATE_LIMITED"],
  }),
  entry("2026-01-05T12:02:00.000Z", "info", "operation.opened", "operation opened"),
  entry("2026-01-05T12:03:00.000Z", "error", "operation.failed", "operation failed to submit", {
    trace_id: "0af7651916cd43dd8448eb211c80319c",
    ...REFUSED,
  }),
  entry("2026-01-05T12:04:00.000Z", "warn", "risk.rejected", "operation rejected by risk checks", {
    codes: ["RATE_LIMITED"],
  }),
  entry("2026-01-05T12:05:00.000Z", "debug", "supervisor.tick", "supervisor tick"),
  entry("2026-01-05T12:06:00.000Z", "info", "operation.opened", "operation opened"),
  { kind: "unparseable", problem: "not_json" },
  entry("2026-01-05T12:07:00.000Z", "error", "operation.failed", "operation failed to submit", REFUSED),
  entry("2026-01-05T12:08:00.000Z", "verbose", undefined, "cache warmed"),
  entry("2026-01-05T12:09:00.000Z", "warn", "risk.rejected", "operation rejected by risk checks", {
    codes: ["RATE_LIMITED"],
  }),
  entry("2026-01-05T12:09:59.999Z", "info", "operation.opened", "operation opened"),
  entry("2026-01-05T12:10:00.000Z", "error", "operation.failed", "outside: the window ends before this"),
  { kind: "unparseable", problem: "no_timestamp" },
];

/** The ten minutes before: 4 info, 1 warn, 2 error. */
const previous: LogEntry[] = [
  entry("2026-01-05T11:50:00.000Z", "info", "operation.opened", "operation opened"),
  entry("2026-01-05T11:51:00.000Z", "error", "backup.failed", "backup failed: restic exited with code 1"),
  entry("2026-01-05T11:52:00.000Z", "info", "operation.opened", "operation opened"),
  entry("2026-01-05T11:53:00.000Z", "warn", "risk.rejected", "operation rejected by risk checks", {
    codes: ["RATE_LIMITED"],
  }),
  entry("2026-01-05T11:54:00.000Z", "info", "operation.opened", "operation opened"),
  entry("2026-01-05T11:55:00.000Z", "error", "backup.failed", "backup failed: restic exited with code 3"),
  entry("2026-01-05T11:59:59.999Z", "info", "operation.opened", "operation opened"),
];

describe("the log report of a window against the one before", () => {
  it("counts lines, levels, shares and rates per minute", async () => {
    const report = await analyzeLogs(current, previous, { from: FROM, to: TO });
    expect(report.window).toEqual({
      from: "2026-01-05T12:00:00.000Z",
      to: "2026-01-05T12:10:00.000Z",
      minutes: 10,
    });
    expect(report.previousWindow).toEqual({
      from: "2026-01-05T11:50:00.000Z",
      to: "2026-01-05T12:00:00.000Z",
      minutes: 10,
      lines: 7,
      errors: 2,
      warnings: 1,
      unparseable: 0,
    });
    expect(report.lines).toBe(11);
    expect(report.outsideWindow).toBe(1);
    expect(report.unparseable).toEqual({
      total: 2,
      byProblem: { not_json: 1, no_timestamp: 1, truncated: 0 },
    });
    expect(report.levels).toEqual([
      { level: "error", count: 2, share: 0.1818 },
      { level: "warn", count: 3, share: 0.2727 },
      { level: "info", count: 4, share: 0.3636 },
      { level: "debug", count: 1, share: 0.0909 },
      { level: "verbose", count: 1, share: 0.0909 },
    ]);
    expect(report.rates).toEqual({
      errorsPerMinute: 0.2,
      warningsPerMinute: 0.3,
      previousErrorsPerMinute: 0.2,
      previousWarningsPerMinute: 0.1,
    });
  });

  it("lists top events with their level mix, most lines first, then by name", async () => {
    const report = await analyzeLogs(current, previous, { from: FROM, to: TO, topEvents: 4 });
    expect(report.topEvents).toEqual([
      { event: "operation.opened", count: 4, share: 0.3636, levels: { info: 4 } },
      { event: "risk.rejected", count: 3, share: 0.2727, levels: { warn: 3 } },
      { event: "operation.failed", count: 2, share: 0.1818, levels: { error: 2 } },
      { event: "(none)", count: 1, share: 0.0909, levels: { verbose: 1 } },
    ]);
  });

  it("groups errors and warnings by event and by template, with a sample and its trace", async () => {
    const report = await analyzeLogs(current, previous, { from: FROM, to: TO });
    expect(report.issues.byEvent).toEqual([
      {
        event: "risk.rejected",
        count: 3,
        errors: 0,
        warnings: 3,
        firstSeen: "2026-01-05T12:01:00.000Z",
        lastSeen: "2026-01-05T12:09:00.000Z",
        sample: "operation rejected by risk checks codes=RATE_LIMITED",
      },
      {
        event: "operation.failed",
        count: 2,
        errors: 2,
        warnings: 0,
        firstSeen: "2026-01-05T12:03:00.000Z",
        lastSeen: "2026-01-05T12:07:00.000Z",
        sample: "operation failed to submit err=connect ECONNREFUSED 10.0.0.1:8443",
        sampleTraceId: "0af7651916cd43dd8448eb211c80319c",
      },
    ]);
    expect(report.issues.byTemplate.map((i) => [i.event, i.template, i.count])).toEqual([
      ["risk.rejected", "operation rejected by risk checks codes=RATE_LIMITED", 3],
      ["operation.failed", "operation failed to submit err=connect ECONNREFUSED <ip>", 2],
    ]);
  });

  it("reports new and gone events at any count, rising ones only past the thresholds", async () => {
    const defaults = await analyzeLogs(current, previous, { from: FROM, to: TO });
    expect(defaults.trends.events.map((t) => [t.kind, t.event, t.current, t.previous])).toEqual([
      ["new", "operation.failed", 2, 0],
      ["new", "(none)", 1, 0],
      ["new", "supervisor.tick", 1, 0],
      ["gone", "backup.failed", 0, 2],
    ]);
    // risk.rejected went 1 → 3: a factor of 3 but under the default least count of 5.
    const lower = await analyzeLogs(current, previous, {
      from: FROM,
      to: TO,
      trendMinCount: 3,
      trendFactor: 3,
    });
    expect(lower.trends.events.find((t) => t.event === "risk.rejected")).toEqual({
      kind: "rising",
      event: "risk.rejected",
      current: 3,
      previous: 1,
      currentPerMinute: 0.3,
      previousPerMinute: 0.1,
      factor: 3,
    });
    const higher = await analyzeLogs(current, previous, {
      from: FROM,
      to: TO,
      trendMinCount: 3,
      trendFactor: 3.5,
    });
    expect(higher.trends.events.find((t) => t.event === "risk.rejected")).toBeUndefined();
  });

  it("compares templates across windows with one miner, so a template is the same on both sides", async () => {
    const report = await analyzeLogs(current, previous, { from: FROM, to: TO });
    expect(report.trends.templates.map((t) => [t.kind, t.event, t.template])).toEqual([
      ["new", "operation.failed", "operation failed to submit err=connect ECONNREFUSED <ip>"],
      ["new", "(none)", "cache warmed"],
      ["new", "supervisor.tick", "supervisor tick"],
      ["gone", "backup.failed", "backup failed: restic exited with code <num>"],
    ]);
    expect(report.templates).toEqual({ clusters: 6, unclustered: 0 });
  });

  it("sees falling counts", async () => {
    const many = (n: number, minute: string) =>
      Array.from({ length: n }, () =>
        entry(`2026-01-05T${minute}:00.000Z`, "warn", "risk.rejected", "rejected"),
      );
    const report = await analyzeLogs(many(5, "12:01"), many(10, "11:51"), { from: FROM, to: TO });
    expect(report.trends.events).toEqual([
      {
        kind: "falling",
        event: "risk.rejected",
        current: 5,
        previous: 10,
        currentPerMinute: 0.5,
        previousPerMinute: 1,
        factor: 0.5,
      },
    ]);
  });

  it("reads async sources and empty windows", async () => {
    async function* lines(): AsyncGenerator<LogEntry> {
      for (const item of current) {
        // A turn of the event loop per entry, as a stream would give.
        await new Promise((resolve) => setImmediate(resolve));
        yield item;
      }
    }
    const report = await analyzeLogs(lines(), [], { from: FROM, to: TO });
    expect(report.lines).toBe(11);
    expect(report.previousWindow.lines).toBe(0);
    const empty = await analyzeLogs([], [], { from: FROM, to: TO });
    expect(empty.levels.map((l) => [l.level, l.count, l.share])).toEqual([
      ["error", 0, 0],
      ["warn", 0, 0],
      ["info", 0, 0],
      ["debug", 0, 0],
    ]);
    expect(empty.topEvents).toEqual([]);
  });

  it("counts the recorded fixture: 108 lines, 12 errors and 34 warnings in two hours", async () => {
    const entries = readFileSync(new URL("./fixtures/opsguard-lines.jsonl", import.meta.url), "utf8")
      .split("\n")
      .filter((text) => text !== "")
      .map((text) => parseLogLine(text));
    const from = Date.parse("2026-01-05T10:00:00.000Z");
    const report = await analyzeLogs(entries, [], { from, to: from + 7_200_000 });
    expect(report.lines).toBe(108);
    expect(report.rates.errorsPerMinute).toBe(0.1);
    expect(report.rates.warningsPerMinute).toBe(0.2833);
    expect(report.issues.byEvent.slice(0, 2).map((i) => [i.event, i.count])).toEqual([
      ["risk.rejected", 18],
      ["operation.failed", 9],
    ]);
    expect(report.trends.events).toHaveLength(17);
    expect(report.trends.events.every((t) => t.kind === "new")).toBe(true);
  });

  it("refuses a window that does not end after it starts", async () => {
    await expect(analyzeLogs([], [], { from: TO, to: FROM })).rejects.toThrow(RangeError);
  });
});
