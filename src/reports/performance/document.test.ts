import { describe, expect, it } from "vitest";
import { renderHtml } from "../render/html.js";
import { renderMarkdown } from "../render/markdown.js";
import { recommendationItems } from "./document.js";

describe("recommendations in a rendered report", () => {
  it("keep the severity the JSON, the metric and the docs give them", () => {
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
});
