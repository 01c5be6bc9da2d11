import { describe, expect, it } from "vitest";
import { assertInlineSvg, renderHtml, REPORT_CSP } from "./html.js";
import type { HtmlReport } from "./report-document.js";

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>1.5</text></svg>';
const ATTACK = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

function report(overrides: Partial<HtmlReport> = {}): HtmlReport {
  return {
    title: "Weekly review",
    generatedAt: new Date(Date.UTC(2024, 2, 1, 12, 0, 0)),
    subtitle: "Paper account",
    sections: [
      {
        heading: "P&L by strategy",
        paragraphs: ["Two strategies traded."],
        charts: [{ title: "P&L", svg: SVG }],
        tables: [
          {
            columns: ["Strategy", "P&L"],
            rows: [
              [ATTACK, "-987.65"],
              ["carry", "+12.00"],
            ],
          },
        ],
        items: [
          {
            severity: "high",
            title: "Loss streak",
            evidence: ["5 losses in a row"],
            recommendation: "Halve the size",
          },
        ],
      },
      { heading: "Appendix" },
    ],
    ...overrides,
  };
}

describe("renderHtml", () => {
  it("writes a complete page under a strict Content-Security-Policy", () => {
    const html = renderHtml(report());
    expect(html.startsWith("<!doctype html>\n")).toBe(true);
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    );
    expect(REPORT_CSP).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(html).toContain("<title>Weekly review</title>");
    expect(html).toContain('<time datetime="2024-03-01T12:00:00.000Z">');
    expect(html.endsWith("</html>\n")).toBe(true);
  });

  it("loads nothing: no script, no external URL, no link element", () => {
    const html = renderHtml(
      report({
        sections: [
          { heading: "x", tables: [{ columns: ["a"], rows: [["b"]] }], charts: [{ title: "c", svg: SVG }] },
        ],
      }),
    );
    expect(html).not.toMatch(/<script|<link|<iframe|<img|@import|src=/i);
    expect(html).not.toMatch(/(?:href|src)="(?!#)/);
    expect(html).not.toMatch(/url\((?!#)/);
  });

  it("escapes every text it writes, so markup in data stays text", () => {
    const html = renderHtml(
      report({
        title: ATTACK,
        subtitle: ATTACK,
        generatedAt: ATTACK,
        sections: [
          {
            heading: ATTACK,
            paragraphs: [ATTACK],
            charts: [{ title: ATTACK, svg: SVG }],
            tables: [{ columns: [ATTACK], rows: [[ATTACK]] }],
            items: [{ severity: "critical", title: ATTACK, evidence: [ATTACK], recommendation: ATTACK }],
          },
        ],
      }),
    );
    expect(html).not.toContain("<script>");
    expect(html).not.toContain("<img");
    const escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;";
    // title, h1, subtitle, time attribute and text, heading, paragraph, caption, th, td, item x3
    expect(html.split(escaped).length - 1).toBe(13);
  });

  it("aligns numeric columns right and marks severities with a closed set of classes", () => {
    const html = renderHtml(report());
    expect(html).toContain('<th scope="col">Strategy</th><th scope="col" class="align-right">P&amp;L</th>');
    expect(html).toContain('<td class="align-right">-987.65</td>');
    expect(html).toContain('<li class="finding sev-high"><span class="badge">HIGH</span>');
    const bad = report({
      sections: [{ heading: "x", items: [{ severity: "evil" as never, title: "t", evidence: [] }] }],
    });
    expect(() => renderHtml(bad)).toThrow(/unknown severity/);
  });

  it("inlines chart SVGs and links sections from a table of contents", () => {
    const html = renderHtml(report());
    expect(html).toContain(`<div class="plot">${SVG}</div>`);
    expect(html).toContain('<a href="#section-2">Appendix</a>');
    expect(html).toContain('<section id="section-2">');
  });

  it("rejects a ragged table", () => {
    const ragged = report({ sections: [{ heading: "x", tables: [{ columns: ["a", "b"], rows: [["1"]] }] }] });
    expect(() => renderHtml(ragged)).toThrow(/row 0 has 1 cells, expected 2/);
  });
});

describe("assertInlineSvg", () => {
  it.each([
    ["a script", "<svg><script>alert(1)</script></svg>"],
    ["an event handler", '<svg onload="alert(1)"></svg>'],
    ["an external link", '<svg><a href="https://evil.example/">x</a></svg>'],
    ["an xlink", '<svg><use xlink:href="https://evil.example/s.svg#a"/></svg>'],
    ["an image", '<svg><image href="data:image/png;base64,AA"/></svg>'],
    ["a CSS url", '<svg><rect style="fill:url(https://evil.example/p)"/></svg>'],
    ["foreign HTML", "<svg><foreignObject><div/></foreignObject></svg>"],
    ["something that is not an svg", "<div></div>"],
  ])("rejects %s", (_what, svg) => {
    expect(() => assertInlineSvg(svg)).toThrow(TypeError);
  });

  it("accepts references inside the document", () => {
    expect(() =>
      assertInlineSvg('<svg><clipPath id="a"/><g clip-path="url(#a)"><use href="#a"/></g></svg>'),
    ).not.toThrow();
  });
});
