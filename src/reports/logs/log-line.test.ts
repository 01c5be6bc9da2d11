import { describe, expect, it } from "vitest";
import { orderLevels, parseLogLine } from "./log-line.js";

describe("parsing a log line", () => {
  it("reads time, level, msg, event and keeps every field", () => {
    const text =
      '{"timestamp":"2026-01-05T10:02:00.187Z","level":"info","msg":"operation opened","event":"operation.opened","trace_id":"e8d31164218342ce741d6ed543950f3f","service":"opsguard","env":"prod","operationId":"01KE6SMQ64HVTP5AEAJGNE0EMS"}';
    expect(parseLogLine(text)).toEqual({
      kind: "line",
      line: {
        timeMs: Date.parse("2026-01-05T10:02:00.187Z"),
        level: "info",
        msg: "operation opened",
        event: "operation.opened",
        fields: JSON.parse(text),
      },
    });
  });

  it.each([
    ["not json", "not_json"],
    ['{"timestamp":"2026-01-05T10:02:00.187Z","lev', "not_json"],
    ['["an","array"]', "not_json"],
    ['"a string"', "not_json"],
    ["null", "not_json"],
    ['{"level":"info","msg":"no time"}', "no_timestamp"],
    ['{"timestamp":"yesterday","msg":"bad time"}', "no_timestamp"],
  ])("%s is unparseable: %s", (text, problem) => {
    expect(parseLogLine(text)).toEqual({ kind: "unparseable", problem });
  });

  it("falls back to the given time, and fills a missing level, msg and event", () => {
    const entry = parseLogLine('{"msg":{"nested":true}}', 1_767_607_200_000);
    expect(entry).toMatchObject({
      kind: "line",
      line: { timeMs: 1_767_607_200_000, level: "unknown", msg: '{"nested":true}', event: "(none)" },
    });
    expect(parseLogLine('{"timestamp":"2026-01-05T10:00:00Z"}')).toMatchObject({
      line: { level: "unknown", msg: "", event: "(none)" },
    });
  });
});

describe("ordering counts by level", () => {
  it("puts error, warn, info, debug first, then other levels by name", () => {
    const levels = new Map([
      ["verbose", 1],
      ["info", 2],
      ["http", 3],
      ["error", 4],
    ]);
    expect(Object.entries(orderLevels(levels))).toEqual([
      ["error", 4],
      ["info", 2],
      ["http", 3],
      ["verbose", 1],
    ]);
  });
});
