import { describe, expect, it } from "vitest";
import { escapeMarkdown, escapeMarkdownCell, renderMarkdown, renderMarkdownTable } from "./markdown.js";

describe("escapeMarkdown", () => {
  it("escapes inline syntax so text renders as itself", () => {
    expect(escapeMarkdown("a*b*_c_ `d` [e](f) <b>x</b> ~~s~~ a|b &amp; \\")).toBe(
      "a\\*b\\*\\_c\\_ \\`d\\` \\[e\\](f) \\<b\\>x\\</b\\> \\~\\~s\\~\\~ a\\|b \\&amp; \\\\",
    );
  });

  it("escapes block syntax at the start of a line only", () => {
    expect(escapeMarkdown("# not a heading")).toBe("\\# not a heading");
    expect(escapeMarkdown("- not a list")).toBe("\\- not a list");
    expect(escapeMarkdown("1. not a list")).toBe("1\\. not a list");
    expect(escapeMarkdown("> not a quote")).toBe("\\> not a quote");
    expect(escapeMarkdown("===")).toBe("\\===");
    expect(escapeMarkdown("P&L -1.5 # 3")).toBe("P\\&L -1.5 # 3");
  });

  it("keeps line breaks as hard breaks and drops indentation that would make a code block", () => {
    expect(escapeMarkdown("first\n    # second")).toBe("first\\\n\\# second");
  });

  it("neutralises HTML in data", () => {
    expect(escapeMarkdown("<script>alert(1)</script>")).toBe("\\<script\\>alert(1)\\</script\\>");
  });
});

describe("escapeMarkdownCell", () => {
  it("escapes pipes and keeps a cell on one line", () => {
    expect(escapeMarkdownCell("a|b\nc")).toBe("a\\|b<br>c");
  });
});

describe("renderMarkdownTable", () => {
  it("writes a pipe table with each column's alignment", () => {
    const table = {
      columns: ["Strategy", "P&L", "Note"],
      rows: [
        ["mean|rev", "-987.65", "x"],
        ["carry", "+12.00", ""],
      ],
      align: ["left", "right", "center"] as const,
    };
    expect(renderMarkdownTable({ ...table, align: [...table.align] })).toBe(
      [
        "| Strategy | P\\&L | Note |",
        "| :--- | ---: | :---: |",
        "| mean\\|rev | -987.65 | x |",
        "| carry | +12.00 |  |",
      ].join("\n"),
    );
  });
});

describe("renderMarkdown", () => {
  const markdown = renderMarkdown({
    title: "Weekly *review*",
    subtitle: "Paper",
    generatedAt: "2024-03-01T12:00:00Z",
    sections: [
      {
        heading: "P&L",
        paragraphs: ["Two strategies traded."],
        charts: [{ title: "Equity curve", svg: "<svg></svg>" }],
        tables: [{ columns: ["Strategy", "P&L"], rows: [["carry", "+12.00"]] }],
        items: [
          {
            severity: "critical",
            title: "Loss\nstreak",
            evidence: ["# 5 losses", "- in a row"],
            recommendation: "Halve the size",
          },
        ],
      },
    ],
  });

  it("writes headings, paragraphs, a note instead of each chart, tables and findings", () => {
    expect(markdown).toBe(
      [
        "# Weekly \\*review\\*",
        "",
        "_Paper_",
        "",
        "Generated 2024-03-01T12:00:00Z",
        "",
        "## P\\&L",
        "",
        "Two strategies traded.",
        "",
        "> Chart: Equity curve (see the HTML report).",
        "",
        "| Strategy | P\\&L |",
        "| :--- | ---: |",
        "| carry | +12.00 |",
        "",
        "- **CRITICAL** Loss streak",
        "  - \\# 5 losses",
        "  - \\- in a row",
        "  - **Recommendation:** Halve the size",
        "",
      ].join("\n"),
    );
  });

  it("never includes the SVG", () => {
    expect(markdown).not.toContain("<svg");
  });
});
