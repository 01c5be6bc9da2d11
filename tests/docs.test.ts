import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { documentedEnvNames } from "../docs/src/configuration.js";
import { githubSlug, headingAnchors } from "../docs/src/markdown.js";
import { ConfigError, loadConfig } from "../src/config/load.js";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const DOCS = join(REPO, "docs");
/** The files `npm run docs` writes. */
const GENERATED = ["configuration.md", "metrics.md", "security-checks.md"];

/** README.md and every Markdown page in docs/. */
function markdownFiles(): string[] {
  const pages = readdirSync(DOCS)
    .filter((name) => name.endsWith(".md"))
    .map((name) => join(DOCS, name));
  return [join(REPO, "README.md"), ...pages];
}

/** The targets of inline Markdown links and images, outside fenced code blocks and code spans. */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    const prose = line.replace(/`[^`]*`/g, "");
    for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) targets.push(match[1]!);
  }
  return targets;
}

describe("generated references", () => {
  // A process that compiles the generator, builds an app and loads prettier: slow on a busy machine.
  it("match what docs/src generates, byte for byte (run `npm run docs` after a change)", () => {
    const out = mkdtempSync(join(tmpdir(), "opsguard-docs-"));
    try {
      execFileSync(join(REPO, "node_modules", ".bin", "tsx"), ["docs/src/generate.ts", "--out", out], {
        cwd: REPO,
        stdio: "pipe",
      });
      expect(readdirSync(out).sort()).toEqual([...GENERATED].sort());
      for (const file of GENERATED) {
        const fresh = readFileSync(join(out, file), "utf8");
        expect(readFileSync(join(DOCS, file), "utf8"), file).toBe(fresh);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it("name only environment variables that the configuration loader accepts", () => {
    const dir = mkdtempSync(join(tmpdir(), "opsguard-docs-env-"));
    try {
      const path = join(dir, "empty.yaml");
      writeFileSync(path, "");
      const names = documentedEnvNames();
      expect(names).toContain("OPSGUARD_RISK_MAX_DAILY_LOSS");
      // Any value will do: only "not a configuration key" would mean the reference names a variable
      // that does not exist.
      const env = Object.fromEntries(names.map((name) => [name, "x"]));
      let problems: string[] = [];
      try {
        loadConfig({ path, env });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems = error.problems;
      }
      expect(problems.filter((p) => p.includes("not a configuration key"))).toEqual([]);
      expect(problems.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("links in README.md and docs/", () => {
  it.each(markdownFiles().map((file) => [relative(REPO, file), file]))(
    "%s links only to files and headings that exist",
    (_name, file) => {
      const broken: string[] = [];
      for (const target of linkTargets(readFileSync(file, "utf8"))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        const [path = "", anchor] = target.split("#", 2);
        const resolved = path === "" ? file : resolve(dirname(file), decodeURIComponent(path));
        if (!existsSync(resolved)) {
          broken.push(`${target}: no such file`);
          continue;
        }
        if (anchor === undefined) continue;
        if (!resolved.endsWith(".md") || statSync(resolved).isDirectory()) {
          broken.push(`${target}: an anchor into a file that is not Markdown`);
        } else if (!headingAnchors(readFileSync(resolved, "utf8")).has(anchor)) {
          broken.push(`${target}: no heading with that anchor`);
        }
      }
      expect(broken).toEqual([]);
    },
  );

  it("turn headings into anchors as GitHub does", () => {
    expect(githubSlug("Telemetry: metrics, traces and logs")).toBe("telemetry-metrics-traces-and-logs");
    expect(githubSlug("`GET orders/{operationId}`")).toBe("get-ordersoperationid");
    expect(githubSlug("How `/metrics` answers")).toBe("how-metrics-answers");
    expect(githubSlug("Changes made to src")).toBe("changes-made-to-src");
    expect([...headingAnchors("# A\n\n```sh\n# not a heading\n```\n\n## A\n")]).toEqual(["a", "a-1"]);
  });
});
