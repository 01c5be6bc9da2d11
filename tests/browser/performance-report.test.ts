// The performance report of real closes, as the API renders it in HTML, opened in headless
// Chromium: the charts carry the report's numbers and the tables its cells.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PerformanceReport } from "../../src/reports/performance/report.js";
import { ManualClock } from "../../src/platform/clock.js";
import { ScriptedExecutor, startTestApp, submitBody, type TestApp } from "../harness.js";
import { closeChromium, launchChromium } from "./chromium.js";

/** What the page's DOM offers the checks (the suite is typed without the DOM library). */
interface PageElement {
  textContent: string | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  getBoundingClientRect(): { width: number; height: number };
}

describe("the performance report in HTML, in Chromium", () => {
  let browser: Browser | undefined;
  let t: TestApp;
  let dir: string;
  let report: PerformanceReport;
  let html: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "opsguard-perf-html-"));
    const clock = new ManualClock(Date.parse("2026-11-28T12:00:00Z"));
    const executor = new ScriptedExecutor(undefined, clock);
    t = await startTestApp({}, { executor, clock });
    // One close a day on three days: +100.00, −50.00, +30.00 (BTC-USD 0.1 at 65,000.00).
    const trades: [Record<string, unknown>, bigint][] = [
      [{ strategy: "trend-follow", pattern: "double-bottom", confidence: 0.7 }, 100_000n],
      [{ strategy: "mean-revert", instrument: "ETH-USD", size: "1" }, -5_000n],
      [{ strategy: "trend-follow", pattern: "double-bottom", confidence: 0.7 }, 30_000n],
    ];
    for (const [body, move] of trades) {
      const instrument = (body.instrument as string | undefined) ?? "BTC-USD";
      const opened = await t.call("POST", "/v1/operations", { body: submitBody(body) });
      expect(opened.status).toBe(201);
      const { id } = (await opened.json()) as { id: string };
      const price = (await executor.quote(instrument)).price;
      executor.setPrice(instrument, price + move);
      expect((await t.call("POST", `/v1/operations/${id}/close`, { body: {} })).status).toBe(200);
      executor.setPrice(instrument, price);
      clock.advance(86_400_000);
    }
    const query = "from=2026-11-28&to=2026-11-30";
    report = (await (
      await t.call("GET", `/v1/reports/performance?${query}`, { role: "viewer" })
    ).json()) as PerformanceReport;
    const res = await t.call("GET", `/v1/reports/performance?${query}&format=html`, { role: "viewer" });
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    html = await res.text();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await closeChromium(browser);
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("draws every chart with the numbers of the JSON report, and shows its tables", async () => {
    expect(report.book.pnl).toBe("80.00");
    expect(report.byStrategy.map((s) => [s.strategy, s.pnl])).toEqual([
      ["trend-follow", "130.00"],
      ["mean-revert", "-50.00"],
    ]);
    const file = join(dir, "report.html");
    writeFileSync(file, html);
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: "load", timeout: 15_000 });
    const { charts, cells } = await page.evaluate(() => {
      const root = (globalThis as unknown as { document: PageElement }).document;
      const all = (from: PageElement, selector: string) => Array.from(from.querySelectorAll(selector));
      return {
        charts: all(root, "figure").map((figure) => {
          const svg = all(figure, "svg")[0];
          const box = svg?.getBoundingClientRect();
          return {
            caption: all(figure, "figcaption")[0]?.textContent ?? "",
            text: svg?.textContent ?? "",
            area: box ? box.width * box.height : 0,
          };
        }),
        cells: all(root, "td").map((td) => td.textContent?.trim() ?? ""),
      };
    });
    await page.close();
    expect(errors).toEqual([]);
    expect(charts.map((c) => c.caption)).toEqual([
      "Equity at the end of each day (USD)",
      "Drawdown from the highest day-end equity",
      "P&L by strategy (USD)",
      "P&L by instrument (USD)",
      "Hit rate by pattern",
      "Calibration: declared confidence against hit rate",
    ]);
    for (const chart of charts) expect(chart.area, chart.caption).toBeGreaterThan(0);
    const byCaption = Object.fromEntries(charts.map((c) => [c.caption, c.text]));
    expect(byCaption["P&L by strategy (USD)"]).toContain("130.00");
    expect(byCaption["P&L by strategy (USD)"]).toContain("-50.00");
    expect(byCaption["P&L by instrument (USD)"]).toContain("-50.00");
    expect(byCaption["Hit rate by pattern"]).toContain("100.0%");
    expect(cells).toEqual(
      expect.arrayContaining(["trend-follow", "130.00", "mean-revert", "-50.00", "80.00"]),
    );
  });
});
