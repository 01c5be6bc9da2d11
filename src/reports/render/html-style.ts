/**
 * The report's only stylesheet, inlined in a `<style>` element (the page's CSP allows inline styles
 * and nothing else). System fonts only: a web font would be a request. Light by default, dark when
 * the reader's system asks for it, and always light on paper.
 */
export const REPORT_CSS = `
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --stripe: #f6f8fa;
  --critical: #b42318; --high: #c4320a; --warning: #9a6700; --info: #0969da;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --border: #3d444d; --stripe: #151b23;
    --critical: #ff7b72; --high: #ffa657; --warning: #d29922; --info: #58a6ff;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); }
body {
  margin: 0 auto; max-width: 1040px; padding: 2rem 1.25rem 4rem;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
h1 { font-size: 1.8rem; line-height: 1.25; margin: 0 0 0.25rem; }
h2 { font-size: 1.3rem; margin: 2.5rem 0 0.75rem; padding-bottom: 0.3rem; border-bottom: 1px solid var(--border); }
p { margin: 0.5rem 0; max-width: 75ch; }
.subtitle { color: var(--muted); font-size: 1.05rem; margin: 0; }
.meta { color: var(--muted); font-size: 0.9rem; }
nav ol { margin: 1rem 0; padding-left: 1.25rem; columns: 2 16rem; }
a { color: var(--info); }
figure.chart { margin: 1.25rem 0; }
figure.chart figcaption { font-weight: 600; margin-bottom: 0.4rem; }
/* The charts are drawn for a white background, so they keep one in dark mode too. */
.plot {
  display: inline-block; max-width: 100%; overflow-x: auto; padding: 0.5rem;
  background: #ffffff; border: 1px solid var(--border); border-radius: 6px;
}
.plot svg { display: block; max-width: 100%; height: auto; }
.table-wrap { overflow-x: auto; margin: 1rem 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--border); padding: 0.35rem 0.65rem; text-align: left; vertical-align: top; }
thead th { background: var(--stripe); }
tbody tr:nth-child(even) td { background: var(--stripe); }
th.align-right, td.align-right { text-align: right; }
th.align-center, td.align-center { text-align: center; }
ul.findings { list-style: none; padding: 0; margin: 1rem 0; }
li.finding { margin: 0.75rem 0; padding: 0.6rem 0.9rem; border-left: 4px solid var(--sev); background: var(--stripe); }
li.finding ul { margin: 0.35rem 0; padding-left: 1.25rem; }
.finding-title { font-weight: 600; }
.badge {
  display: inline-block; margin-right: 0.5rem; padding: 0 0.5rem; border: 1px solid var(--sev);
  border-radius: 999px; color: var(--sev); font-size: 0.75rem; font-weight: 700; letter-spacing: 0.04em;
}
.recommendation { margin: 0.35rem 0 0; }
.sev-critical { --sev: var(--critical); }
.sev-high { --sev: var(--high); }
.sev-warning { --sev: var(--warning); }
.sev-info { --sev: var(--info); }
@page { margin: 16mm; }
@media print {
  :root {
    color-scheme: light;
    --bg: #ffffff; --fg: #000000; --muted: #444444; --border: #999999; --stripe: #f2f2f2;
    --critical: #b42318; --high: #c4320a; --warning: #7a5200; --info: #0550ae;
  }
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  nav { display: none; }
  h2 { break-after: avoid; }
  figure.chart, tr, li.finding { break-inside: avoid; }
  .table-wrap, .plot { overflow: visible; }
}
`;
