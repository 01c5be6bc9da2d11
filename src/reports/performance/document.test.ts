import { describe, expect, it } from "vitest";
import { renderHtml } from "../render/html.js";
import { renderMarkdown } from "../render/markdown.js";
import { percent, recommendationItems } from "./document.js";

describe("the performance report as a document", () => {
  it("keeps each recommendation's severity as the JSON, the metric and the docs give it", () => {
    const items = recommendationItems([
      {
        id: "PERF-006",
        severity: "warning",
        title: "Near a limit",
        evidence: ["83% of 5000"],
        recommendation: "Look",
      },
      { id: "PERF-004", severity: "high", title: "Losing", evidence: ["-5%"], recommendation: "Stop" },
      {
        id: "PERF-001",
        severity: "info",
        title: "Few closes",
        evidence: ["21 closes"],
        recommendation: "Wait",
      },
    ]);
    expect(items.map((item) => item.severity)).toEqual(["warning", "high", "info"]);
    const document = { title: "r", generatedAt: new Date(0), sections: [{ heading: "What to do", items }] };
    const markdown = renderMarkdown(document);
    expect(markdown).toContain("**WARNING** PERF-006 Near a limit");
    expect(markdown).not.toMatch(/MEDIUM/i);
    const html = renderHtml(document);
    expect(html).toContain('<li class="finding sev-warning"><span class="badge">WARNING</span>');
    expect(html).toContain(".sev-warning { --sev: var(--warning); }");
  });

  it("shows a share below one point with two significant digits, not as 0.0%", () => {
    expect([percent(0.0003105), percent(0.0005), percent(0), percent(0.5), percent(-0.004)]).toEqual([
      "0.031%",
      "0.050%",
      "0.0%",
      "50.0%",
      "-0.40%",
    ]);
  });
});
