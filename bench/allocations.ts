/**
 * Bytes allocated per submit, and by what: opsguard (exporters off) takes a fixed-rate load from
 * the open-loop client while V8's sampling heap profiler records every allocation, freed ones
 * included (bench/allocation-sampler.ts). At a moderate load the scavenges that stall the event
 * loop come at a pace set by these bytes, so this is the figure that work on them moves.
 *
 * Usage: `tsx bench/allocations.ts [requests per second] [seconds] [rows] [focus]` (defaults 200,
 * 10, 25); needs `npm run build` first. Prints bytes per submit (each with its close, which the
 * one-second operations of the load get within the window), then the functions allocating the
 * most, by their own allocations and with what they call; with `focus` (part of a function's
 * name and place, as printed), also what allocates under the calls of that function.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { nodeFlagsForTargets, ROOT, startOpsguard, type Target } from "./targets.js";

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

const [rate = 200, seconds = 10, rows = 25] = process.argv.slice(2, 5).map(Number);
const focus = process.argv[5];

/** Runs bench/open-loop-client.ts at `rate` for `durationSec`; resolves with the requests sent. */
async function load(target: Target, durationSec: number, prefix: string): Promise<number> {
  const job = {
    url: target.url,
    token: target.token,
    mode: "rate",
    rate,
    gapMs: 2,
    durationSec,
    warmupSec: 0,
    connections: 16,
    prefix,
  };
  const client = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "bench", "open-loop-client.ts"), JSON.stringify(job)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
  );
  let stdout = "";
  client.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  const [code] = (await once(client, "exit")) as [number | null];
  if (code !== 0) throw new Error(`the open-loop client exited with ${String(code)}`);
  const out = JSON.parse(stdout.trim().split("\n").at(-1)!) as { statuses: Record<string, number> };
  return Object.values(out.statuses).reduce((sum, n) => sum + n, 0);
}

const keyOf = ({ callFrame: f }: SamplingNode): string =>
  `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(node_modules|dist)\//, "$1/")}:${f.lineNumber + 1}`;

nodeFlagsForTargets(`--import tsx --import ${join(ROOT, "bench", "allocation-sampler.ts")}`);
const target = await startOpsguard("allocations", {});
const pid = target.process.pid!;
const file = join(tmpdir(), `opsguard-allocations-${pid}.json`);
let submits: number;
try {
  await load(target, 3, "warm"); // compiled and warm before anything is counted
  target.process.kill("SIGUSR2");
  submits = await load(target, seconds, "measured");
  await sleep(1_500); // the last operations' closes
  target.process.kill("SIGUSR2");
  for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(100);
} finally {
  await target.stop();
}
const profile = JSON.parse(readFileSync(file, "utf8")) as { head: SamplingNode };
rmSync(file);

const self = new Map<string, number>();
const total = new Map<string, number>();
let all = 0;
function walk(node: SamplingNode, above: ReadonlySet<string>): number {
  const key = keyOf(node);
  self.set(key, (self.get(key) ?? 0) + node.selfSize);
  all += node.selfSize;
  const path = new Set(above).add(key);
  let bytes = node.selfSize;
  for (const child of node.children) bytes += walk(child, path);
  // A recursive function counts once, at its outermost call.
  if (!above.has(key)) total.set(key, (total.get(key) ?? 0) + bytes);
  return bytes;
}
walk(profile.head, new Set());

/** Own allocations of every function under the outermost calls whose key contains `focus`. */
const focused = new Map<string, number>();
function under(node: SamplingNode, inside: boolean): void {
  const key = keyOf(node);
  const now = inside || (focus !== undefined && key.includes(focus));
  if (now) focused.set(key, (focused.get(key) ?? 0) + node.selfSize);
  for (const child of node.children) under(child, now);
}
under(profile.head, false);

const kb = (bytes: number): string => `${(bytes / submits / 1024).toFixed(2)} KB`;
console.log(`${submits} submits at ${rate}/s: ${kb(all)} allocated per submit (sampled every 4 KB)`);
const tables: [string, Map<string, number>][] = [
  ["own allocations", self],
  ["with what they call", total],
];
if (focus !== undefined) tables.push([`own allocations under ${focus}`, focused]);
for (const [title, map] of tables) {
  console.log(`\nper submit, ${title}:`);
  for (const [key, bytes] of [...map].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(`${kb(bytes).padStart(10)}  ${((bytes / all) * 100).toFixed(1).padStart(5)}%  ${key}`);
  }
}
