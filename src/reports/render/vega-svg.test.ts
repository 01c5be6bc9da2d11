import { describe, expect, it } from "vitest";
import type { TopLevelSpec } from "vega-lite";
import { ChartRenderError, renderVegaLiteSvg, scopeIds } from "./vega-svg.js";

const CLIPPED: TopLevelSpec = {
  data: {
    values: [
      { x: 1, y: 2 },
      { x: 2, y: 5 },
    ],
  },
  mark: { type: "line", clip: true },
  encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
};

describe("scopeIds", () => {
  it("renames ids and every reference to them, in order of appearance", () => {
    const svg =
      '<svg><g clip-path="url(#clip7)"/><use href="#clip12"/><clipPath id="clip7"/><clipPath id="clip12"/></svg>';
    expect(scopeIds(svg, "p")).toBe(
      '<svg><g clip-path="url(#p-1)"/><use href="#p-2"/><clipPath id="p-1"/><clipPath id="p-2"/></svg>',
    );
  });

  it("does not confuse an id with a longer one that starts the same", () => {
    const svg = '<svg><clipPath id="clip1"/><clipPath id="clip10"/><g clip-path="url(#clip10)"/></svg>';
    expect(scopeIds(svg, "p")).toContain('clip-path="url(#p-2)"');
  });
});

describe("renderVegaLiteSvg", () => {
  it("gives the same bytes for the same spec, however many charts came before", async () => {
    const first = await renderVegaLiteSvg(CLIPPED);
    await renderVegaLiteSvg(CLIPPED);
    const third = await renderVegaLiteSvg(CLIPPED);
    expect(third).toBe(first);
    // Vega's own counter would have made these clip1, clip2, clip3.
    expect(first).toMatch(/<clipPath id="og[0-9a-f]{10}-1">/);
    expect(first).not.toMatch(/id="clip\d+"/);
  });

  it("gives different charts different ids, so they can share a page", async () => {
    const other = await renderVegaLiteSvg({ ...CLIPPED, width: 123 });
    const ids = (svg: string) => [...svg.matchAll(/id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids(other)).not.toEqual(ids(await renderVegaLiteSvg(CLIPPED)));
  });

  it("labels the root element for screen readers, escaped", async () => {
    const svg = await renderVegaLiteSvg(CLIPPED, { label: 'Equity "<b>"' });
    expect(svg.startsWith('<svg role="img" aria-label="Equity &quot;&lt;b&gt;&quot;" ')).toBe(true);
  });

  it("refuses to load remote data", async () => {
    const remote: TopLevelSpec = { ...CLIPPED, data: { url: "https://example.com/equity.json" } };
    await expect(renderVegaLiteSvg(remote)).rejects.toThrow(ChartRenderError);
  });

  it("passes warnings to onWarning instead of the console", async () => {
    const warnings: string[] = [];
    await renderVegaLiteSvg({ ...CLIPPED, data: { values: [] } }, { onWarning: (m) => warnings.push(m) });
    expect(warnings.some((m) => m.includes("Infinite extent"))).toBe(true);
  });
});
