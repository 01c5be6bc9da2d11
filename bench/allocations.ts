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
 *
 * - `OPSGUARD_BENCH_TELEMETRY=1`: traces (all sampled) and log lines go to local sinks that answer
 *   at once, as in the open-loop phase.
 * - `OPSGUARD_BENCH_SURVIVORS=<ms>`: what a scavenge has to copy instead of what starts one. In
 *   eight windows of 500 ms of the load, the bytes allocated in the window and still alive `ms`
 *   after its end (0: at its end), per submit sent in the windows.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startSink } from "./sinks.js";
import { nodeFlagsForTargets, ROOT, startOpsguard, type Target } from "./targets.js";

interface SamplingNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}

interface Profile {
  head: SamplingNode;
  samples: { size: number; nodeId: number; ordinal: number }[];
}

const [rate = 200, seconds = 10, rows = 25] = process.argv.slice(2, 5).map(Number);
const focus = process.argv[5];
const withTelemetry = process.env.OPSGUARD_BENCH_TELEMETRY === "1";
const survivorsAfterMs =
  process.env.OPSGUARD_BENCH_SURVIVORS === undefined
    ? undefined
    : Number(process.env.OPSGUARD_BENCH_SURVIVORS);

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
const sinks = withTelemetry ? [await startSink("otlp", "ok"), await startSink("loki", "ok")] : [];
const target = await startOpsguard(
  "allocations",
  withTelemetry ? { traces: sinks[0]!.url, loki: sinks[1]!.url } : {},
);
const pid = target.process.pid!;
const base = join(tmpdir(), `opsguard-allocations-${pid}`);
const WINDOW_MS = 500;
const WINDOWS = 8;

/** Has the server's sampler do `action` (see bench/allocation-sampler.ts); reads what it wrote. */
async function sampler(action: "start" | "read" | "stop", live = false): Promise<Profile | undefined> {
  writeFileSync(`${base}.mode`, JSON.stringify({ action, live, interval: live ? 1024 : 4096 }));
  target.process.kill("SIGUSR2");
  if (action === "start") return undefined;
  for (let i = 0; i < 100 && !existsSync(`${base}.json`); i++) await sleep(100);
  const profile = JSON.parse(readFileSync(`${base}.json`, "utf8")) as Profile;
  rmSync(`${base}.json`);
  return profile;
}

/**
 * The part of `later` (a live profile) allocated no later than the last sample of `earlier`,
 * read from the same sampling: samples are numbered in the order they were taken.
 */
function allocatedBy(later: Profile, earlier: Profile): SamplingNode {
  const last = Math.max(0, ...earlier.samples.map((sample) => sample.ordinal));
  const kept = new Map<number, number>();
  const every = new Map<number, number>();
  for (const { nodeId, size, ordinal } of later.samples) {
    every.set(nodeId, (every.get(nodeId) ?? 0) + size);
    if (ordinal <= last) kept.set(nodeId, (kept.get(nodeId) ?? 0) + size);
  }
  // A node's selfSize is its samples scaled up for the sampling; keep the same share of it.
  const share = (node: SamplingNode): SamplingNode => ({
    ...node,
    selfSize: node.selfSize * ((kept.get(node.id) ?? 0) / (every.get(node.id) || 1)),
    children: node.children.map(share),
  });
  return share(later.head);
}

const profiles: SamplingNode[] = [];
let submits: number;
try {
  await load(target, 3, "warm"); // compiled and warm before anything is counted
  if (survivorsAfterMs !== undefined) {
    // Windows in the middle of a steady load: what was allocated in each and is still alive at
    // its end, or `survivorsAfterMs` later. The submits counted are the ones sent in the windows.
    const running = load(target, (WINDOWS * (WINDOW_MS + survivorsAfterMs + 500)) / 1000 + 5, "measured");
    await sleep(3_000);
    for (let i = 0; i < WINDOWS; i++) {
      await sampler("start", true);
      await sleep(WINDOW_MS);
      const atEnd = (await sampler(survivorsAfterMs > 0 ? "read" : "stop"))!;
      if (survivorsAfterMs > 0) {
        await sleep(survivorsAfterMs);
        profiles.push(allocatedBy((await sampler("stop"))!, atEnd));
      } else profiles.push(atEnd.head);
      await sleep(500);
    }
    await running;
    submits = (rate * WINDOWS * WINDOW_MS) / 1000;
  } else {
    await sampler("start");
    submits = await load(target, seconds, "measured");
    await sleep(1_500); // the last operations' closes
    profiles.push((await sampler("stop"))!.head);
  }
} finally {
  await target.stop();
  for (const sink of sinks) await sink.close();
  rmSync(`${base}.mode`, { force: true });
}

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
for (const head of profiles) walk(head, new Set());

/** Own allocations of every function under the outermost calls whose key contains `focus`. */
const focused = new Map<string, number>();
function under(node: SamplingNode, inside: boolean): void {
  const key = keyOf(node);
  const now = inside || (focus !== undefined && key.includes(focus));
  if (now) focused.set(key, (focused.get(key) ?? 0) + node.selfSize);
  for (const child of node.children) under(child, now);
}
for (const head of profiles) under(head, false);

const kb = (bytes: number): string => `${(bytes / submits / 1024).toFixed(2)} KB`;
const telemetry = withTelemetry ? "everything on" : "exporters off";
console.log(
  survivorsAfterMs !== undefined
    ? `${WINDOWS} windows of ${WINDOW_MS} ms at ${rate}/s, ${telemetry}: ${kb(all)} per submit sent in them still alive ${survivorsAfterMs} ms after each window's end (sampled every 1 KB)`
    : `${submits} submits at ${rate}/s, ${telemetry}: ${kb(all)} allocated per submit (sampled every 4 KB)`,
);
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
