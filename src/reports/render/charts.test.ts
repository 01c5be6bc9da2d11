import { describe, expect, it } from "vitest";
import {
  CHART_COLORS,
  renderCalibrationSvg,
  renderCategoryBarsSvg,
  renderDrawdownSvg,
  renderEquityCurveSvg,
  renderHitRateSvg,
  type TimePoint,
} from "./charts.js";

/** The text of every `<text>` element, unescaped: what a reader sees in the chart. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((m) =>
    m[1]!.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&amp;", "&"),
  );
}

const EQUITY: TimePoint[] = [
  { time: "2024-03-01", value: 100_000 },
  { time: "2024-03-02T16:00:00Z", value: 101_234.56, label: "101,234.56" },
  { time: Date.UTC(2024, 2, 3), value: 99_012.5 },
  { time: new Date("2024-03-04T00:00:00+02:00"), value: 98_765.43, label: "98,765.43" },
];

describe("charts", () => {
  it("draws the caller's formatted values as text, and axis numbers with an ASCII minus", async () => {
    const svg = await renderCategoryBarsSvg([
      { category: "breakout", value: 1234.56, label: "+1,234.56" },
      { category: "carry", value: -987.65, label: "-987.65" },
    ]);
    const texts = svgTexts(svg);
    expect(texts).toEqual(expect.arrayContaining(["+1,234.56", "-987.65", "breakout", "carry"]));
    expect(texts.some((t) => /^-\d/.test(t))).toBe(true); // a negative tick on the value axis
    expect(svg).not.toContain("\u2212");
  });

  it("colours negative bars apart from positive ones", async () => {
    const svg = await renderCategoryBarsSvg([
      { category: "a", value: 5, label: "5" },
      { category: "b", value: -5, label: "-5" },
    ]);
    expect(svg).toContain(`fill="${CHART_COLORS.primary}"`);
    expect(svg).toContain(`fill="${CHART_COLORS.negative}"`);
  });

  it("escapes category names instead of writing markup", async () => {
    const svg = await renderCategoryBarsSvg([
      { category: "<script>alert(1)</script>", value: 1, label: "1" },
    ]);
    expect(svg).not.toContain("<script");
    expect(svg).toContain("&lt;script&gt;");
  });

  it("labels only the time points that carry a label", async () => {
    const texts = svgTexts(await renderEquityCurveSvg(EQUITY));
    expect(texts).toEqual(expect.arrayContaining(["101,234.56", "98,765.43"]));
    expect(texts).not.toContain("100,000.00");
  });

  it("draws drawdown, hit-rate and calibration labels verbatim", async () => {
    const drawdown = await renderDrawdownSvg(
      [
        { time: "2024-03-01", value: 0 },
        { time: "2024-03-02", value: -0.0421, label: "-4.21%" },
      ],
      { valueFormat: ".0%" },
    );
    expect(svgTexts(drawdown)).toEqual(expect.arrayContaining(["-4.21%", "0%"]));

    const hitRate = await renderHitRateSvg([
      { pattern: "gap-fill", group: "long", hitRate: 0.615, label: "61.5%" },
      { pattern: "gap-fill", group: "short", hitRate: 0.42, label: "42.0%" },
    ]);
    expect(svgTexts(hitRate)).toEqual(
      expect.arrayContaining(["61.5%", "42.0%", "gap-fill", "long", "short"]),
    );

    const calibration = await renderCalibrationSvg([
      { predicted: 0.55, observed: 0.52, label: "52% (n=40)" },
      { predicted: 0.85, observed: 0.74, label: "74% (n=12)" },
    ]);
    const texts = svgTexts(calibration);
    expect(texts).toEqual(
      expect.arrayContaining(["52% (n=40)", "74% (n=12)", "Predicted confidence", "100%"]),
    );
    expect(calibration).toContain('stroke-dasharray="4,4"'); // the diagonal
  });

  it("renders the same bytes twice, in any time zone", async () => {
    const previous = process.env.TZ;
    try {
      process.env.TZ = "UTC";
      const utc = await renderEquityCurveSvg(EQUITY);
      expect(await renderEquityCurveSvg(EQUITY)).toBe(utc);
      process.env.TZ = "Pacific/Chatham"; // +12:45/+13:45: any local-time formatting would show
      expect(new Date(0).getTimezoneOffset()).not.toBe(0);
      expect(await renderEquityCurveSvg(EQUITY)).toBe(utc);
    } finally {
      if (previous === undefined) delete process.env.TZ;
      else process.env.TZ = previous;
    }
  });

  it("fails fast on values a chart cannot show", async () => {
    await expect(renderEquityCurveSvg([{ time: "2024-03-01T10:00:00", value: 1 }])).rejects.toThrow(
      /zoned ISO/,
    );
    await expect(renderEquityCurveSvg([{ time: "2024-03-01", value: Number.NaN }])).rejects.toThrow(/finite/);
    await expect(renderHitRateSvg([{ pattern: "p", hitRate: 1.5, label: "150%" }])).rejects.toThrow(/0\.\.1/);
    await expect(renderCalibrationSvg([{ predicted: -0.1, observed: 0.5 }])).rejects.toThrow(RangeError);
  });

  it("renders empty data as an empty chart rather than failing", async () => {
    const svg = await renderCategoryBarsSvg([]);
    expect(svg).toMatch(/^<svg [^>]*role="img"/);
  });
});
