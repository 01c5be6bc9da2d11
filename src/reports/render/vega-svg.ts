import { createHash } from "node:crypto";
import { parse, View, type Loader, type ViewOptions } from "vega";
import { compile, type Config, type TopLevelSpec } from "vega-lite";
import { escapeHtml } from "./escape.js";

type VegaLogger = NonNullable<ViewOptions["logger"]>;

/** Options for {@link renderVegaLiteSvg}. */
export interface RenderSvgOptions {
  /** Accessible name put on the root `<svg>` as `aria-label` (escaped). */
  label?: string;
  /**
   * Called with each warning Vega-Lite or Vega logs (such as an infinite extent on empty data).
   * @default ignore them: warnings never stop a report from rendering
   */
  onWarning?: (message: string) => void;
}

/** Thrown when Vega-Lite or Vega reports an error, or a spec tries to load anything. */
export class ChartRenderError extends Error {
  override readonly name = "ChartRenderError";
}

// d3-format writes negatives with U+2212 MINUS SIGN; a reader searching the report for "-1.5"
// (or a test comparing axis labels with table cells) would not find it. Everything else is en-US.
const NUMBER_LOCALE = {
  decimal: ".",
  thousands: ",",
  grouping: [3],
  currency: ["$", ""] as [string, string],
  minus: "-",
};

/**
 * The look shared by every chart. `aria: false` drops the per-mark aria-labels, which Vega writes
 * with local-time dates (so the SVG would change with the machine's time zone) and which repeat
 * every datum; the root gets one label instead.
 */
export const CHART_CONFIG: Config = {
  aria: false,
  background: "white",
  font: "sans-serif",
  locale: { number: NUMBER_LOCALE },
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 12, labelColor: "#333", titleColor: "#222" },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: "bottom" },
};

/**
 * Every spec carries its data inline, so any load is a bug or an injection: refuse it, and note it,
 * because Vega only logs a failed load as a warning and renders the chart without the data.
 */
function createOfflineLoader(refused: string[]): Loader {
  const refuse = (what: string) => (uri: unknown) => {
    refused.push(`${what} ${String(uri)}`);
    return Promise.reject(new ChartRenderError(`charts load nothing: refused ${what} of ${String(uri)}`));
  };
  return { load: refuse("load"), sanitize: refuse("sanitize"), http: refuse("http"), file: refuse("file") };
}

const LOG_WARN = 2; // vega-util's Warn level: errors and warnings reach the logger, info does not.

function createLogger(onWarning: (message: string) => void): VegaLogger {
  const text = (args: unknown[]) =>
    args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(" ");
  const logger: VegaLogger = {
    level: (_level?: number) => (_level === undefined ? LOG_WARN : logger),
    error: (...args: unknown[]) => {
      throw new ChartRenderError(text(args));
    },
    warn: (...args: unknown[]) => {
      onWarning(text(args));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  return logger;
}

/**
 * Compiles a Vega-Lite spec to Vega and renders it to an SVG string with Vega's headless renderer
 * (`renderer: "none"`, so no canvas package is needed). Nothing is loaded: the spec's data must
 * be inline. The output depends only on the spec — not on the time zone, the locale or how many
 * charts were rendered before — so the same input gives the same bytes.
 *
 * Text widths are estimated from character counts, as Vega does whenever the optional `canvas`
 * package is absent; opsguard does not install it, which also keeps widths identical everywhere.
 */
export async function renderVegaLiteSvg(spec: TopLevelSpec, options: RenderSvgOptions = {}): Promise<string> {
  const logger = createLogger(options.onWarning ?? (() => undefined));
  const vegaSpec = compile({ ...spec, config: { ...CHART_CONFIG, ...spec.config } }, { logger }).spec;
  const refused: string[] = [];
  const loader = createOfflineLoader(refused);
  const view = new View(parse(vegaSpec), { renderer: "none", loader, logger, logLevel: LOG_WARN });
  try {
    const svg = await view.toSVG();
    if (refused.length > 0) throw new ChartRenderError(`a chart tried to load: ${refused.join(", ")}`);
    const prefix = `og${createHash("sha256").update(JSON.stringify(vegaSpec)).digest("hex").slice(0, 10)}`;
    return labelRoot(scopeIds(svg, prefix), options.label);
  } finally {
    view.finalize();
  }
}

/**
 * Renames the SVG's ids (clip paths, gradients) to `<prefix>-<n>` in order of appearance. Vega
 * numbers them from a counter shared by the whole process, so without this the second rendering of
 * a chart differs from the first, and two charts inlined in one page could both define `clip1`
 * and clip each other.
 */
export function scopeIds(svg: string, prefix: string): string {
  const renamed = new Map<string, string>();
  for (const match of svg.matchAll(/\bid="([^"]+)"/g)) {
    const id = match[1]!;
    if (!renamed.has(id)) renamed.set(id, `${prefix}-${renamed.size + 1}`);
  }
  if (renamed.size === 0) return svg;
  const rename = (whole: string, id: string) => {
    const next = renamed.get(id);
    return next === undefined ? whole : whole.replace(id, next);
  };
  return svg
    .replace(/\bid="([^"]+)"/g, rename)
    .replace(/url\(#([^)]+)\)/g, rename)
    .replace(/href="#([^"]+)"/g, rename);
}

function labelRoot(svg: string, label: string | undefined): string {
  const attributes = label === undefined ? ' role="img"' : ` role="img" aria-label="${escapeHtml(label)}"`;
  return svg.replace(/^<svg\b/, `<svg${attributes}`);
}
