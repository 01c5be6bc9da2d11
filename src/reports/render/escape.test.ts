import { describe, expect, it } from "vitest";
import { escapeHtml } from "./escape.js";

describe("escapeHtml", () => {
  it("escapes the five characters that matter in content and quoted attributes", () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;",
    );
  });

  it("neutralises a script in a strategy name", () => {
    const escaped = escapeHtml("mean-rev<script>alert(1)</script>");
    expect(escaped).toBe("mean-rev&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(escaped).not.toMatch(/[<>]/);
  });

  it("cannot be broken out of an attribute", () => {
    const escaped = escapeHtml(`" onmouseover="alert(1)`);
    expect(escaped).not.toContain('"');
    expect(escaped).toBe("&quot; onmouseover=&quot;alert(1)");
  });

  it("leaves other text, including non-ASCII, alone", () => {
    expect(escapeHtml("P&L −1,234.50 € 日本")).toBe("P&amp;L −1,234.50 € 日本");
    expect(escapeHtml("")).toBe("");
  });
});
