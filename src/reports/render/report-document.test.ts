import { describe, expect, it } from "vitest";
import { formatGeneratedAt, isNumericCell, resolveAlignments } from "./report-document.js";

describe("isNumericCell", () => {
  it.each(["12", "-987.65", "+1,234.56", "−3.2", "61.5%", "$1,000", "12 bp", "1.8x", "—", "n/a", "250 ms"])(
    "takes %s for a number",
    (cell) => expect(isNumericCell(cell)).toBe(true),
  );
  it.each(["carry", "2024-03-01", "1.2.3", "ES 2406", "12 trades"])("takes %s for text", (cell) =>
    expect(isNumericCell(cell)).toBe(false),
  );
});

describe("resolveAlignments", () => {
  it("aligns all-numeric columns right, ignoring empty cells", () => {
    const table = {
      columns: ["a", "b", "c"],
      rows: [
        ["x", "1", ""],
        ["y", "", ""],
      ],
    };
    expect(resolveAlignments(table)).toEqual(["left", "right", "left"]);
  });

  it("keeps explicit alignment and checks its length", () => {
    expect(resolveAlignments({ columns: ["a"], rows: [], align: ["center"] })).toEqual(["center"]);
    expect(() => resolveAlignments({ columns: ["a"], rows: [], align: [] })).toThrow(RangeError);
  });
});

describe("formatGeneratedAt", () => {
  it("writes a Date as ISO 8601 UTC and a string as given", () => {
    expect(formatGeneratedAt(new Date(Date.UTC(2024, 0, 2, 3, 4, 5)))).toBe("2024-01-02T03:04:05.000Z");
    expect(formatGeneratedAt("yesterday")).toBe("yesterday");
  });
});
