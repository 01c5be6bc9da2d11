import { CHECKS, QUICK_CHECKS } from "../../src/security/catalog.js";
import { code, table } from "./markdown.js";

/** `docs/security-checks.md`: every security check, from the catalog in src/security/catalog.ts. */
export function renderSecurityChecksReference(): string {
  const rows = CHECKS.map((check) => [
    code(check.id),
    check.category,
    check.title + (QUICK_CHECKS.includes(check.id) ? " (also every five minutes)" : ""),
    check.recommendation,
  ]);
  return [
    "# Security checks",
    "",
    "<!-- Generated from src/security/catalog.ts by `npm run docs`; do not edit. -->",
    "",
    "Every check opsguard runs, by its stable id. Each result is `ok`, `warning`, `critical` or",
    "`unavailable` (it could not run, with the reason), with the evidence it saw; a finding carries",
    "the recommendation below, or a more precise one. How and when they run:",
    "[security.md](security.md).",
    "",
    table(["id", "category", "what it checks", "what to do on a finding"], rows),
    "",
  ].join("\n");
}
