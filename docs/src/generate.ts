/**
 * Writes the generated references, `docs/configuration.md` (from the config schema),
 * `docs/metrics.md` (from the metrics registry) and `docs/security-checks.md` (from the catalog of
 * checks), or writes them to `--out DIR`. Run with
 * `npm run docs`; commit the result. `tests/docs.test.ts` fails when the committed files drift.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { renderConfigurationReference } from "./configuration.js";
import { formatMarkdown } from "./markdown.js";
import { renderMetricsReference } from "./metrics.js";
import { renderSecurityChecksReference } from "./security-checks.js";

/** Where the committed references live. */
const DOCS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Each generated file and how to render it. */
const REFERENCES: Record<string, () => string | Promise<string>> = {
  "configuration.md": renderConfigurationReference,
  "metrics.md": renderMetricsReference,
  "security-checks.md": renderSecurityChecksReference,
};

/** Renders every reference into `outDir`, formatted as prettier formats `docs/`; returns the names. */
async function writeReferences(outDir: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const [file, render] of Object.entries(REFERENCES)) {
    // Formatted with the settings of its committed place, wherever it is written.
    const text = await formatMarkdown(await render(), join(DOCS_DIR, file));
    writeFileSync(join(outDir, file), text);
    written.push(file);
  }
  return written;
}

const { values } = parseArgs({ options: { out: { type: "string" } } });
const outDir = values.out ? resolve(values.out) : DOCS_DIR;
try {
  const written = await writeReferences(outDir);
  process.stdout.write(`wrote ${written.join(", ")} to ${outDir}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
