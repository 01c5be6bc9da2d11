// Opens a rendered HTML report in a real headless Chromium and checks what a reader would get:
// every chart drawn with the report's numbers, the tables' cells, nothing fetched, nothing run.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  renderCalibrationSvg,
  renderCategoryBarsSvg,
  renderDrawdownSvg,
  renderEquityCurveSvg,
  renderHitRateSvg,
} from "../../src/reports/render/charts.js";
import { renderHtml } from "../../src/reports/render/html.js";
import type { HtmlReport } from "../../src/reports/render/report-document.js";
import { closeChromium, launchChromium } from "./chromium.js";

// Markup that would run if any text reached the page unescaped.
const SCRIPT_NAME = "mean-rev<script>window.__pwned = 'script'</script>";
const IMG_NAME = `breakout<img src="x" onerror="window.__pwned = 'img'">`;

/** The numbers each chart must show, as the report formatted them. */
const CHART_NUMBERS = [
  ["Equity", ["101,234.56", "98,765.43"]],
  ["Drawdown", ["-4.21%"]],
  ["P&L by strategy", ["+1,234.56", "-987.65", "+12.00"]],
  ["Hit rate by pattern", ["61.5%", "42.0%"]],
  ["Calibration", ["52% (n=40)", "74% (n=12)"]],
] as const;

const TABLE_ROWS = [
  [SCRIPT_NAME, "12", "+1,234.56"],
  [IMG_NAME, "7", "-987.65"],
  ["carry", "3", "+12.00"],
];

async function buildReport(): Promise<HtmlReport> {
  const [equity, drawdown, pnl, hitRate, calibration] = await Promise.all([
    renderEquityCurveSvg([
      { time: "2024-03-01", value: 100_000 },
      { time: "2024-03-02", value: 101_234.56, label: "101,234.56" },
      { time: "2024-03-03", value: 98_765.43, label: "98,765.43" },
    ]),
    renderDrawdownSvg(
      [
        { time: "2024-03-01", value: 0 },
        { time: "2024-03-03", value: -0.0421, label: "-4.21%" },
      ],
      { valueFormat: ".0%" },
    ),
    renderCategoryBarsSvg([
      { category: SCRIPT_NAME, value: 1234.56, label: "+1,234.56" },
      { category: IMG_NAME, value: -987.65, label: "-987.65" },
      { category: "carry", value: 12, label: "+12.00" },
    ]),
    renderHitRateSvg([
      { pattern: "gap-fill", group: "long", hitRate: 0.615, label: "61.5%" },
      { pattern: "gap-fill", group: "short", hitRate: 0.42, label: "42.0%" },
    ]),
    renderCalibrationSvg([
      { predicted: 0.55, observed: 0.52, label: "52% (n=40)" },
      { predicted: 0.85, observed: 0.74, label: "74% (n=12)" },
    ]),
  ]);
  const svgs = [equity, drawdown, pnl, hitRate, calibration];
  return {
    title: `Weekly review ${SCRIPT_NAME}`,
    generatedAt: new Date(Date.UTC(2024, 2, 4, 6, 0, 0)),
    subtitle: IMG_NAME,
    sections: [
      {
        heading: "Performance",
        paragraphs: [`Strategies: ${SCRIPT_NAME}, ${IMG_NAME}.`],
        charts: CHART_NUMBERS.map(([title], i) => ({ title, svg: svgs[i]! })),
        tables: [{ columns: ["Strategy", "Trades", "P&L"], rows: TABLE_ROWS }],
      },
      {
        heading: "Findings",
        items: [
          { severity: "high", title: SCRIPT_NAME, evidence: [IMG_NAME], recommendation: "Halve the size" },
        ],
      },
    ],
  };
}

// The page has no DOM types here (tsconfig has no "dom" lib): in-page code sees only these.
interface PageElement {
  textContent: string | null;
  getBoundingClientRect(): { width: number; height: number };
  querySelectorAll(selector: string): ArrayLike<PageElement>;
}
interface PageWindow {
  document: PageElement & {
    documentElement: PageElement;
    addEventListener(type: string, fn: () => void): void;
  };
  getComputedStyle(element: PageElement): { backgroundColor: string };
  __pwned?: string;
  __cspViolations?: number;
}

interface PageWatch {
  page: Page;
  /** Every request other than the report itself, each one aborted. */
  requests: string[];
  /** Console errors, uncaught page errors and failed requests. */
  errors: string[];
}

async function openReport(
  browser: Browser,
  url: string,
  options: { bypassCsp?: boolean } = {},
): Promise<PageWatch> {
  const page = await browser.newPage();
  const watch: PageWatch = { page, requests: [], errors: [] };
  page.on("console", (message) => {
    if (message.type() === "error") watch.errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => watch.errors.push(`page: ${String(error)}`));
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    if (request.url() === url) {
      void request.continue();
    } else {
      watch.requests.push(request.url());
      void request.abort("blockedbyclient");
    }
  });
  if (options.bypassCsp === true) await page.setBypassCSP(true);
  // DevTools-injected, so it runs despite the CSP: counts anything the policy had to block.
  await page.evaluateOnNewDocument(() => {
    const w = globalThis as unknown as PageWindow;
    w.__cspViolations = 0;
    w.document.addEventListener("securitypolicyviolation", () => {
      w.__cspViolations = (w.__cspViolations ?? 0) + 1;
    });
  });
  await page.goto(url, { waitUntil: "load", timeout: 15_000 });
  return watch;
}

describe("HTML report in headless Chromium", () => {
  let browser: Browser | undefined;
  let dir = "";
  let url = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "opsguard-report-"));
    const file = join(dir, "report.html");
    await writeFile(file, renderHtml(await buildReport()));
    url = pathToFileURL(file).href;
    browser = await launchChromium(); // throws, failing every test, when Chromium is missing
  }, 60_000);

  afterAll(async () => {
    await closeChromium(browser);
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  it("draws every chart with the report's numbers, shows the tables, and fetches and runs nothing", async () => {
    const { page, requests, errors } = await openReport(browser!, url);
    const seen = await page.evaluate(() => {
      const w = globalThis as unknown as PageWindow;
      const all = (root: PageElement, selector: string) => Array.from(root.querySelectorAll(selector));
      return {
        charts: all(w.document, "figure.chart").map((figure) => {
          const svg = all(figure, "svg")[0];
          const box = svg?.getBoundingClientRect();
          return {
            title: all(figure, "figcaption")[0]?.textContent ?? "",
            width: box?.width ?? 0,
            height: box?.height ?? 0,
            texts: svg === undefined ? [] : all(svg, "text").map((text) => text.textContent ?? ""),
          };
        }),
        cells: all(w.document, "table tbody tr").map((row) =>
          all(row, "td").map((td) => td.textContent ?? ""),
        ),
        title: all(w.document, "h1")[0]?.textContent ?? "",
        scripts: all(w.document, "script").length,
        images: all(w.document, "img").length,
        pwned: w.__pwned ?? null,
        cspViolations: w.__cspViolations ?? -1,
      };
    });

    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(seen.cspViolations).toBe(0);
    expect(seen.charts.map((chart) => chart.title)).toEqual(CHART_NUMBERS.map(([title]) => title));
    for (const [i, chart] of seen.charts.entries()) {
      expect(chart.width, chart.title).toBeGreaterThan(100);
      expect(chart.height, chart.title).toBeGreaterThan(50);
      expect(chart.texts, chart.title).toEqual(expect.arrayContaining([...CHART_NUMBERS[i]![1]]));
    }
    // Names with markup show as the text they are, in the tables and in the charts' axis labels.
    expect(seen.cells).toEqual(TABLE_ROWS);
    expect(seen.title).toBe(`Weekly review ${SCRIPT_NAME}`);
    expect(seen.charts[2]!.texts.some((text) => text.startsWith("mean-rev<script>"))).toBe(true);
    expect(seen.scripts).toBe(0);
    expect(seen.images).toBe(0);
    expect(seen.pwned).toBeNull();

    const png = join(dir, "report.png");
    await page.screenshot({ path: png, fullPage: true });
    const bytes = await readFile(png);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(bytes.readUInt32BE(16)).toBeGreaterThan(0); // IHDR width
    expect(bytes.readUInt32BE(20)).toBeGreaterThan(1000); // IHDR height: the whole report
    await page.close();
  });

  it("keeps markup in data inert by escaping alone, with the CSP bypassed", async () => {
    const { page, requests, errors } = await openReport(browser!, url, { bypassCsp: true });
    const seen = await page.evaluate(() => {
      const w = globalThis as unknown as PageWindow;
      return { pwned: w.__pwned ?? null, scripts: w.document.querySelectorAll("script").length };
    });
    expect(seen).toEqual({ pwned: null, scripts: 0 });
    expect(requests).toEqual([]); // an unescaped <img src="x"> would have asked for x
    expect(errors).toEqual([]);
    await page.close();
  });

  it("follows the reader's colour scheme on screen and prints light", async () => {
    const { page } = await openReport(browser!, url);
    const background = () =>
      page.evaluate(() => {
        const w = globalThis as unknown as PageWindow;
        return w.getComputedStyle(w.document.documentElement).backgroundColor;
      });
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "light" }]);
    expect(await background()).toBe("rgb(255, 255, 255)");
    await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: "dark" }]);
    expect(await background()).toBe("rgb(13, 17, 23)");
    await page.emulateMediaType("print");
    expect(await background()).toBe("rgb(255, 255, 255)");
    await page.close();
  });
});
