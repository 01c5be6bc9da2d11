import { describe, expect, it } from "vitest";
import { displayWidth, MIN_COLUMN_WIDTH, renderTable } from "./table.js";

const TABLE = {
  columns: ["Strategy", "Trades", "P&L"],
  rows: [
    ["mean-reversion", "12", "+1,234.56"],
    ["carry", "3", "-987.65"],
  ],
};

describe("renderTable", () => {
  it("aligns text left and numbers right, under a rule, without colour", () => {
    expect(renderTable(TABLE)).toBe(
      [
        "Strategy        Trades        P&L",
        "--------------  ------  ---------",
        "mean-reversion      12  +1,234.56",
        "carry                3    -987.65",
      ].join("\n"),
    );
  });

  it("honours explicit alignment, centring included", () => {
    const out = renderTable(
      { columns: ["a", "b"], rows: [["x", "y"]], align: ["center", "right"] },
      { gap: 1 },
    );
    expect(out.split("\n")).toEqual(["a b", "- -", "x y"]);
    const wide = renderTable({ columns: ["name", "n"], rows: [["ab", "1"]], align: ["center", "left"] });
    expect(wide.split("\n")[2]).toBe(" ab   1");
  });

  it("fits a width by shrinking the widest column and marking the cut", () => {
    const out = renderTable(TABLE, { maxWidth: 30 });
    const lines = out.split("\n");
    expect(Math.max(...lines.map(displayWidth))).toBeLessThanOrEqual(30);
    expect(lines[2]).toContain("…");
    expect(lines[2]!.endsWith("+1,234.56")).toBe(true); // the numbers survive
  });

  it("stops shrinking at the minimum column width", () => {
    const out = renderTable({ columns: ["long header", "another"], rows: [] }, { maxWidth: 1 });
    expect(out.split("\n")[1]).toBe(`${"-".repeat(MIN_COLUMN_WIDTH)}  ${"-".repeat(MIN_COLUMN_WIDTH)}`);
  });

  it("adds ANSI styling only when asked", () => {
    expect(renderTable(TABLE)).not.toContain("\u001b");
    const coloured = renderTable(TABLE, { color: true });
    expect(coloured.startsWith("\u001b[1mStrategy")).toBe(true);
  });

  it("keeps escape sequences and bidi overrides in data from reaching the terminal", () => {
    const out = renderTable({ columns: ["name"], rows: [["evil\u001b[2J\u202eeman\nnext"]] });
    for (const char of ["\u001b", "\u202e"]) expect(out.includes(char)).toBe(false);
    expect(out.split("\n")[2]).toBe("evil\ufffd[2J\ufffdeman next");
  });

  it("measures wide characters and emoji as two cells, combining marks as none", () => {
    expect(displayWidth("abc")).toBe(3);
    expect(displayWidth("日本")).toBe(4);
    expect(displayWidth("e\u0301")).toBe(1);
    expect(displayWidth("📈")).toBe(2);
    const out = renderTable({ columns: ["名前", "n"], rows: [["ab", "1"]] });
    expect(out.split("\n")).toEqual(["名前  n", "----  -", "ab    1"]);
  });
});
