import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "./harness.js";
import { startChild, type Child } from "./process.js";

/** Sums a metric's samples by one label, from the Prometheus text format. */
function sumBy(text: string, metric: string, label: string): Map<string, number> {
  const sums = new Map<string, number>();
  const pattern = new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, "gm");
  for (const [, labels = "", value = "0"] of text.matchAll(pattern)) {
    const key = new RegExp(`${label}="([^"]*)"`).exec(labels)?.[1] ?? "";
    sums.set(key, (sums.get(key) ?? 0) + Number(value));
  }
  return sums;
}

describe("opsguard demo", () => {
  let dataDir: string;
  let child: Child | undefined;
  afterEach(() => {
    child?.process.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("moves the operation metrics within seconds, and reports recommendations within a minute", async () => {
    dataDir = tempDir();
    child = await startChild(dataDir, ["demo"], {}, "demo/admin-token");
    const base = `http://127.0.0.1:${child.port}`;
    let text = "";
    const moved = (): Record<string, number> => {
      const submitted = sumBy(text, "opsguard_operations_submitted_total", "strategy");
      return {
        submitted: [...submitted.values()].reduce((a, b) => a + b, 0),
        strategies: submitted.size,
        closeReasons: sumBy(text, "opsguard_operations_closed_total", "close_reason").size,
        rejectionReasons: sumBy(text, "opsguard_risk_rejections_total", "reason").size,
        patterns: sumBy(text, "opsguard_pattern_predictions_total", "pattern").size,
        webhookEvents:
          sumBy(text, "opsguard_webhook_events_delivered_total", "endpoint").get("demo-receiver") ?? 0,
      };
    };
    const enough = {
      submitted: 6,
      strategies: 2,
      closeReasons: 2,
      rejectionReasons: 2,
      patterns: 1,
      // The demo's own webhook endpoint gets the events, signed.
      webhookEvents: 1,
    };
    // Bounded: at most 40 s, usually a few. The rejections come from the strategy's random draws
    // (a burst, an oversized order, ...), a few percent of its steps of 250 ms each: on a loaded
    // machine the second kind once took longer than 20 s.
    for (let i = 0; i < 80; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      text = await (await fetch(`${base}/metrics`)).text();
      const now = moved();
      if (Object.entries(enough).every(([key, least]) => now[key]! >= least)) break;
    }
    const now = moved();
    for (const [key, least] of Object.entries(enough)) expect(now[key], key).toBeGreaterThanOrEqual(least);

    // Within a minute or so its report of today has recommendations (bounded: at most 60 s).
    const headers = { authorization: `Bearer ${child.token}` };
    let report = { recommendations: [] as { id: string }[], book: { closes: 0 } };
    for (let i = 0; i < 30 && report.recommendations.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      report = (await (
        await fetch(`${base}/v1/reports/performance?timeframe=day`, { headers })
      ).json()) as typeof report;
    }
    expect(report.book.closes).toBeGreaterThan(0);
    expect(report.recommendations.map((r) => r.id)).not.toEqual([]);

    // The demo's data lives apart from the real state, and it stops cleanly.
    const risk = await fetch(`${base}/v1/risk`, { headers: { authorization: `Bearer ${child.token}` } });
    expect(risk.status).toBe(200);
    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    child = undefined;
  }, 130_000);
});
