import { describe, expect, it } from "vitest";
import { classifyTrend, findTrends } from "./trends.js";

describe("classifying a count against the previous window", () => {
  const thresholds = { factor: 2, minCount: 5 };

  it.each([
    [0, 0, undefined],
    [1, 0, "new"],
    [0, 1, "gone"],
    // rising: up by the factor, and at least minCount now
    [10, 5, "rising"],
    [9, 5, undefined],
    [5, 2, "rising"],
    [4, 2, undefined],
    // falling: down by the factor, and at least minCount before
    [5, 10, "falling"],
    [5, 9, undefined],
    [2, 5, "falling"],
    [2, 4, undefined],
    [7, 7, undefined],
  ] as const)("%i now against %i before is %s", (current, previous, kind) => {
    expect(classifyTrend(current, previous, thresholds)).toBe(kind);
  });

  it("takes other thresholds", () => {
    expect(classifyTrend(3, 1, { factor: 3, minCount: 3 })).toBe("rising");
    expect(classifyTrend(3, 1, { factor: 3.01, minCount: 3 })).toBeUndefined();
    expect(classifyTrend(3, 1, { factor: 3, minCount: 4 })).toBeUndefined();
  });
});

describe("listing trends", () => {
  it("orders new, rising, falling, gone, the largest change first, and keeps at most the limit", () => {
    const pairs = [
      { event: "a.gone", current: 0, previous: 3 },
      { event: "b.steady", current: 4, previous: 4 },
      { event: "c.new", current: 2, previous: 0 },
      { event: "d.rising", current: 12, previous: 3 },
      { event: "e.new", current: 7, previous: 0 },
      { event: "f.falling", current: 1, previous: 6 },
    ];
    const trends = findTrends(pairs, 10, { factor: 2, minCount: 5 }, 4);
    expect(trends).toEqual([
      {
        kind: "new",
        event: "e.new",
        current: 7,
        previous: 0,
        currentPerMinute: 0.7,
        previousPerMinute: 0,
        factor: null,
      },
      {
        kind: "new",
        event: "c.new",
        current: 2,
        previous: 0,
        currentPerMinute: 0.2,
        previousPerMinute: 0,
        factor: null,
      },
      {
        kind: "rising",
        event: "d.rising",
        current: 12,
        previous: 3,
        currentPerMinute: 1.2,
        previousPerMinute: 0.3,
        factor: 4,
      },
      {
        kind: "falling",
        event: "f.falling",
        current: 1,
        previous: 6,
        currentPerMinute: 0.1,
        previousPerMinute: 0.6,
        factor: 0.1667,
      },
    ]);
  });
});
