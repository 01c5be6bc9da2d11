/**
 * Summarizes a V8 `.cpuprofile` (as written by `node --cpu-prof`): the functions with the most
 * self time, the functions with the most total time (self plus callees), and self time per
 * package, to find what a benchmark spends its CPU on.
 *
 * Usage: `tsx bench/profile-top.ts <file.cpuprofile> [count]`.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** The parts of a `.cpuprofile` this reads. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** One row of a summary: a function (or package) and its time. */
export interface ProfileRow {
  name: string;
  ms: number;
  /** Of all sampled time, idle included. */
  share: number;
}

/** What {@link summarize} finds. */
export interface ProfileSummary {
  /** Self time per function, most first. */
  self: ProfileRow[];
  /** Time per function with everything it called (each sample counted once per function). */
  total: ProfileRow[];
  /** Self time per package: a dependency's name, `opsguard`, `node` or a native frame. */
  packages: ProfileRow[];
}

/** Self and total time per function, and self time per package. */
export function summarize(profile: CpuProfile): ProfileSummary {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const names = new Map(profile.nodes.map((node) => [node.id, nameOf(node)]));
  const packages = new Map(profile.nodes.map((node) => [node.id, packageOf(node)]));
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, us: number): void => {
    map.set(key, (map.get(key) ?? 0) + us);
  };
  let all = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    all += us;
    add(self, names.get(id)!, us);
    add(byPackage, packages.get(id)!, us);
    const seen = new Set<string>();
    for (let node: number | undefined = id; node !== undefined; node = parent.get(node)) {
      const name = names.get(node)!;
      if (!seen.has(name)) add(total, name, us);
      seen.add(name);
    }
  });
  const rows = (map: Map<string, number>): ProfileRow[] =>
    [...map]
      .map(([name, us]) => ({ name, ms: us / 1000, share: all > 0 ? us / all : 0 }))
      .sort((a, b) => b.ms - a.ms);
  return { self: rows(self), total: rows(total), packages: rows(byPackage) };
}

export function nameOf({ callFrame: { functionName, url, lineNumber } }: ProfileNode): string {
  const file = shortPath(url);
  return `${functionName || "(anonymous)"}${file ? ` ${file}:${lineNumber + 1}` : ""}`;
}

/** `node_modules/<package>/…` for dependencies, the path under the project otherwise. */
function shortPath(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  const dependency = path.indexOf("/node_modules/");
  if (dependency !== -1) return path.slice(dependency + 1);
  return path.replace(`${process.cwd()}/`, "");
}

function packageOf({ callFrame: { functionName, url } }: ProfileNode): string {
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1]!;
  if (/\/(dist|src)\//.test(url)) return "opsguard";
  if (url.startsWith("node:")) return "node";
  return url === "" ? `(${functionName || "native"})` : url;
}

function print(title: string, rows: ProfileRow[], count: number): void {
  console.log(`\n${title}`);
  for (const { name, ms, share } of rows.slice(0, count)) {
    console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(7)} ms  ${name}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, count = "30"] = process.argv.slice(2);
  if (!file) throw new Error("usage: tsx bench/profile-top.ts <file.cpuprofile> [count]");
  const summary = summarize(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
  print("self time by function", summary.self, Number(count));
  print("total time by function (self and callees)", summary.total, Number(count));
  print("self time by package", summary.packages, 15);
}
